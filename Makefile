# envoy-grpc: `make run` starts the server, `make test` runs everything CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUN_STAMP  := $(VENV)/.run-installed
DEV_STAMP  := $(VENV)/.dev-installed
NODE_STAMP := node_modules/.installed
PYTEST_ARGS ?=

.PHONY: run test lint proto check-proto bench clean help clients clients-python clients-go clients-ts clients-rust

help:
	@echo "make run    - create .venv, install, start the server in the foreground"
	@echo "make test   - install test tools, lint (ruff, mypy, buf) and run the test suite"
	@echo "make test-long - the full fault harness, fuzzers and a 20-minute soak (about 40 minutes)"
	@echo "make lint   - ruff, mypy and buf lint only"
	@echo "make proto  - regenerate the Python stubs and every client from proto/"
	@echo "make clients - regenerate every client in clients/ from proto/ (clients-python, clients-go, ...)"
	@echo "make bench  - run the benchmarks in bench/ (prints a table, writes bench/results/*.json)"

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(RUN_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

run: $(RUN_STAMP)
	$(BIN)/envoy-grpc serve $(ARGS)

# The server's stubs, then every client (each client's test fails when its committed code is stale).
proto: $(DEV_STAMP) $(NODE_STAMP)
	$(BIN)/python scripts/gen_proto.py
	$(MAKE) clients

lint: $(DEV_STAMP) $(NODE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	npx --no-install buf lint
	npx --no-install buf format -d --exit-code --path proto/envoy

test: lint
	$(BIN)/pytest $(PYTEST_ARGS)

# The full versions of the fast slices in `make test`: 40 kills, hundreds of fuzz inputs per method
# and route (plus schemathesis' coverage and stateful phases), the hostile inputs, a 20-minute soak.
.PHONY: test-long
test-long: $(DEV_STAMP)
	$(BIN)/python -m bench.faults --kills 40 --seed 7
	ENVOY_TEST_LONG=1 $(BIN)/pytest -s -o timeout=3600 tests/test_fuzz_grpc.py tests/test_fuzz_openapi.py tests/test_hostile_input.py tests/test_soak.py

# One line per language; the commands and pinned generator versions are in scripts/clients/<lang>.sh.
clients: clients-python clients-go clients-ts clients-rust

clients-python: $(DEV_STAMP)
	bash scripts/clients/python.sh

clients-go: $(DEV_STAMP)
	bash scripts/clients/go.sh

clients-ts: $(NODE_STAMP)
	bash scripts/clients/ts.sh

clients-rust: $(NODE_STAMP)
	bash scripts/clients/rust.sh

bench: $(DEV_STAMP)
	$(BIN)/python -m bench $(ARGS)

clean:
	rm -rf $(VENV) node_modules .mypy_cache .ruff_cache .pytest_cache .cache clients/go/bin clients/ts/dist clients/ts/node_modules clients/rust/target
