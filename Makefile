# Two entry points, each making .venv on first use: `make demo`, `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test docs bench clean

$(STAMP): pyproject.toml requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m skorch_lite

test: $(STAMP)
	SCIPY_ARRAY_API=1 $(PY) -m pytest

# HTML (running the gallery), then the doctests of the pages over the same doctrees.
docs: $(STAMP)
	$(PY) -m sphinx -W --keep-going -b html -d docs/_build/doctrees docs docs/_build/html
	$(PY) -m sphinx -W --keep-going -b doctest -d docs/_build/doctrees docs docs/_build/doctest

bench: $(STAMP)
	$(PY) -m pip install --quiet -e .[bench]
	$(PY) benchmarks/bench_convergence.py

clean:
	rm -rf $(VENV) docs/_build docs/auto_examples docs/generated
