# qi-coach: the two commands a new user needs are `make run` and `make test`.
# Everything else here is what those two are built from.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

# Nothing the project starts may phone home: NHS staff type sensitive details into this.
export RASA_TELEMETRY_ENABLED := false
# Make SQLAlchemy 1.4 warn about anything that would break on 2.0.
export SQLALCHEMY_WARN_20 := 1
# The PostgreSQL server the tests of the production path use (trust auth on these machines).
export QI_COACH_TEST_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test

# Python 3.10: on PATH if it runs, else pyenv's newest 3.10.
PYTHON310 ?= $(shell if python3.10 -c '' >/dev/null 2>&1; then command -v python3.10; \
	else ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.10.*/bin/python 2>/dev/null | sort -V | tail -n 1; fi)

CONTENT := $(shell find knowledge/content -name '*.yml' 2>/dev/null)

.PHONY: help install knowledge run test lint bench constraints clean

help:
	@echo "make run    set everything up and start qi-coach"
	@echo "make test   set everything up and run every test"
	@echo "make bench  benchmarks (knowledge store query speed)"

# --- set-up ------------------------------------------------------------------------------

$(BIN)/activate:
	@test -n "$(PYTHON310)" || { echo "qi-coach needs Python 3.10 (Rasa 3.6 does not run on 3.11+)."; \
		echo "Install it (e.g. 'pyenv install 3.10') or run: make PYTHON310=/path/to/python3.10 ..."; exit 1; }
	@echo "==> Creating the virtualenv in $(VENV) with $(PYTHON310)"
	$(PYTHON310) -m venv $(VENV)

# Reinstalled only when the dependencies change.
$(VENV)/.installed: $(BIN)/activate pyproject.toml constraints.txt
	@echo "==> Installing qi-coach and its pinned dependencies (first time: several minutes)"
	$(PY) -m pip install --disable-pip-version-check --progress-bar off -q -c constraints.txt -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

# Idempotent: an unchanged content set is a no-op, so this runs every time.
knowledge: install
	@$(BIN)/qi-coach knowledge load

# --- the two commands ----------------------------------------------------------------------

run: knowledge
	@echo
	@echo "The knowledge store is ready. The chat assistant arrives with issue 3; until then:"
	@echo "  $(BIN)/qi-coach knowledge recommend time_pressure:0.9 clinical_resistance:0.6"
	@echo "  $(BIN)/qi-coach knowledge tool 'stakeholder map'"

test: install lint
	$(BIN)/qi-coach knowledge check
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .

bench: knowledge
	$(PY) bench/bench_recommend.py $(BENCH_ARGS)

# --- maintenance ---------------------------------------------------------------------------

# Re-pin every package after changing pyproject.toml (needs the registry).
constraints:
	rm -rf /tmp/qi-coach-pin && $(PYTHON310) -m venv /tmp/qi-coach-pin
	/tmp/qi-coach-pin/bin/pip install -q -e '.[dev]'
	( head -n 2 constraints.txt; /tmp/qi-coach-pin/bin/pip freeze --exclude-editable ) > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache *.egg-info
