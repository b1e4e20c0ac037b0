"""teleconnect settings: everything comes from the environment, with embedded defaults.

The defaults run the whole product on one machine: SQLite, a local session-object directory,
the in-memory channel layer and the demo Telegram. DATABASE_URL, REDIS_URL, AWS_S3_SESSION_BUCKET
and TELEGRAM_API_ID switch each one to the real engine.
"""

from __future__ import annotations

import secrets
import zoneinfo
from datetime import timedelta
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from sessions_app.services.health.events import ALERT_EVENTS
from sessions_app.telegram.proxy import proxy_setting
from teleconnect.env import (
    env_bool,
    env_choice_list,
    env_email_list,
    env_float,
    env_int,
    env_list,
    env_rate,
    env_secret,
    env_str,
    env_throttle_rate,
    env_url,
    env_url_list,
    local_secret,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("TELECONNECT_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
# Production sets DJANGO_HTTPS=1 behind TLS: secure cookies, HSTS, redirect to https.
HTTPS = env_bool("DJANGO_HTTPS", False)

SECRET_KEY = env_secret("DJANGO_SECRET_KEY") or local_secret(VAR_DIR / "secret_key", lambda: secrets.token_urlsafe(50))
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "ninja",  # the JSON API at /api/v1/ (sessions_app/api); its Swagger UI files are served from here
    "sessions_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # /api/ authenticates by bearer token only: its requests lose their cookies before sessions and CSRF.
    "sessions_app.api.auth.NoCookiesOnApiMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "sessions_app.middleware.NoStoreForSignedInMiddleware",
    "sessions_app.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Innermost: a secret no configured key decrypts becomes a page naming the missing key (503).
    "sessions_app.secrets_errors.SecretUnreadableMiddleware",
    # Last, as django-axes asks: turns a locked-out sign-in into the sign-in page saying so.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "teleconnect.urls"
ASGI_APPLICATION = "teleconnect.asgi.application"
WSGI_APPLICATION = "teleconnect.wsgi.application"

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
                "sessions_app.context_processors.product",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'teleconnect.sqlite3'}")
try:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0))
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Django understands: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the task worker write to one file: WAL lets readers run beside the
    # writer, IMMEDIATE makes a writing transaction take the lock up front instead of failing
    # half-way with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# "health": checks asked for from the list, run by the worker's health thread, never behind an archive run.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "health"]}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- Team sign-in --------------------------------------------------------------------------------
# A dashboard session ends this long after sign-in (default: a working day).
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE_SECONDS", 8 * 3600, minimum=60)
# django-axes: after AXES_FAILURE_LIMIT failed sign-ins for one username from one address, that
# pair is refused for AXES_COOLOFF_MINUTES (failures, lock-outs and sign-ins are in the audit trail).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "sessions_app.signin.locked_out_response"
AXES_CLIENT_IP_CALLABLE = "sessions_app.signin.client_ip"
AXES_VERBOSE = False  # its log lines repeat what the audit trail records
# django-otp: optional TOTP two-step sign-in; TEAM_REQUIRE_2FA=1 makes it compulsory for owners.
TEAM_REQUIRE_2FA = env_bool("TEAM_REQUIRE_2FA", False)
OTP_TOTP_ISSUER = "teleconnect"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"TIME_ZONE must be an IANA time zone name such as UTC or Europe/Berlin, got {TIME_ZONE!r}"
    ) from None
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Security headers: on everywhere; the ones that require https follow DJANGO_HTTPS.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env_bool("DJANGO_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_PROXY", False) else None
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# django-csp: files from this site only; no inline script or style, no eval (htmx's is turned off).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "connect-src": ["'self'"],  # htmx requests and the instance websocket (same origin)
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
    }
}

# --- Secrets at rest -------------------------------------------------------------------------
# Comma-separated Fernet keys; the first encrypts, all decrypt. Rotation: put the new key first, run
# `manage.py rotate_encryption_key` (re-encrypts every secret, recomputes fingerprints), then drop the old.
_encryption_keys = env_secret("SESSION_ENCRYPTION_KEY") or local_secret(
    VAR_DIR / "session_encryption_key", lambda: Fernet.generate_key().decode()
)
SESSION_ENCRYPTION_KEYS = [key.strip() for key in _encryption_keys.split(",") if key.strip()]
for _index, _key in enumerate(SESSION_ENCRYPTION_KEYS):
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            f"SESSION_ENCRYPTION_KEY entry {_index + 1} is not a Fernet key (32 url-safe base64-encoded bytes)"
        ) from None
