# Two commands for a newcomer: `make run` and `make test` (see README).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

.env:
	cp .env.example .env
	@echo "Created .env from .env.example: put your bot token from @BotFather in TELEGRAM_BOT_TOKEN, then run 'make run' again."

run: $(VENV)/.installed .env
	$(BIN)/hrm-bot run

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/ingest.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
