# The two README commands: `make run` and `make test`. Everything else here serves them.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi

.PHONY: run test install translations messages lint bench fuzz soak clean

$(STAMP): pyproject.toml
	@command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check uv
	@$(VENV)/bin/uv pip install -q --python $(PY) -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true
	@$(PY) -c 'import flask, sqlalchemy, rq, playwright' 
	@touch $@

install: $(STAMP) translations

translations: $(STAMP)
	@$(VENV)/bin/pybabel compile -d saas/translations -f >/dev/null 2>&1

# Extract strings and merge them into the catalogues (run after changing user-visible text).
messages: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 --no-location --sort-output -o saas/translations/messages.pot saas tenants templates >/dev/null
	$(VENV)/bin/pybabel -q update -w 120 -i saas/translations/messages.pot -d saas/translations --no-fuzzy-matching

# Migrate, create the demo tenants, serve at once; the demo's member history is added in the background.
run: install
	@$(FLASK) demo run --host $(HOST) --port $(PORT)

test: install
	@bash .ci/system-deps.sh
	@bash .ci/with-services.sh bash .ci/checks.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

# The fuzzing tests with many more examples than `make test` runs (README, "Fuzzing"); prints the figures.
FUZZ_EXAMPLES ?= 300
FUZZ_FORM_EXAMPLES ?= 100
fuzz: install
	@bash .ci/system-deps.sh
	@rm -rf test-output/fuzz
	@FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_FORM_EXAMPLES=$(FUZZ_FORM_EXAMPLES) FUZZ_RANDOM=1 bash .ci/with-services.sh \
		$(PY) -m pytest -q tests/integration/test_api_fuzz.py tests/integration/test_form_fuzz.py \
		tests/integration/test_stored_xss.py tests/e2e/test_stored_xss_flow.py; status=$$?; \
		cat test-output/fuzz/*.txt 2>/dev/null; exit $$status

# Benchmarks (bench/RESULTS.md): `make bench ARGS="all --size large"`. Without BENCH_DATABASE_URL they run on
# bench/services.sh's own PostgreSQL and Redis (ports 55462/56409, data kept in /var/tmp/huiyuan-bench).
bench: install
	@if [ -n "$$BENCH_DATABASE_URL" ]; then $(PY) -m bench $(or $(ARGS),all --size small); \
	else bash bench/services.sh run $(PY) -m bench $(or $(ARGS),all --size small); fi

# Mixed load with faults (kill -9 of gunicorn workers and master, the RQ worker; PostgreSQL immediate restarts) for
# SOAK_MINUTES (default 5) on its own PostgreSQL and Redis; prints lost, duplicates, drift, 5xx (all 0) or exits 1.
soak: install
	@$(PY) -m bench.soak

clean:
	rm -rf $(VENV) instance test-output
