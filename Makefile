# The verbs people use. Each creates .venv and installs what it needs from the lock files, so a
# fresh clone with only Python 3.11 and pip works.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.9
export UV_PYTHON := $(BIN)/python
# Bytecode is written by Python as modules are first imported, not compiled at install: an
# install compiled all of pulumi_aws (121 MB, ~250 services) for the dozen modules anything
# imports, 30 s of a fresh `make test`. Environments that forbid writing it are overruled here.
unexport PYTHONDONTWRITEBYTECODE

HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test check lint format bench package lock clean access-matrix test-deployed browser screenshots provider-addresses service-models

run: $(VENV)/.local  ## start the local processor on $(HOST):$(PORT); the inspector page is at /
	$(BIN)/webhook-processor serve --host $(HOST) --port $(PORT)

test:  ## lint, types, the contracts and the whole offline suite, on every core
	@# Chromium (from Debian, when missing) installs beside the Python packages, not after them.
	$(MAKE) --no-print-directory -j2 $(VENV)/.dev browser
	$(MAKE) --no-print-directory lint
	@# Three workers on two cores: a third of the suite waits on sockets, processes and Chromium.
	$(BIN)/pytest -n 3 --dist worksteal

check: $(VENV)/.dev lint  ## the quick loop: lint, types, the contracts and the unit tests
	$(BIN)/pytest tests/unit -n auto -q --no-cov

# The inspector's browser tests drive the distribution's Chromium with Playwright, which never
# downloads a browser here; a fresh machine gets it from Debian, refreshing the package lists
# when they are too old to have it.
CHROMIUM := /usr/bin/chromium
APT_INSTALL := DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver
browser:  ## install Debian's Chromium for the browser tests when it is missing
	@test -x $(CHROMIUM) || $(APT_INSTALL) || (apt-get update -q && $(APT_INSTALL))

screenshots: $(VENV)/.dev browser  ## docs/inspector-*.png: the inspector's three views and its traffic chart, in headless Chromium
	INSPECTOR_SCREENSHOTS=docs $(BIN)/pytest tests/browser/test_screenshots.py tests/browser/test_traffic.py --no-cov -q

test-deployed: $(VENV)/.dev  ## tests/deployed against a real stack: WEBHOOK_STACK_OUTPUTS=outputs.json and AWS credentials
	WEBHOOK_DEPLOYED_TARGET=real $(BIN)/pytest tests/deployed --no-cov

access-matrix: $(VENV)/.dev  ## every call AWS authorises for the stack, evaluated against its policies
	$(BIN)/python -m tests.infra.matrix

service-models: $(VENV)/.dev  ## refresh src/webhook_processor/aws/models: botocore's models cut to the operations the functions call
	$(BIN)/python -m tools.service_models

provider-addresses: $(VENV)/.dev  ## refresh infra/provider_addresses.json: Stripe's and Square's published webhook addresses (the edge's allow-list)
	$(BIN)/python -m tools.provider_addresses

lint: $(VENV)/.dev  ## ruff, mypy, and the layering contracts (pyproject's [tool.importlinter])
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(VENV)/.dev  ## load, hot path, cold start and cost, as ratios to baselines measured in the same run
	command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	$(BIN)/python -m bench

LAMBDA_PYTHON ?= 3.13
package: $(VENV)/.dev  ## the Lambda artifact, dist/lambda.zip (arm64, deterministic); LAMBDA_PYTHON=3.12 for python3.12
	$(BIN)/python -m tools.package_lambda --python $(LAMBDA_PYTHON)

lock: $(UV)  ## re-resolve the pinned requirements after editing pyproject.toml
	$(UV) pip compile pyproject.toml --extra local -o requirements/local.txt -q --generate-hashes --python-version 3.11
	$(UV) pip compile pyproject.toml --extra local --extra aws --group dev -o requirements/dev.txt -q --generate-hashes --python-version 3.11
	$(UV) pip compile pyproject.toml --extra aws -o requirements/lambda.txt -q --generate-hashes --python-version 3.13 --python-platform aarch64-manylinux2014

$(UV):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv==$(UV_VERSION)

$(VENV)/.local: requirements/local.txt pyproject.toml | $(UV)
	$(UV) pip install -q -r requirements/local.txt
	$(UV) pip install -q --no-deps -e .
	touch $@

$(VENV)/.dev: requirements/dev.txt pyproject.toml | $(UV)
	$(UV) pip install -q -r requirements/dev.txt
	$(UV) pip install -q --no-deps -e .
	touch $@ $(VENV)/.local

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .coverage dist
