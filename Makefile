# Quick start: `make serve` (set up and run on SQLite with the embedded engine), `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export TRIAGE_DATA_DIR ?= var

.PHONY: setup serve init test test-fast lint bench rasa soak audit clean lock

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

init: setup
	$(BIN)/triage init

serve: init
	$(BIN)/triage serve

test: setup
	$(BIN)/pytest -n 2 -q -m "not soak"

test-fast: setup
	$(BIN)/pytest -q -m "not postgres" -x

lint: setup
	$(BIN)/ruff check bot
	$(BIN)/mypy

# Benchmarks (never part of `make test`): bench/README.md; results in bench/results/.
# BENCH_RASA=0 skips Rasa; the embeddings rows need `pip install -e '.[embeddings]'`.
bench: setup
	$(BIN)/python -m bench.run_all

# Pin what is installed now (after an upgrade that passed make test) as CI's exact versions.
lock: setup
	{ grep '^#' constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^-e'; } > constraints.tmp
	mv constraints.tmp constraints.txt

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

# The long reliability runs (issue 8): SIGKILL crash soak on SQLite and PostgreSQL, 200 msg/s for
# 60 s, 40,000 claims; three instances on PostgreSQL (issue 18): the poller leader SIGKILLed during
# 2,000 Telegram updates, a rolling restart under 100 msg/s. Figures land in var/reliability/*.json
# (docs/RELIABILITY.md quotes them).
soak: setup
	TRIAGE_SOAK=1 TEST_DB_TAG=soak_ $(BIN)/pytest -q -s tests/reliability/test_crash.py \
		tests/reliability/test_load.py tests/reliability/test_concurrency.py \
		tests/reliability/test_fleet_three.py

audit: setup
	$(BIN)/python .ci/audit_deps.py

# Rasa 3.6.21 supports Python 3.8-3.10 only: it gets its own virtualenv with a Python 3.10
# (python3.10 on PATH, or under pyenv). An existing .venv-rasa with rasa 3.6.21 is reused.
RASA_VENV    := .venv-rasa
RASA_VERSION := 3.6.21

rasa:
	@if $(RASA_VENV)/bin/python -c 'import rasa, sys; sys.exit(rasa.__version__ != "$(RASA_VERSION)")' 2>/dev/null; then \
		echo "$(RASA_VENV): rasa $(RASA_VERSION) is installed"; exit 0; fi; \
	py=""; \
	for c in python3.10 $$(command -v pyenv >/dev/null 2>&1 && ls -d "$$(pyenv root)"/versions/3.10*/bin/python3.10 2>/dev/null | sort -V -r); do \
		if "$$c" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then py="$$c"; break; fi; \
	done; \
	if [ -z "$$py" ]; then \
		echo "error: Rasa $(RASA_VERSION) needs Python 3.10 (it supports 3.8-3.10 only), and none was found." >&2; \
		echo "Install one (for example: pyenv install 3.10.13) or put python3.10 on PATH, then run make rasa." >&2; \
		exit 1; fi; \
	echo "creating $(RASA_VENV) with $$py (rasa $(RASA_VERSION): about 90 s, 2.7 GB)"; \
	rm -rf $(RASA_VENV) && "$$py" -m venv $(RASA_VENV) && \
	$(RASA_VENV)/bin/pip install -q --upgrade pip && \
	$(RASA_VENV)/bin/pip install -q "rasa==$(RASA_VERSION)"
