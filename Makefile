# Two entry points for a newcomer (see README): `make demo` and `make test`.
# Each creates the virtual environment from pyproject.toml when it is missing or stale.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ualscope

test: lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check core tui ualscope tests benchmarks samples
	$(BIN)/ruff format --check core tui ualscope tests benchmarks samples

# mypy resolves modules from paths, and the source tree is laid out as core/ and tui/
# while the package is ualscope.core / ualscope.tui: a tree of symlinks gives mypy
# the installed names without installing a second copy.
typecheck: $(STAMP)
	rm -rf build/typecheck && mkdir -p build/typecheck/ualscope
	cp ualscope/*.py build/typecheck/ualscope/
	ln -s ../../../core build/typecheck/ualscope/core
	ln -s ../../../tui build/typecheck/ualscope/tui
	cd build/typecheck && ../../$(BIN)/mypy --config-file ../../pyproject.toml -p ualscope

unit: $(STAMP)
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) build
