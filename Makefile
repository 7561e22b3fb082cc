# The README's commands. Everything installs into .venv from requirements*.txt.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STACK ?= dev
OUT ?= out/$(STACK)

.PHONY: install checkov plan plan-fleet test test-full lint bench e2e e2e-engine clean

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

install: $(VENV)/.installed

CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

## checkov judges the rendered RBAC in tests/program/test_oracles.py.
checkov: $(CHECKOV_VENV)/.installed

## The main job, offline: what `pulumi up` would create for the stack, from the real program.
plan: install
	$(VENV)/bin/eks-access plan --config-file Pulumi.$(STACK).yaml --out $(OUT)

## The example fleet (README "Fleets"): identity, staging and prod, checked across stacks.
plan-fleet: install
	$(VENV)/bin/eks-access plan --config-file Pulumi.identity.yaml Pulumi.staging.yaml Pulumi.prod.yaml --out out/fleet

## Tests spread over every core; the two fuzz halves (tests/program/test_fuzz.py) run side by side.
test: install checkov
	$(PY) -m pytest -q -n auto --dist loadgroup

## The long checks make test leaves out (many runs of every command; CI runs them too).
test-full: install
	$(PY) -m pytest -q -n auto --dist loadgroup -m full

## The plan on a real kube-apiserver + etcd (+ the authenticator's mapper), built from the
## official Go modules into ~/.cache/eks-access-e2e. Needs Go; `make test` does not.
e2e: install plan
	$(PY) e2e/run.py

## Benchmarks (minutes, not a test): table in bench/results/latest.md, copied to README.
bench: install
	$(PY) -m bench.run

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m mypy __main__.py
	$(VENV)/bin/lint-imports

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache .hypothesis

## The real Pulumi engine (CLI and Kubernetes provider built from the Go module proxy into the
## e2e cache) applies every everyday change to the real API server; AWS is a stand-in (moto's
## IAM, an in-memory EKS). Needs Go; `make test` does not.
e2e-engine: install
	$(PY) -m e2e.engine.run
