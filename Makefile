# DecentralML: the commands a user and CI run. See README.md.
SHELL := /bin/bash
export CARGO_TARGET_DIR ?= $(HOME)/.cache/decentralml/target-native
UV ?= uv
PYTEST_ARGS ?=

.PHONY: setup test test-chain test-python check-artifacts runtime devnet devnet-down demo bench abi

## Install everything (system packages, Python env, Chopsticks, Kubo).
setup:
	bash scripts/setup.sh

## Run every test: artifact freshness, the pallet's cargo tests, the Python suites.
test: lint check-artifacts test-chain test-python

## Lint and type-check the Python code (ruff, mypy --strict).
lint:
	$(UV) run --frozen ruff check decentralml_client tests bench && $(UV) run --frozen mypy decentralml_client

check-artifacts:
	bash chain/scripts/check-artifacts.sh

test-chain:
	cd chain && cargo test -p pallet-decentralml -p decentralml-runtime --quiet

test-python:
	$(UV) run --frozen pytest $(PYTEST_ARGS)

## Rebuild the runtime wasm and the chain specs (tens of minutes on a cold cache).
runtime:
	bash chain/scripts/build-runtime.sh

## Regenerate pallet-abi/ from the runtime's metadata.
abi:
	$(UV) run --frozen python -m decentralml_client.services.abi_tool generate

devnet:
	$(UV) run --frozen decentralml devnet up

devnet-down:
	$(UV) run --frozen decentralml devnet down

demo:
	$(UV) run --frozen decentralml demo

## Benchmarks (ratios against baselines measured in the same run; results in bench/results/).
bench:
	$(UV) run --frozen python bench/bench_ml.py --out bench/results/ml.json
	$(UV) run --frozen python bench/bench_roles.py --out bench/results/roles.json
