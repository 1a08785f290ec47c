# Tollgate: `make run` serves the gateway, `make test` runs the whole suite. Both set themselves up.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run test install install-test bench clean

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11+ is required (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(PY) manage.py check --deploy --fail-level CRITICAL >/dev/null
	$(PY) manage.py ensure_database
	$(PY) manage.py migrate --noinput -v0
	$(PY) manage.py load_config
	$(PY) manage.py ensure_admin
	$(PY) manage.py print_master_key
	$(PY) manage.py serve

# Bytecode compiled once up front: the suite starts hundreds of gateway, worker and Celery processes, and where
# PYTHONDONTWRITEBYTECODE is set (CI machines set it) each would compile the whole application again.
test: install-test
	$(PY) -m compileall -q -j 0 apps gatewaysite tests bench manage.py >/dev/null
	$(PY) -m pytest $(PYTEST_ARGS)

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-test
	$(PY) -m pip install --quiet -e ".[test,bench]"
	touch $@

bench: $(VENV)/.installed-bench
	@command -v wrk >/dev/null 2>&1 || { echo "wrk is required: apt-get install -y wrk"; exit 1; }
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
