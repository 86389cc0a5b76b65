# Quick start: `make serve` (set up and run on SQLite with the embedded engine), `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export TRIAGE_DATA_DIR ?= var

.PHONY: setup serve init test test-fast lint bench rasa soak audit clean lock oidc-provider messages

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The SSO tests start a real OpenID provider (the npm package oidc-provider, pinned in
# tests/oidc/package-lock.json) with the machine's Node.js; `npm ci` installs it once.
OIDC_DIR   := tests/oidc
OIDC_STAMP := $(OIDC_DIR)/node_modules/.installed-stamp

$(OIDC_STAMP): $(OIDC_DIR)/package.json $(OIDC_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "error: the SSO tests need Node.js (18 or later) and npm: apt-get install -y nodejs npm" >&2; exit 1; }
	cd $(OIDC_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $(OIDC_STAMP)

oidc-provider: $(OIDC_STAMP)

init: setup
	$(BIN)/triage init

serve: init
	$(BIN)/triage serve

test: setup $(OIDC_STAMP)
	$(BIN)/pytest -n 2 -q -m "not soak"

test-fast: setup $(OIDC_STAMP)
	$(BIN)/pytest -q -m "not postgres" -x

lint: setup
	$(BIN)/ruff check bot
	$(BIN)/mypy

# The console's translations (bot/web/i18n.py): re-extract every marked string into the template
# and merge it into each language's .po (then translate the new, empty msgstrs; the app reads the
# .po files as they are, and tests/web/test_i18n.py fails on an untranslated one).
LOCALE := bot/web/locale
messages: setup
	$(BIN)/pybabel extract -F babel.cfg -k msg --no-wrap --sort-by-file --project="Citizen triage console" \
		--copyright-holder="the project" -o $(LOCALE)/messages.pot bot/web bot/service
	$(BIN)/pybabel update -i $(LOCALE)/messages.pot -d $(LOCALE) --no-wrap --ignore-obsolete --no-fuzzy-matching

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
