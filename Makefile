# Quick start: `make demo` then `make test`. Needs only python3 (>= 3.11) and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: demo test lint install clean-demo bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Install the pinned, tested dependency set (requirements.lock), then the package itself.
$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/judge run runs/demo.yaml
	@echo
	@echo "Results are in runs/judge.duckdb. Examples:"
	@echo "  $(BIN)/judge sql \"select tier, count(*) from verdicts group by 1\""

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check judge tests scripts
	$(BIN)/ruff format --check judge tests scripts
	$(BIN)/mypy judge

clean-demo:
	rm -f runs/judge.duckdb runs/judge.duckdb.*
