# The two quick-start targets bootstrap their own virtual environment.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-quick lint sandbox samples clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

## demo: run the full pipeline on the bundled sandbox CRMs
demo: $(STAMP)
	$(BIN)/churnkb demo

## test: run the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest -q

## lint: ruff on Python, sqlfluff on SQL (sql/ plain DuckDB; dbt_project/ with the dbt templater)
# The dbt templater only applies from its project's own directory, and dbt writes target/ while it
# compiles: DBT_TARGET_PATH/DBT_LOG_PATH send that to a temporary directory, so nothing lands in the
# repo (tests/test_warehouse_core.py checks), and the profile's warehouse_path is :memory: there.
# dbt_project takes about a minute on 2 cores (55 s), nearly all of it parsing and rules (templating ~13 s of it): those run in
# worker processes, one per CPU (`--processes 0`; the dbt templater itself stays in the main process).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint sql
	@echo "sqlfluff lint dbt_project (dbt templater, one worker per CPU: about a minute on 2 cores)"
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	cd dbt_project && DBT_TARGET_PATH="$$tmp/target" DBT_LOG_PATH="$$tmp/logs" ../$(BIN)/sqlfluff lint . --processes 0

sandbox: $(STAMP)
	$(BIN)/churnkb sandbox

$(VENV)/.bench-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,bench]"
	touch $@

## bench: full benchmarks (writes docs/benchmarks.md)
bench: $(VENV)/.bench-installed
	$(BIN)/python -m churnkb.bench

bench-quick: $(VENV)/.bench-installed
	$(BIN)/python -m churnkb.bench --quick

## samples: regenerate the README's digest screenshot and re-engagement sample from a fresh demo
## (needs Chromium for the screenshot, e.g. `apt-get install chromium`)
samples: $(STAMP)
	rm -rf .samples
	$(BIN)/churnkb demo --data-dir .samples
	cp .samples/outputs/reengagement/*.csv docs/reengagement-sample.csv
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=900,1600 \
	  --screenshot=docs/digest-sample.png "file://$(CURDIR)/$$(ls -d .samples/outputs/digests/*/product.html | tail -1)"

clean:
	rm -rf $(VENV) data
