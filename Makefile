# The two commands: `make run` starts the panel, `make test` runs every check.
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
PORT ?= 8000
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: run test install install-dev services system-packages lint typecheck imports pytest pytest-sqlite migrate seed clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

install: $(UV)
	$(UV) sync --frozen --no-dev --inexact --python $(PYTHON)

install-dev: $(UV)
	$(UV) sync --frozen --python $(PYTHON)

# Secrets for the local panel, made once on this machine and never committed.
var/local.env:
	@mkdir -p var
	@$(PYTHON) scripts/make_local_env.py > var/local.env
	@echo "Wrote var/local.env (local secrets, not committed)."

migrate: install var/local.env
	@set -a; . ./var/local.env; set +a; $(VENV)/bin/python manage.py migrate --noinput

seed: migrate
	@set -a; . ./var/local.env; set +a; $(VENV)/bin/python manage.py seed_demo

run: seed
	@mkdir -p var/broker/out var/broker/processed
	@echo ""
	@echo "  Billing panel: http://127.0.0.1:$(PORT)   (Ctrl-C stops web, worker and beat)"
	@echo "  Sign in with a login printed above; the Two-factor lines say whether a TOTP code is needed."
	@echo ""
	@set -a; . ./var/local.env; set +a; PANEL_PORT=$(PORT) exec $(VENV)/bin/honcho start -f Procfile

services:
	@scripts/ensure-services.sh

system-packages:
	@scripts/ensure-system-packages.sh

lint: install-dev
	$(VENV)/bin/ruff check .

typecheck: install-dev
	$(VENV)/bin/mypy .

# The apps' layers ([tool.importlinter] in pyproject.toml): a cycle between apps fails.
imports: install-dev
	$(VENV)/bin/lint-imports

pytest: install-dev services system-packages
	$(VENV)/bin/pytest --create-db

# The smoke suite on `make run`'s embedded defaults (SQLite, locmem, filesystem broker):
# it needs no server. tests/sqlite/conftest.py keeps it out of the PostgreSQL run.
PYTEST_SQLITE := $(VENV)/bin/pytest tests/sqlite --ds=billing_panel.settings.test_sqlite --create-db

pytest-sqlite: install-dev
	$(PYTEST_SQLITE)

test: install-dev services system-packages
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest --create-db
	$(PYTEST_SQLITE)

clean:
	rm -rf $(VENV) $(TOOLS) var/broker var/staticfiles