# Secrets the environment did not give, so they were generated into VAR_DIR: fine for a local install,
# a warning from `check --deploy` in production (sessions_app.checks).
GENERATED_SECRETS = [name for name in ("DJANGO_SECRET_KEY", "SESSION_ENCRYPTION_KEY") if not env_secret(name)]

# --- Telegram ----------------------------------------------------------------------------------
TELEGRAM_API_ID = env_int("TELEGRAM_API_ID", 0, minimum=0)
TELEGRAM_API_HASH = env_secret("TELEGRAM_API_HASH")
TELEGRAM_DEMO = TELEGRAM_API_ID == 0
if not TELEGRAM_DEMO and len(TELEGRAM_API_HASH) != 32:
    raise ImproperlyConfigured(
        "TELEGRAM_API_HASH must be the 32-character hash from my.telegram.org when TELEGRAM_API_ID is set"
    )
TELEGRAM_CLIENT_FACTORY = env_str(
    "TELEGRAM_CLIENT_FACTORY",
    "sessions_app.telegram.fake.demo_client_factory"
    if TELEGRAM_DEMO
    else "sessions_app.telegram.client.real_client_factory",
)
# How every instance without a proxy of its own reaches Telegram (socks5://, socks4://, http:// or mtproxy:// URL).
TELEGRAM_PROXY = proxy_setting("TELEGRAM_PROXY", env_secret("TELEGRAM_PROXY"))
# Where the demo Telegram keeps its state, so the web server, the worker and restarts share it.
TELEGRAM_DEMO_STATE = env_str("TELEGRAM_DEMO_STATE", str(VAR_DIR / "demo-telegram.sqlite3"))
# Seconds the demo Telegram takes to answer each request, standing for network latency (load tests).
TELEGRAM_DEMO_DELAY_SECONDS = env_float("TELEGRAM_DEMO_DELAY_SECONDS", 0.0, minimum=0.0)
# Send-code throttling: at most COUNT codes per SECONDS, per instance and per phone number.
LOGIN_SEND_CODE_RATE = env_rate("LOGIN_SEND_CODE_RATE", "5/3600")
# The least time between two codes for one login (Telegram's own timeout for the code counts when longer).
LOGIN_RESEND_MIN_SECONDS = env_int("LOGIN_RESEND_MIN_SECONDS", 30, minimum=0)
# One live connection per SESSION: how long a lease lasts and how long a second caller waits.
TELEGRAM_LEASE_SECONDS = env_int("TELEGRAM_LEASE_SECONDS", 120, minimum=5)
TELEGRAM_LEASE_WAIT_SECONDS = env_int("TELEGRAM_LEASE_WAIT_SECONDS", 5, minimum=0)
TELEGRAM_TIMEOUT_SECONDS = env_int("TELEGRAM_TIMEOUT_SECONDS", 10, minimum=1)
# Bulk import (/instances/bulk-import/): the largest file and the most rows (or zip entries) one upload takes.
BULK_IMPORT_MAX_BYTES = 5 * 1024 * 1024
BULK_IMPORT_MAX_ROWS = 200
BULK_IMPORT_BUDGET_SECONDS = 50  # rows start only this long into an upload: it ends before a proxy's 60 s timeout
# An archive run whose worker wrote no heartbeat for this long is taken as killed and resumable.
ARCHIVE_STALE_SECONDS = env_int("ARCHIVE_STALE_SECONDS", 90, minimum=1)
# Dialogs an archive run reads side by side on its one connection (round trips overlap).
ARCHIVE_CONCURRENT_DIALOGS = env_int("ARCHIVE_CONCURRENT_DIALOGS", 4, minimum=1)
# How long an archive run keeps reconnecting after its connection dropped before it ends (the next
# run resumes from the checkpoints).
ARCHIVE_RECONNECT_SECONDS = env_int("ARCHIVE_RECONNECT_SECONDS", 300, minimum=0)

# --- Session object store ---------------------------------------------------------------------
AWS_S3_SESSION_BUCKET = env_str("AWS_S3_SESSION_BUCKET")
AWS_S3_ENDPOINT = env_str("AWS_S3_ENDPOINT")
AWS_ACCESS_KEY = env_secret("AWS_ACCESS_KEY")
AWS_SECRET_KEY = env_secret("AWS_SECRET_KEY")
AWS_REGION = env_str("AWS_REGION", "us-east-1")
AWS_S3_SSE = env_str("AWS_S3_SSE", "AES256")
if AWS_S3_SSE not in {"AES256", "aws:kms", "none"}:
    raise ImproperlyConfigured(f"AWS_S3_SSE must be AES256, aws:kms or none, got {AWS_S3_SSE!r}")
