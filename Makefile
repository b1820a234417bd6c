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

.PHONY: run test test-fast test-postgis run-postgis bench demo clean venv

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

# The store contract against a throwaway PostGIS server (Debian: postgresql postgresql-15-postgis-3).
test-postgis: $(TEST)
	@dir=$$(mktemp -d /tmp/geo-pg.XXXXXX); \
	url=$$(scripts/pg_test_server.sh start $$dir 2>/dev/null) || exit 1; \
	echo "PostGIS test server: $$url"; \
	GEO_TEST_PG=$$url $(BIN)/python -m pytest tests/test_store_contract.py; rc=$$?; \
	scripts/pg_test_server.sh stop $$dir; exit $$rc

# The dashboard on a shared PostGIS store: a local server (data kept in .pgdata/, port
# $(PGPORT)) holding the demo workspaces, copied from the GeoPackages by `python -m geo
# migrate`; GEO_STORE points the app (and any python -m geo command) at it.
PGPORT  ?= 55432
PGURL   := postgresql://geo@127.0.0.1:$(PGPORT)/geo_test
run-postgis: demo
	@scripts/pg_test_server.sh start $(CURDIR)/.pgdata $(PGPORT) >/dev/null \
	  || { echo "could not start PostgreSQL (apt-get install postgresql postgresql-15-postgis-3)"; exit 1; }
	@for ws in workspaces/*.gpkg; do \
	  name=$$(basename $$ws .gpkg); \
	  GEO_STORE= $(BIN)/python -m geo migrate --from $$ws --to "$(PGURL)?workspace=$$name" --if-missing || exit 1; \
	done
	GEO_STORE=$(PGURL) GEO_DEMO=1 $(BIN)/python -m streamlit run dashboard/app.py --server.port $(PORT)

bench: $(BENCH)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) workspaces .pytest_cache build *.egg-info
	-test -d .pgdata && scripts/pg_test_server.sh stop $(CURDIR)/.pgdata
