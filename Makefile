# Farmgate: `make run` serves the demo site, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-dev migrate demo worker beat lint format messages bench smoke clean

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
	$(BIN)/python -m pytest $(PYTEST_ARGS)

worker: install
	$(BIN)/celery -A marketplace worker --loglevel=INFO

beat: install
	$(BIN)/celery -A marketplace beat --loglevel=INFO --schedule=$(VENV)/celerybeat-schedule

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install-dev
	$(BIN)/ruff check --fix .

messages: install-dev
	$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=staticfiles
	$(BIN)/python manage.py compilemessages --ignore=.venv

bench: install-dev
	$(BIN)/python bench/run.py

smoke: install
	bash .ci/smoke

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
