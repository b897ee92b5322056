"""Settings: production-safe by default, every deployment value from the environment.

With nothing set the app runs on SQLite and Celery runs tasks eagerly (the embedded default).
`DATABASE_URL` switches to PostgreSQL, `CELERY_BROKER_URL` to Redis. See `.env.example`.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY doit être défini quand DJANGO_DEBUG est désactivé.")
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on-0123456789abcdef"
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "reemploi",
    "donors",
    "refurbishers",
    "beneficiaries",
    "relais",
    "indicators",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "reemploi.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "reemploi.middleware.RequestSizeLimitMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "reemploi.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "reemploi.urls"
WSGI_APPLICATION = "reemploi.wsgi.application"

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
                "reemploi.context_processors.platform",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Reconnect transparently after a database restart.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA foreign_keys=ON; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_MAX_ATTEMPTS = env.int("LOGIN_MAX_ATTEMPTS", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60)
TRUST_X_FORWARDED_FOR = env.bool("TRUST_X_FORWARDED_FOR", default=False)
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "fr-fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))

# Documents and evidence files: local storage by default, S3-compatible storage from the environment.
_s3_bucket = env.str("S3_BUCKET_NAME", default="")
STORAGES = {
    "default": (
        {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": _s3_bucket,
                "endpoint_url": env.str("S3_ENDPOINT_URL", default=None),
                "access_key": env.str("S3_ACCESS_KEY_ID", default=None),
                "secret_key": env.str("S3_SECRET_ACCESS_KEY", default=None),
                "region_name": env.str("S3_REGION", default=None),
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        }
        if _s3_bucket
        else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    ),
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Uploads: anything bigger than this is refused before it is read whole.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
MAX_UPLOAD_SIZE = env.int("MAX_UPLOAD_SIZE", default=10 * 1024 * 1024)

# Email: console by default, SMTP (or anything django-environ understands) from EMAIL_URL.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "reemploi.mail.ConsoleEmailBackend"
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="Réseau réemploi <ne-pas-repondre@reemploi.localhost>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Cache: Redis when configured, local memory otherwise (rate limits, throttling).
_cache_url = env.str("CACHE_URL", default=env.str("REDIS_URL", default=""))
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Security: secure by default when DEBUG is off, each value overridable from the environment.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content Security Policy (see reemploi.middleware): on by default, report-only or extra image
# origins (a tile server) from the environment.
CSP_ENABLED = env.bool("CSP_ENABLED", default=True)
CSP_REPORT_ONLY = env.bool("CSP_REPORT_ONLY", default=False)
CSP_EXTRA_IMG_SRC = env.list("CSP_EXTRA_IMG_SRC", default=[])
SILENCED_SYSTEM_CHECKS = env.list("DJANGO_SILENCED_SYSTEM_CHECKS", default=["security.W021"])

# REST API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "reemploi.api_errors.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"anon": "60/minute", "donation_form": "10/hour"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "API reemploi",
    "DESCRIPTION": "API de la filière de réemploi solidaire : appareils, dons, reconditionnement, relais, indicateurs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set, whichever field carries it (otherwise the schema gets hashed names).
    "ENUM_NAME_OVERRIDES": {
        "DeviceStateEnum": "reemploi.enums.DeviceState",
        "VerdictEnum": "donors.enums.Verdict",
        "HandoverModeEnum": "donors.enums.HandoverMode",
        "MediumKindEnum": "refurbishers.enums.MediumKind",
        "TestResultEnum": "refurbishers.enums.TestResult",
        "ImportKindEnum": "refurbishers.enums.ImportKind",
        "JobStatusEnum": "refurbishers.enums.ImportStatus",
        "SaleKindEnum": "relais.enums.SaleKind",
    },
}

# Celery: Redis from the environment; with no broker, tasks run eagerly in the web process.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # Nothing is ever published; an in-memory transport keeps kombu from looking for an AMQP server.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task unacknowledged this long (its worker was killed) is delivered again: keep it above the
# longest task.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BEAT_SCHEDULE = {
    "reemploi-resubmit-pending": {
        "task": "reemploi.tasks.resubmit_pending",
        "schedule": crontab(minute="*/5"),
    },
    "indicators-nightly": {
        "task": "indicators.tasks.compute_all_snapshots",
        "schedule": crontab(hour=2, minute=15),
    },
    "beneficiaries-anonymise": {
        "task": "beneficiaries.tasks.anonymise_inactive",
        "schedule": crontab(hour=3, minute=30),
    },
}

OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Réemploi solidaire")

# The network that runs the platform: its name and logo appear on every page and document.
NETWORK_NAME = env.str("NETWORK_NAME", default="Réseau Nièvre Réemploi Solidaire")
NETWORK_LOGO = env.str("NETWORK_LOGO", default="img/logo.svg")  # a path under static/
NETWORK_ADDRESS = env.str("NETWORK_ADDRESS", default="Nevers (58000)")
NETWORK_SIREN = env.str("NETWORK_SIREN", default="")
# The network's purpose as its statutes state it (printed on tax receipts, form 2041-MEC-SD).
NETWORK_OBJECT = env.str(
    "NETWORK_OBJECT",
    default="Réemploi solidaire d'équipements informatiques au profit de personnes en situation de précarité",
)
# The map's tile server; empty means the map draws communes and places on a plain background.
MAP_TILE_URL = env.str("MAP_TILE_URL", default="")
if MAP_TILE_URL:
    from urllib.parse import urlsplit

    _tiles = urlsplit(MAP_TILE_URL.replace("{s}", "a"))
    CSP_EXTRA_IMG_SRC = [*CSP_EXTRA_IMG_SRC, f"{_tiles.scheme}://{_tiles.netloc.replace('a.', '*.', 1)}"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
    },
}

# --- beneficiaries and relais ---
# An eligibility check holds this many months unless the relais sets an earlier end.
ELIGIBILITY_VALIDITY_MONTHS = env.int("ELIGIBILITY_VALIDITY_MONTHS", default=12)
# Beneficiaries are anonymised this many months after their last contact (CNIL: 2 years).
BENEFICIARY_RETENTION_MONTHS = env.int("BENEFICIARY_RETENTION_MONTHS", default=24)
# A prescriber's voucher is valid this many days unless the prescriber sets another date.
VOUCHER_VALIDITY_DAYS = env.int("VOUCHER_VALIDITY_DAYS", default=90)
# A loan's default length, in days.
LOAN_DEFAULT_DAYS = env.int("LOAN_DEFAULT_DAYS", default=30)
# How many days back a sale may be dated (a sale recorded late, on paper first): never before the
# device's arrival in the relais' stock, and never before a cap of the decree was in force.
SALE_BACKDATE_DAYS = env.int("SALE_BACKDATE_DAYS", default=7)

# --- donors ---
# How long a donor's private tracking link stays valid (a fresh one can be asked for by email).
DONORS_TRACKING_MAX_AGE_DAYS = env.int("DONORS_TRACKING_MAX_AGE_DAYS", default=730)
# Public donation form: submissions per client IP per window (seconds), and the live helpers' limit.
DONORS_FORM_RATE_LIMIT = env.int("DONORS_FORM_RATE_LIMIT", default=10)
DONORS_FORM_RATE_WINDOW = env.int("DONORS_FORM_RATE_WINDOW", default=3600)
DONORS_LOOKUP_RATE_LIMIT = env.int("DONORS_LOOKUP_RATE_LIMIT", default=1200)
DONORS_PHOTO_MAX_SIZE = env.int("DONORS_PHOTO_MAX_SIZE", default=5 * 1024 * 1024)
DONORS_PHOTO_MAX_COUNT = env.int("DONORS_PHOTO_MAX_COUNT", default=5)
# Where new donations and donors' messages are announced; empty: the coordinator organisations' address.
DONORS_COORDINATION_EMAIL = env.str("DONORS_COORDINATION_EMAIL", default="")
# A received donation whose donor does not confirm the count is closed after this many days.
DONORS_RECONCILIATION_DAYS = env.int("DONORS_RECONCILIATION_DAYS", default=30)
# Donors' personal data are erased this many years after the donation is closed (privacy notice).
DONORS_RETENTION_YEARS = env.int("DONORS_RETENTION_YEARS", default=3)
CELERY_BEAT_SCHEDULE["donors-close-unanswered"] = {
    "task": "donors.tasks.close_unanswered_receptions",
    "schedule": crontab(hour=4, minute=0),
}
CELERY_BEAT_SCHEDULE["donors-anonymise"] = {
    "task": "donors.tasks.anonymise_old_donations",
    "schedule": crontab(hour=4, minute=15),
}

# --- refurbishers ---
# CSV imports left pending while the broker was down are enqueued again.
CELERY_BEAT_SCHEDULE["refurbishers-resubmit-imports"] = {
    "task": "refurbishers.tasks.resubmit_pending_imports",
    "schedule": crontab(minute="*/10"),
}

# --- indicators ---
CELERY_BEAT_SCHEDULE["indicators-reuse-attestations"] = {
    "task": "indicators.tasks.issue_yearly_reuse_attestations",
    "schedule": crontab(month_of_year=1, day_of_month=2, hour=5, minute=0),
}
CELERY_BEAT_SCHEDULE["indicators-final-impact-reports"] = {
    "task": "indicators.tasks.issue_final_impact_reports",
    "schedule": crontab(hour=5, minute=30),
}
# Attribution the tile server's licence requires (e.g. "© les contributeurs d'OpenStreetMap").
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="")
