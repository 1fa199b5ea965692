# Two commands for a fresh machine:
#   make run   - installs what the app needs and starts it on http://localhost:8501 (loopback only)
#   make test  - installs everything (system packages via apt-get when missing) and runs the whole suite
#   make mutation - mutation score of the verdict-critical modules (mutmut, minutes per module; not part of test)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test setup setup-test system-packages bench mutation

# --no-cache-dir: the wheels are not kept a second time in ~/.cache/pip (about 1 GB less disk on a CI machine)
$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --no-cache-dir --upgrade pip
	# torch first, pinned: an unpinned torch drags in a multi-GB CUDA build
	$(PY) -m pip install --quiet --no-cache-dir torch==2.13.0
	$(PY) -m pip install --quiet --no-cache-dir -r requirements.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PY) -m pip install --quiet --no-cache-dir -r requirements-test.txt
	touch $@

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test system-packages tests/oidc/node_modules/.installed

# the team-login tests' OpenID Connect provider (#36): exactly the locked versions, from the npm registry
tests/oidc/node_modules/.installed: tests/oidc/package-lock.json | system-packages
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
	touch $@

system-packages:
	@./scripts/install_system_packages.sh

run: setup
	$(PY) -m ui.serve --server.port $(PORT)

test: setup-test
	$(PY) -m pytest -ra

bench: setup-test
	$(PY) -m benchmarks.run_all

# MODULES="verification exif" limits the run; the table is written into tests/README.md
mutation: $(VENV)/.installed-test
	$(PY) -m tools.mutation $(MODULES)
