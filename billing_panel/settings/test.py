"""Test settings: the real PostgreSQL and Redis, fast hashing."""

import os

# Test-only values so that the suite runs with nothing exported. They protect
# nothing: the test database is thrown away.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production")
os.environ.setdefault(
    "FIELD_ENCRYPTION_KEYS", "mGl2EMx4aVXszbwGy7h6mmGEJ3uEqxG5dnzQYQ1E1Ts="
)
os.environ.setdefault(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/billing_panel"
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("CELERY_BROKER_URL", os.environ["REDIS_URL"])
os.environ.setdefault(
    "CACHE_URL", os.environ["REDIS_URL"].replace("redis://", "rediscache://", 1)
)

from .base import *  # noqa: F403
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
REDIS_URL = env.str("REDIS_URL")
STORAGES = {
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
