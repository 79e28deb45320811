# Farmgate: `make run` serves the demo site, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev migrate demo worker beat lint format messages bench smoke clean stripe-local \
	prod-local test-pgbouncer lighthouse

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo

run: demo
	@echo "Farmgate on http://$(HOST):$(PORT)/  (demo logins: buyer, farmer, agent / farmgate-demo; admin / farmgate-admin)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install-dev
	$(BIN)/python -m pytest -n auto --dist load $(PYTEST_ARGS)

# With REDIS_URL: one worker for every queue (QUEUES=payments,notifications,... for fewer; README for production).
QUEUES ?= celery,payments,notifications,images,ingestion,maintenance
worker: install
	$(BIN)/celery -A config worker --loglevel=INFO -Q $(QUEUES)

beat: install
	$(BIN)/celery -A config beat --loglevel=INFO --schedule=$(VENV)/celerybeat-schedule

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install-dev
	$(BIN)/ruff check --fix .

messages: install-dev
	$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=staticfiles
	$(BIN)/python manage.py compilemessages --ignore=.venv

# The mixed part drives its load with wrk (Debian package), installed here when missing.
bench: install-dev
	command -v wrk >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk)
	$(BIN)/python bench/run.py

# A local Stripe-compatible server for the card-payment demo (see README): loopback only, in-memory state.
STRIPE_LOCAL_PORT ?= 8420
stripe-local: install-dev
	$(BIN)/python -c "import localstripe.resources as r; r.Store.dump_to_disk = lambda self: None; \
	from aiohttp import web; import localstripe.server as s; \
	web.run_app(s.app, host='127.0.0.1', port=$(STRIPE_LOCAL_PORT))"

smoke: install
	bash .ci/smoke

# The production deployment rehearsed on this machine (deploy/prod_local.py): nginx, two gunicorn app servers,
# a Celery worker per queue, beat, the MQTT bridge, PgBouncer, Redis, an S3 server; a smoke journey through
# nginx with an app server and a worker killed on the way; everything stopped at the end. Needs PostgreSQL on
# 127.0.0.1:5432, nginx, pgbouncer, redis-server, mosquitto and openssl (.ci/run installs them).
prod-local: install-dev
	$(BIN)/python deploy/prod_local.py

# PostgreSQL tests of every query shape through PgBouncer in transaction pooling mode (deploy/pgbouncer_tests.py).
test-pgbouncer: install-dev
	$(BIN)/python deploy/pgbouncer_tests.py

# Lighthouse 12.2.3 (package.json, npm ci) with Debian's Chromium, mobile preset, over the main pages of a demo
# site served by the script itself (bench/lighthouse.py); fails when a page scores under 95 in performance or
# accessibility. Needs Node 20 and /usr/bin/chromium (CHROME_PATH to use another).
lighthouse: install-dev
	@test -x node_modules/.bin/lighthouse || npm ci --no-audit --no-fund
	$(BIN)/python bench/lighthouse.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
