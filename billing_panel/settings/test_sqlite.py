"""Test settings for the SQLite smoke suite (tests/sqlite): the embedded defaults of `make run`.

base.py with nothing that points it at a server, so the database is a SQLite
file, the cache is in-process memory and Celery's broker is the filesystem,
as `make run` has them. Only what a test process needs differs, each below
with its reason.
"""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

# Test-only values so that the suite runs with nothing exported. They protect
# nothing: the test database is thrown away.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault(
    "FIELD_ENCRYPTION_KEYS", "mGl2EMx4aVXszbwGy7h6mmGEJ3uEqxG5dnzQYQ1E1Ts="
)
# var/local.env has it on: the settings derived from it (the cookies' Secure flag)
# are then make run's. pytest-django still runs every test with DEBUG off.
os.environ.setdefault("DEBUG", "1")
# What points base.py at PostgreSQL and Redis (the main run and CI export these):
# without them it falls back to the embedded defaults this suite is about.
SERVER_VARIABLES = ("DATABASE_URL", "CACHE_URL", "CELERY_BROKER_URL", "REDIS_URL")
for _name in SERVER_VARIABLES:
    os.environ.pop(_name, None)

from .base import *  # noqa: E402, F403
from .base import CACHES, CELERY_BROKER_URL, DATABASES  # noqa: E402

# base.py reads a .env file after the pops above (.env.example sets DATABASE_URL):
# say so instead of running this suite against a server.
if (DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3"
        or CACHES["default"]["BACKEND"] != "django.core.cache.backends.locmem.LocMemCache"
        or not CELERY_BROKER_URL.startswith("filesystem://")):
    _set = ", ".join(name for name in SERVER_VARIABLES if os.environ.get(name))
    raise ImproperlyConfigured(
        f"The SQLite suite runs the embedded defaults, but .env sets {_set}."
    )

# The sweep's singleton lock (var/sweep.lock) and the test database go to a
# directory of this process's own: a `make run` on the same checkout holds that
# lock every few minutes, and its var/db.sqlite3 is left alone. A file, not
# SQLite's in-memory test database, so the WAL journal and IMMEDIATE
# transactions of base.py are the ones tested.
VAR_DIR = Path(tempfile.mkdtemp(prefix="billing-panel-sqlite-"))
atexit.register(shutil.rmtree, VAR_DIR, ignore_errors=True)
DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}

# Celery keeps base.py's filesystem broker: tasks are queued on commit, and a
# test's transaction never commits, so no test process writes to var/broker.

# Hashing a password at full cost takes most of a sign-in: tests sign in often.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The console backend would print every email; the tests read mail.outbox.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
