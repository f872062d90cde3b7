# Developer shortcuts. Everything runs from the repo's .venv (created by `make setup`).
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python

.PHONY: help setup run test lint format typecheck bench docs clean

help:
	@echo "targets: setup run test lint format bench docs clean"

setup:
	bash scripts/setup.sh

run:
	bash scripts/run-demo.sh $(ARGS)

test:
	bash scripts/test.sh $(ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy camera_service
	$(BIN)/hadolint Dockerfile
	$(BIN)/lint-imports

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	$(PY) -m bench.run_all $(ARGS)

docs: setup
	$(PY) -m camera_service.rpc.docs --write
	$(PY) -m camera_service.config.docs --write
	$(PY) -m camera_service.core.topic_docs --write

clean:
	rm -rf .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info bench/results
	find . -path ./.venv -prune -o -path ./.cache -prune -o -name __pycache__ -type d -exec rm -rf {} +
