# Two commands: `make run` (the app, on the local dev tenant unless Auth0 settings are present)
# and `make test` (the whole suite). Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEVTENANT_ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test lint bench screenshots devtenant clean cluster

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when a requirements file changes.
$(VENV)/.runtime-installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $(VENV)/.runtime-installed $@

run: $(VENV)/.runtime-installed
	$(PY) -m devtenant.stack $(DEVTENANT_ARGS)

# nginx (Debian's) in front of two app instances, a PostgreSQL audit database and the dev tenant (deploy/).
cluster: $(VENV)/.runtime-installed
	$(PY) -m deploy.cluster $(DEVTENANT_ARGS)

devtenant: $(VENV)/.runtime-installed
	$(PY) -m devtenant $(DEVTENANT_ARGS)

test: $(VENV)/.dev-installed
	$(PY) -m pytest $(PYTEST_ARGS)

# Lint: ruff (rules and format, pyproject.toml) and mypy's type check of admin_core/ (pyproject.toml).
lint: $(VENV)/.dev-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

bench: $(VENV)/.dev-installed
	$(PY) -m bench

screenshots: $(VENV)/.dev-installed
	SCREENSHOTS=1 $(PY) -m pytest tests/browser/test_screenshots.py -m screenshots

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
