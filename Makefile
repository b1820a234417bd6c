# Two commands do all the set-up: `make run` and `make test`.
# Each builds .venv from the pinned versions (requirements/constraints.txt) and installs
# geo + dashboard into it editable (pyproject.toml), with the extras that target needs.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
PIN     := requirements/constraints.txt
APP     := $(VENV)/.installed-app
TEST    := $(VENV)/.installed-test
BENCH   := $(VENV)/.installed-bench
PORT    ?= 8501

.PHONY: run test test-fast bench demo clean venv

# Everything: the app, the tests and the benchmarks.
venv: $(TEST) $(BENCH)

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -c $(PIN) --upgrade pip

$(APP): requirements.txt $(PIN) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(TEST): $(APP) requirements/test.txt
	$(BIN)/python -m pip install --quiet -r requirements/test.txt
	@touch $@

$(BENCH): $(APP) requirements/bench.txt
	$(BIN)/python -m pip install --quiet -r requirements/bench.txt
	@touch $@

demo: $(APP)
	$(BIN)/python -m geo demo

run: demo
	GEO_DEMO=1 $(BIN)/python -m streamlit run dashboard/app.py --server.port $(PORT)

test: $(TEST)
	$(BIN)/python -m pytest

test-fast: $(TEST)
	$(BIN)/python -m pytest -m "not browser and not slow"

bench: $(BENCH)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) workspaces .pytest_cache build *.egg-info
