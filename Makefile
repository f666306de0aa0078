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
# dbt_project takes about a minute on 2 cores (110 s of CPU: parsing 27 s, the layout rules LT01/02/05/14
# 43 s, on models as their macros expand them), in worker processes, one per CPU (`--processes 0`).
# Like ruff's cache, a clean result is remembered: the digest of every dbt_project file, both
# .sqlfluff files and sqlfluff's version. Any change (a macro changes every model) lints it all again;
# a fresh clone always does.
DBT_LINT_STAMP := $(VENV)/.sqlfluff-dbt-clean
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/sqlfluff lint sql
	@digest=$$( { $(BIN)/sqlfluff --version; for f in .sqlfluff $$(git ls-files -co --exclude-standard dbt_project | sort); do 	  echo "$$f"; cat "$$f"; done; } | sha256sum | cut -d' ' -f1); 	if [ "$$(cat $(DBT_LINT_STAMP) 2>/dev/null)" = "$$digest" ]; then 	  echo "sqlfluff lint dbt_project: no file changed since its last clean lint"; exit 0; fi; 	echo "sqlfluff lint dbt_project (dbt templater, one worker per CPU: about a minute on 2 cores)"; 	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; 	(cd dbt_project && DBT_TARGET_PATH="$$tmp/target" DBT_LOG_PATH="$$tmp/logs" ../$(BIN)/sqlfluff lint . --processes 0) \
	  && echo "$$digest" > $(DBT_LINT_STAMP)

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
