# Our node (chain/node, binary decentralml-node) with the chain specs, on a Debian 12 base.
# Built by docker/build-images.sh, which stages the cached binary into its build context:
#   bash docker/build-images.sh node      ->  decentralml/node:local
# Nothing is compiled here: the binary is the one chain/scripts/build-node.sh built and the
# Python launcher (decentralml_client/services/node.py) runs.
FROM debian:bookworm
# An imported base image has no environment of its own.
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# ca-certificates: the node's networking (litep2p) loads the system's root certificates at
# start and exits without them, even on loopback.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* \
    && useradd --system --uid 10002 --home-dir /chain --no-create-home dml \
    && mkdir -p /chain && chown dml /chain
COPY bin/decentralml-node /usr/local/bin/decentralml-node
COPY docker/node-health.sh /usr/local/bin/node-health
COPY chain/artifacts/chain-spec-dev.raw.json chain/artifacts/chain-spec-local.raw.json /specs/
USER dml
VOLUME ["/chain"]
EXPOSE 9944
# A dev node as `decentralml devnet up --nodes 1` starts one: instant seal (a block, at once
# final, per batch of transactions, and an empty one after 2 s without any), ParityDB under /chain, every listener on loopback, no telemetry,
# no Prometheus, no mDNS, no boot nodes. The compose file gives the same flags explicitly.
HEALTHCHECK --interval=5s --timeout=6s --retries=24 CMD ["node-health", "9944"]
ENTRYPOINT ["decentralml-node"]
CMD ["--chain=/specs/chain-spec-dev.raw.json", "--dev", "--sealing=instant", "--seal-idle-ms=2000", \
     "--base-path=/chain", "--database=paritydb", "--name=alice", \
     "--rpc-port=9944", "--rpc-cors=all", "--listen-addr=/ip4/127.0.0.1/tcp/30333", \
     "--no-mdns", "--no-prometheus", "--no-telemetry"]