AWS_S3_KMS_KEY_ID = env_str("AWS_S3_KMS_KEY_ID")
SESSION_STORE_DIR = env_str("SESSION_STORE_DIR", str(VAR_DIR / "session-store"))

# --- Archive media ------------------------------------------------------------------------------
# Files of archived messages, at telegram/{SESSION}/media/<kind>/<file id>-<name>: in the session
# bucket (or AWS_S3_MEDIA_BUCKET), else beside the session objects in SESSION_STORE_DIR.
AWS_S3_MEDIA_BUCKET = env_str("AWS_S3_MEDIA_BUCKET", AWS_S3_SESSION_BUCKET)
ARCHIVE_MEDIA_MAX_BYTES = env_int("ARCHIVE_MEDIA_MAX_BYTES", 20 * 1024 * 1024, minimum=0)
STORAGES["archive_media"] = {
    "BACKEND": "sessions_app.storage.s3_media.S3MediaStorage"
    if AWS_S3_MEDIA_BUCKET
    else "sessions_app.storage.media.LocalMediaStorage"
}

# --- Session health checks and alerts ---------------------------------------------------------
# The worker (`manage.py worker`, started by scripts/run) checks every instance about this often.
HEALTH_CHECK_INTERVAL_SECONDS = env_int("HEALTH_CHECK_INTERVAL_SECONDS", 300, minimum=1)
# Checks one worker runs at once (each mostly waits for Telegram): what one worker watches grows with it.
HEALTH_CHECK_CONCURRENCY = env_int("HEALTH_CHECK_CONCURRENCY", 4, minimum=1)
HEALTH_CHECKS_KEPT = env_int("HEALTH_CHECKS_KEPT", 50, minimum=1)
# The store or Telegram unreachable is transient: it is alerted once it has lasted this long.
HEALTH_OUTAGE_ALERT_SECONDS = env_int("HEALTH_OUTAGE_ALERT_SECONDS", 900, minimum=0)
# The channels alerts go out on, each an AlertChannel (sessions_app/services/health/channels.py) reading its
# own settings below: a channel with no destination configured sends nothing. A new channel: its class, listed here.
ALERT_CHANNELS = [
    "sessions_app.services.health.channels.WebhookChannel",
    "sessions_app.services.health.channels.EmailChannel",
]
ALERT_WEBHOOK_URLS = env_url_list("ALERT_WEBHOOK_URLS")
ALERT_EMAILS = env_email_list("ALERT_EMAILS")
# The events each channel sends (comma-separated, default all): e.g. keep connector_moved off the pager.
ALERT_WEBHOOK_EVENTS = env_choice_list("ALERT_WEBHOOK_EVENTS", ALERT_EVENTS, what="alert event")
ALERT_EMAIL_EVENTS = env_choice_list("ALERT_EMAIL_EVENTS", ALERT_EVENTS, what="alert event")
ALERT_TIMEOUT_SECONDS = env_int("ALERT_TIMEOUT_SECONDS", 10, minimum=1)
ALERT_MAX_ATTEMPTS = env_int("ALERT_MAX_ATTEMPTS", 5, minimum=1)
ALERT_RETRY_SECONDS = env_int("ALERT_RETRY_SECONDS", 30, minimum=0)
# The dashboard's public address, for links in alerts (e.g. https://teleconnect.example).
DASHBOARD_URL = env_url("DASHBOARD_URL")
# /metrics answers a scraper sending `Authorization: Bearer <METRICS_TOKEN>`; unset: /metrics is 404.
METRICS_TOKEN = env_secret("METRICS_TOKEN")
# Requests one API token may make (django-ninja rate: N/s, N/m, N/h or N/d); more get 429 with Retry-After.
API_THROTTLE_RATE = env_throttle_rate("API_THROTTLE_RATE", "300/m")  # per token

EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL cannot both be on: STARTTLS (587) or SSL (465)")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
# Without EMAIL_HOST, alert emails are printed to the worker's output instead of sent.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "teleconnect <teleconnect@localhost>")

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {LOG_LEVEL!r}")
# Error reports (debug page, admin emails) hide secret locals in every frame, not only in marked views.
DEFAULT_EXCEPTION_REPORTER_FILTER = "sessions_app.logging.SecretsExceptionReporterFilter"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "sessions_app.logging.RedactSecretsFilter"},
        "expected_http_errors": {"()": "sessions_app.logging.ExpectedHttpErrorsFilter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "telethon": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # On the logger, not a handler: every handler (and a test's caplog) gets the one-line record.
        "django.request": {"filters": ["expected_http_errors"]},
    },
}
