# Kubo (IPFS) for the compose stack, on a Debian 12 base: the binary scripts/setup.sh built and
# cached (~/.cache/decentralml/bin/ipfs), staged into the build context by
# docker/build-images.sh (`bash docker/build-images.sh kubo` -> decentralml/kubo:local).
FROM debian:bookworm
# An imported base image has no environment of its own.
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN useradd --system --uid 10003 --home-dir /data/ipfs --no-create-home ipfs \
    && mkdir -p /data/ipfs && chown ipfs /data/ipfs
COPY bin/ipfs /usr/local/bin/ipfs
COPY docker/kubo-start.sh /usr/local/bin/kubo-start
ENV IPFS_PATH=/data/ipfs IPFS_PROFILE=test
USER ipfs
VOLUME ["/data/ipfs"]
EXPOSE 5001
# Through the API (a bare `ipfs id` reads the repo and succeeds with no daemon running).
HEALTHCHECK --interval=5s --timeout=5s --retries=24 CMD ["ipfs", "--api=/ip4/127.0.0.1/tcp/5001", "id"]
ENTRYPOINT ["kubo-start"]
CMD ["--offline"]
