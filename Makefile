# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
INSTALLED := $(VENV)/.installed

.PHONY: run test lint bench

$(INSTALLED): pyproject.toml constraints.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet -c constraints.txt pip setuptools
	$(VENV)/bin/python -m pip install --quiet --no-build-isolation -c constraints.txt -e '.[dev]'
	touch $(INSTALLED)

run: $(INSTALLED)
	$(VENV)/bin/ledgercrm init --if-needed --demo
	$(VENV)/bin/ledgercrm serve

test: $(INSTALLED)
	$(VENV)/bin/python -m pytest -n 2

lint: $(INSTALLED)
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(INSTALLED)
	$(VENV)/bin/python bench/ingest.py
