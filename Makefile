# Quick start: `make demo` then `make test`. Needs only python3 (>= 3.11) and make.
# `make demo` installs only what `judge` needs at run time (requirements-runtime.lock);
# `make test`, `make lint` and `make install` add the test and lint tools (requirements-dev.lock).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: demo test lint install clean-demo bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The pinned, tested runtime set, then the package itself; both sets must be conflict-free.
$(RUNTIME): $(BIN)/python pyproject.toml requirements-runtime.lock
	$(BIN)/python -m pip install --quiet -r requirements-runtime.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m pip check
	touch $(RUNTIME)

$(DEV): $(RUNTIME) requirements-dev.lock
	$(BIN)/python -m pip install --quiet -r requirements-dev.lock
	$(BIN)/python -m pip check
	touch $(DEV)

install: $(DEV)

demo: $(RUNTIME)
	$(BIN)/judge run runs/demo.yaml
	@echo
	@echo "Results are in runs/judge.duckdb. Next:"
	@echo "  $(BIN)/judge view                            # browse runs, verdicts and answers in the browser"
	@echo "  $(BIN)/judge compare latest                  # the two demo judges side by side"
	@echo "  $(BIN)/judge report latest --format html     # charts and examples: runs/reports/<run>.html"
	@echo "  $(BIN)/judge sql \"select tier, count(*) from verdicts group by 1\""

test: $(DEV)
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

lint: $(DEV)
	$(BIN)/ruff check judge tests scripts
	$(BIN)/ruff format --check judge tests scripts
	$(BIN)/mypy judge

bench: $(DEV)
	$(BIN)/python scripts/bench_startup.py

clean-demo:
	rm -f runs/judge.duckdb runs/judge.duckdb.*
