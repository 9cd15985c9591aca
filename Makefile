# The two commands: `make demo` runs the system, `make test` runs the tests. Both set up .venv first.
SHELL := /bin/bash
VENV := .venv
# pgserver (the embedded PostgreSQL) supports Python 3.11 and 3.12.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	if command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] <= (3, 12)))'; \
	then echo $$p; break; fi; done)
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test lint venv clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or 3.12 is required" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test]'
	@touch $@

demo: venv
	$(VENV)/bin/kawasan demo --port $(PORT)

lint: venv
	$(VENV)/bin/ruff check .

test: lint
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

clean:
	-$(VENV)/bin/kawasan db stop
	rm -rf .kawasan .kawasan-test test-artifacts
