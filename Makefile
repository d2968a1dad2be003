# Two commands for a newcomer: `make run` and `make test` (see README); `make` lists the rest.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements.lock
POT := bot/i18n/locale/hrm-bot.pot
VERSION = $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
# Every install takes the exact versions of the lock, the build's setuptools included, so a
# new release of anything cannot turn CI red on its own; pyproject.toml keeps the ranges.
# The lock's pip is put in first: --build-constraint needs pip 25.3, a new venv has older.
# setuptools tells on every editable install that folders named like our packages shadow
# them: here they are the packages themselves, so that one notice is left out.
PIP := $(BIN)/python -m pip
QUIET_EDITABLE := PYTHONWARNINGS="ignore:Editable installation"
INSTALL := $(QUIET_EDITABLE) $(PIP) install --quiet --constraint $(LOCK) --build-constraint $(LOCK)
INSTALL_PIP := $(PIP) install --quiet --constraint $(LOCK) pip
# pip is pinned too, so its notice of a newer release is noise.
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.DEFAULT_GOAL := help
.PHONY: install help run test lint fmt messages demo bench lock clean FORCE

help: ## this list
	@echo "make TARGET, where TARGET is one of:"
	@awk -F ':.*## ' '/^[a-z]+:.*## / { printf "  %-10s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

# Evaluated only by recipes that need Python, so `make help` and `make clean` work without it.
PY_VERSION = $(shell $(PYTHON) -c 'import sys; print(".".join(map(str, sys.version_info[:3])))' 2>/dev/null)
PY_OK = $(shell $(PYTHON) -c 'import sys; print(sys.version_info >= (3, 11))' 2>/dev/null)
# $(error) stops make with this one line (and exit code 2) before anything is installed.
check-python = $(if $(filter True,$(PY_OK)),,$(error hrm-bot needs Python 3.11 or newer, \
	but $(PYTHON) $(if $(PY_VERSION),is $(PY_VERSION),was not found): name a newer one, \
	as in `make $(or $(MAKECMDGOALS),help) PYTHON=python3.12`))
# A venv runs its packages on the Python that made it: when that one is gone, or another is
# asked for (PYTHON=, a pyenv switch, an upgrade), the venv is made again.
WHO := import os, sys; print(sys.version, os.path.realpath(sys.base_prefix))

# Remade only when the interpreter differs, so the installs below stay up to date otherwise.
$(VENV)/pyvenv.cfg: FORCE
	$(check-python)
	@if [ "$$($(BIN)/python -c '$(WHO)' 2>/dev/null)" != "$$($(PYTHON) -c '$(WHO)')" ]; then \
		if [ -e $(VENV) ]; then echo "Making $(VENV) again: its Python is not $(PYTHON)."; fi; \
		echo "$(PYTHON) -m venv $(VENV)  # Python $(PY_VERSION)"; \
		rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); \
	fi

$(VENV)/.installed: pyproject.toml $(LOCK) $(VENV)/pyvenv.cfg
	$(INSTALL_PIP)
	$(INSTALL) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(LOCK) $(VENV)/pyvenv.cfg
	$(INSTALL_PIP)
	$(INSTALL) -e '.[dev]'
	touch $@ $(VENV)/.installed

.env:
	cp .env.example .env
	@echo "Created .env from .env.example: put your bot token from @BotFather in TELEGRAM_BOT_TOKEN, then run 'make run' again."

run: $(VENV)/.installed .env ## install and start the bot (`hrm-bot run`; .env first)
	$(BIN)/hrm-bot run

install: $(VENV)/.installed ## install into .venv without starting anything (for a service)

lint: $(VENV)/.installed-dev ## ruff check, ruff format --check, mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint ## lint, then every test (what CI runs)
	$(BIN)/pytest

# Fixes first, so that the formatter has the last word; then what is left to fix by hand.
fmt: $(VENV)/.installed-dev ## format the code and apply ruff's safe fixes
	$(BIN)/ruff check --fix-only --quiet .
	$(BIN)/ruff format .
	$(BIN)/ruff check .

demo: $(VENV)/.installed-dev ## the bot against the fake site and Bot API, as a chat transcript
	$(BIN)/python -m tests.demo

bench: $(VENV)/.installed-dev ## the ingest benchmark (bench/README.md has the others)
	$(BIN)/python bench/ingest.py

# Only N_ marks a catalog text. Locations without line numbers, and no new date in a .po
# whose texts did not change, keep a translator's diffs to what changed.
messages: $(VENV)/.installed-dev ## extract the N_ texts into bot/i18n/locale/hrm-bot.pot; update each .po
	$(BIN)/pybabel --quiet extract --no-default-keywords --keyword=N_ --add-comments=TRANSLATORS: \
		--add-location=file --no-wrap --project=hrm-bot --version=$(VERSION) \
		--copyright-holder="hrm-bot contributors" --output-file=$(POT) bot handlers
	@if ls bot/i18n/locale/*/LC_MESSAGES/hrm-bot.po >/dev/null 2>&1; then \
		$(BIN)/pybabel --quiet update --domain=hrm-bot --input-file=$(POT) \
			--output-dir=bot/i18n/locale --no-wrap --previous --ignore-pot-creation-date; \
	fi

# Resolved afresh in a throwaway venv, with the Python that CI has (the oldest supported),
# then frozen: pip and setuptools too, since they decide how everything else is installed.
lock: ## renew requirements.lock: the newest versions that pyproject.toml allows
	$(check-python)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp" $(LOCK).new' EXIT && \
	$(PYTHON) -m venv "$$tmp" && \
	"$$tmp/bin/python" -m pip install --quiet --upgrade pip setuptools && \
	$(QUIET_EDITABLE) "$$tmp/bin/python" -m pip install --quiet -e '.[dev]' && \
	{ echo "# The exact versions CI installs (pip install --constraint $(LOCK)). Made by"; \
	  echo "# \`make lock\` with Python $(PY_VERSION); edit pyproject.toml, not this file."; \
	  "$$tmp/bin/python" -m pip freeze --all --exclude-editable; } > $(LOCK).new && \
	mv $(LOCK).new $(LOCK)
	@echo "$(LOCK): $$(grep -c '==' $(LOCK)) pins; \`git diff $(LOCK)\` shows what changed."

clean: ## remove the venv, caches and build leftovers
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache *.egg-info build dist

FORCE:
