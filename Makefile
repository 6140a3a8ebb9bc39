# Two commands on a fresh machine: `make run` and `make test`. Both create .venv if needed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export RAY_USAGE_STATS_ENABLED := 0
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test test-fast test-cluster audit kuberay install lint clean screenshots

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## The main job: demo data, default models trained on a local Ray, registered, evaluated,
## then the Serve graph on 127.0.0.1:8000 until Ctrl-C (more options: python -m train.pipeline --help).
run: $(STAMP)
	$(BIN)/python -m train.pipeline --serve $(ARGS)

## The whole test suite (unit, contract, Ray and Serve integration).
test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

## Everything but the tests marked slow.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not cluster" $(ARGS)

## Only the multi-node Ray tests (head + workers started with `ray start` on 127.0.0.1).
test-cluster: $(STAMP)
	$(BIN)/python -m pytest -m cluster $(ARGS)

## The web app in headless Chromium (Debian's /usr/bin/chromium: apt-get install -y chromium):
## a 1280x800 PNG of every page, full-page ones under full/, and figures.json in runs/ui/.
screenshots: $(STAMP)
	ENTERTAINAI_SCREENSHOTS=runs/ui $(BIN)/python -m pytest tests/ui -p no:cacheprovider -s $(ARGS)

## Security: known vulnerabilities in the installed pins (pip-audit, needs network: an audit
## that could not run fails, --strict), then bandit on the shipped code (bandit.yaml says why
## the skipped checks are skipped; fails on medium/high findings).
audit: $(STAMP)
	$(BIN)/pip-audit --local --skip-editable --strict --progress-spinner off
	$(BIN)/bandit -c bandit.yaml -r entertainai train tune deployments --severity-level medium

## Regenerate deployments/kuberay/rayservice.yaml from deployments/serve_config.yaml.
kuberay: $(STAMP)
	$(BIN)/python -m deployments.kuberay

## Lint and types: ruff over the whole tree, mypy over the core (pyproject.toml's [tool.mypy]).
lint: $(STAMP)
	$(BIN)/ruff check entertainai train tune deployments tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf runs .pytest_cache
