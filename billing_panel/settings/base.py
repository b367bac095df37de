"""Settings read from the environment (12-factor).

Every setting is listed, with a comment, in `.env.example`. A `.env` file at the
top of the project is read when present; real environment variables win.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# No default: a production secret must come from the environment.
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Keys that encrypt the service passwords resellers must be able to resend.
# Comma-separated Fernet keys: the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_beat",
    "django_otp",
    # django-otp's plugins and django-axes, under readable headings in the admin
    # (apps.core.app_headings).
    "apps.core.app_headings.TwoFactorAuthenticatorAppsConfig",
    "apps.core.app_headings.TwoFactorRecoveryCodesConfig",
    "apps.core.app_headings.SignInLockoutsConfig",
    "apps.core",
    "apps.accounts",
    "apps.credits",
    "apps.subscriptions",
    "apps.audit",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served by us: nothing from a CDN
    "apps.api",
    "apps.payments",
    "apps.crm",
    "apps.dashboard",
    "apps.notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]
# Requests under /api/ go through these only (billing_panel.wsgi): an API key authenticates
# them, so the site's session, locale, CSRF, login, OTP, messages and lockout middleware have
# nothing to do there, and together they cost a fifth of an account list's CPU.
API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "billing_panel.urls"
WSGI_APPLICATION = "billing_panel.wsgi.application"
ASGI_APPLICATION = "billing_panel.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks
    # instead of failing, and let readers run beside the writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's own queries bind on the client and are never prepared; this only
    # lets apps.core.db.execute_prepared prepare its hot-path statements.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in: django-axes counts failures first, then Django's own backend.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "dashboard:signin"
LOGIN_REDIRECT_URL = "dashboard:overview"
# Repeated failed sign-ins lock out the email and address pair for a while.
# No banner on every command.
AXES_VERBOSE = False
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# The sign-in forms (dashboard and admin) post the email as "username".
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
# The issuer shown in authenticator apps next to the account.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Billing panel")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

CACHES = {
    "default": env.cache("CACHE_URL", default="locmemcache://"),
}

# Celery: Redis in production; the embedded default is a filesystem broker so
# that `make run` needs no server.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# Who hears of domain events (apps.core.events), in order: each writes its own
# outbox rows in the transaction that published the event.
DOMAIN_EVENT_CONSUMERS: list[str] = [
    # credits.arrived drains the pending queue, whose own events the next two hear.
    "apps.subscriptions.consumers.on_domain_event",
    "apps.notifications.consumers.on_domain_event",
    "apps.api.consumers.webhook_consume",
]

# Lifecycle automation (issue 3). Collectors beyond `external` and
# `complimentary`, by renewal source: {"wallet": "apps.payments.collectors.Wallet"}.
RENEWAL_COLLECTORS: dict[str, str] = {
    "wallet": "apps.payments.charges.WalletCollector",
    "card": "apps.payments.charges.CardCollector",
}

# Stripe (issue 15): where the SDK sends its requests (tests point it at localstripe),
# how long one call may take before its outcome counts as unknown, and how old a
# payment in flight must be before the janitor asks Stripe about it.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_TIMEOUT_SECONDS = env.float("STRIPE_TIMEOUT_SECONDS", default=20.0)
PAYMENT_JANITOR_AFTER_MINUTES = env.int("PAYMENT_JANITOR_AFTER_MINUTES", default=5)
# The panel's public address, for links in emails to subscribers (pay, fix a card).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# The renewal sweep's steps, in the order they run: (label, dotted path of
# step(run, reseller, config)). The payments steps come first; listing them here
# keeps apps.subscriptions from importing apps.payments.
SWEEP_STEPS: list[tuple[str, str]] = [
    ("auto-renewal", "apps.payments.steps.step_auto_renew"),
    ("dunning", "apps.payments.steps.step_dunning"),
    ("expiry", "apps.subscriptions.sweep.step_expire"),
    ("grace over", "apps.subscriptions.sweep.step_grace_over"),
    ("termination", "apps.subscriptions.sweep.step_terminate"),
    ("reminders", "apps.subscriptions.sweep.step_reminders"),
    ("credit floor", "apps.subscriptions.sweep.step_credit_floor"),
]
# Queue a delivery task when an outbox row commits (off: only the sweep's
# delivery pass sends, every SWEEP_INTERVAL_MINUTES).
NOTIFICATIONS_DISPATCH = env.bool("NOTIFICATIONS_DISPATCH", default=True)
# The beat entry's interval, used when its migration creates it (then edit it in the admin).
SWEEP_INTERVAL_MINUTES = env.int("SWEEP_INTERVAL_MINUTES", default=15)
# Database connections the sweep's set-based batches use at once (PostgreSQL):
# one batch's Python runs while another's statements run.
SWEEP_WORKERS = env.int("SWEEP_WORKERS", default=2)

EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="billing@localhost")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# REST API v1 (apps.api).
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apps.api.authentication.HasScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Billing panel API",
    "DESCRIPTION": (
        "REST API v1 for external billing systems. Authenticate with "
        "`Authorization: Bearer bp_live_...` (or a `bp_test_` key for test-mode data). "
        "Errors: {\"error\": {\"type\", \"code\", \"message\", \"param\"}}."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Two objects have a "state" and an "object": one enum name each.
    "ENUM_NAME_OVERRIDES": {
        "PaymentStateEnum": "apps.payments.models.PaymentState",
        "RefundStateEnum": "apps.payments.models.RefundState",
        "PaymentObjectEnum": ["payment"],
        "RefundObjectEnum": ["refund"],
    },
}
# Requests per key: "<n>/s", "<n>/min", "<n>/h". Past it: 429 with Retry-After.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="100/s")
# Webhook URLs on private, link-local or loopback addresses are refused unless this is on.
WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
WEBHOOK_TIMEOUT_SECONDS = env.int("WEBHOOK_TIMEOUT_SECONDS", default=10)
CELERY_BEAT_SCHEDULE = {
    "api-webhook-sweep": {"task": "api.webhook_sweep", "schedule": 60.0},
    "api-idempotency-purge": {"task": "api.idempotency_purge", "schedule": 3600.0},
    # Payments left processing or unknown by a crash or a timeout, asked of Stripe again.
    "payments-janitor": {"task": "payments.janitor", "schedule": 300.0},
}
