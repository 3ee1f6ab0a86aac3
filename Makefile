# The front door. `make run` for the demo, `make test` for the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mentoring
TEST_REDIS_URL ?= redis://127.0.0.1:6379/9
# Test processes (pytest-xdist): one per core; worker N uses Redis database TEST_REDIS_URL's + N.
TEST_WORKERS ?= 2

.PHONY: run test test-dates check-image check-demo lint format bench install install-dev migrations-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# --no-compile: pip would byte-compile every installed module (scipy, statsmodels, ortools...),
# over half of a fresh install's time; Python compiles what it imports, once, instead.
$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --no-compile ".[demo]"
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --no-compile ".[dev,demo]"
	touch $@ $(RUN_STAMP)

install: $(RUN_STAMP)
install-dev: $(DEV_STAMP)

## Demo: with no DATABASE_URL, start the embedded PostgreSQL (var/pgdata), migrate, load the
## demo school with its history, start web + worker + beat (Ctrl-C stops all, server included).
run: $(RUN_STAMP)
	$(BIN)/python bin/demo

## The whole suite against PostgreSQL and Redis, browser tests included.
test: $(DEV_STAMP)
	bin/ensure-services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/python manage.py makemigrations --check --dry-run
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/pytest --create-db -n $(TEST_WORKERS) $(PYTEST_ARGS)

## The date-sensitive tests once per "today" listed in bin/date-matrix (month and year ends,
## daylight-saving changes, a leap day, the academic year's start). DATES="2028-02-29" narrows;
## the two runs at a time use Redis databases TEST_REDIS_URL's and the next.
test-dates: $(DEV_STAMP)
	bin/ensure-services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/python bin/date-matrix $(DATES)

## The Dockerfile's build steps in a fresh virtual environment, then gunicorn with production
## settings must serve the sign-in page and a static file (no container engine needed).
check-image:
	bin/ensure-services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) python3 bin/check-image

## A newcomer's `make run` from a clean clone of HEAD with no DATABASE_URL (embedded PostgreSQL),
## on a free port, bounded in time: the dean signs in (Chromium) and reads a retention figure on
## the dashboard and on the evaluation page; then Ctrl-C must stop everything, database included.
check-demo: $(DEV_STAMP)
	$(BIN)/python bin/check-demo $(CHECK_DEMO_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(DEV_STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(DEV_STAMP)
	bin/ensure-services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/python -m benchmarks $(BENCH)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
