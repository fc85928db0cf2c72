# Chairside: `make run` serves the demo, `make test` runs the whole suite.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
DEBIAN_PACKAGES := chromium fonts-noto-cjk gettext libharfbuzz-subset0 libpango-1.0-0 libpangoft2-1.0-0 poppler-utils
# Compiled translations are build output (see .gitignore), made from the .po files on install.
LOCALE_MO := $(patsubst %.po,%.mo,$(wildcard src/chairside/locale/*/LC_MESSAGES/django.po))

.PHONY: run test install debian-packages npm-packages migrate seed lint typecheck contracts messages bench clean

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --python $(PY) --quiet -r requirements.lock
	$(BIN)/uv pip install --python $(PY) --quiet --no-deps -e .
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-fund --no-audit --loglevel=error

# Chromium (browser tests), a CJK font (pages and PDFs), gettext (translations), Pango
# (WeasyPrint's text layout) and poppler-utils (PDF to PNG and text in tests), from
# Debian, installed only when missing.
debian-packages:
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

# msgfmt comes from the gettext Debian package, hence the order-only debian-packages.
src/chairside/locale/%/LC_MESSAGES/django.mo: src/chairside/locale/%/LC_MESSAGES/django.po | debian-packages
	msgfmt --check -o $@ $<

install: $(VENV)/.installed node_modules/.package-lock.json debian-packages $(LOCALE_MO)

migrate: install
	$(BIN)/chairside migrate --noinput

seed: migrate
	$(BIN)/chairside seed --if-empty

run: seed
	@echo ""
	@echo "  Chairside is running at http://127.0.0.1:8000"
	@echo "  Demo logins (password: chairside-demo):"
	@echo "    boss       owner of the demo chain, all clinics"
	@echo "    frontdesk  front desk of the first clinic"
	@echo "    doctor     doctor of the first clinic"
	@echo "    boss-b     owner of the second organization (demo-b)"
	@echo "  API docs: http://127.0.0.1:8000/api/v1/docs"
	@echo "  Background work (reminders, SMS to var/sms.jsonl, e-mail to var/mail/):"
	@echo "    a Celery worker with beat, its broker in var/celery/ (no Redis needed)"
	@echo ""
	@# The worker runs beside the web server and stops with it (Ctrl-C).
	$(BIN)/celery -A chairside worker --beat --loglevel=WARNING --concurrency=1 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker' EXIT; \
	$(BIN)/chairside serve 127.0.0.1:8000

# Two workers: the suite is ~3,100 tests and the machines have two cores. With Redis as
# the cache (CHAIRSIDE_REDIS_URL) use PYTEST_WORKERS=0: workers would share one Redis
# database and clear each other's rate limits and broker queues.
PYTEST_WORKERS ?= 2

test: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

contracts: install
	$(BIN)/lint-imports

messages: install
	cd src/chairside && ../../$(BIN)/chairside makemessages -l zh_Hans --no-obsolete --ignore=migrations
	cd src/chairside && ../../$(BIN)/chairside compilemessages

bench: install
	$(PY) bench/patient_search.py
	$(PY) bench/create_patients.py

clean:
	rm -rf $(VENV) node_modules var
