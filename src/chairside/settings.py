"""Django settings. Everything that differs between a laptop and production comes from
environment variables (see docs/operations.md)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("CHAIRSIDE_VAR_DIR", PROJECT_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


PRODUCTION = os.environ.get("CHAIRSIDE_ENV", "development") == "production"
DEBUG = _env_bool("CHAIRSIDE_DEBUG", not PRODUCTION)

if PRODUCTION:
    SECRET_KEY = os.environ["CHAIRSIDE_SECRET_KEY"]
    ALLOWED_HOSTS = os.environ.get("CHAIRSIDE_ALLOWED_HOSTS", "").split(",")
else:
    SECRET_KEY = os.environ.get(
        "CHAIRSIDE_SECRET_KEY", "development-only-key-never-use-in-production-0123456789abcdef"
    )
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver", "[::1]"]

# Reverse proxies in front of the app: the client's address (for rate limits) is then the
# N-th from the right in X-Forwarded-For. 0: use the connection's address.
CHAIRSIDE_TRUSTED_PROXIES = int(os.environ.get("CHAIRSIDE_TRUSTED_PROXIES", "0"))

# Keys for encrypting sensitive columns; the first encrypts, all decrypt (rotation).
CHAIRSIDE_FIELD_KEYS = [k for k in os.environ.get("CHAIRSIDE_FIELD_KEYS", "").split(",") if k]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "chairside.core",
    "chairside.patients",
    "chairside.scheduling",
    "chairside.billing",
    "chairside.clinical",
    "chairside.membership",
    "chairside.promotions",
    "chairside.esign",
    "chairside.forms",
    "chairside.messaging",
    "chairside.portal",
    "chairside.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "chairside.core.middleware.TenantMiddleware",
]

ROOT_URLCONF = "chairside.urls"
WSGI_APPLICATION = "chairside.wsgi.application"
ASGI_APPLICATION = "chairside.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "chairside.core.context_processors.console",
            ],
        },
    },
]

_default_db = f"sqlite:///{VAR_DIR / 'chairside.sqlite3'}"
if "CHAIRSIDE_DATABASE_URL" not in os.environ:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("CHAIRSIDE_DATABASE_URL", _default_db), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # Writers queue up instead of failing with "database is locked" mid-transaction.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_redis_url = os.environ.get("CHAIRSIDE_REDIS_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _redis_url}
        if _redis_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

AUTH_USER_MODEL = "core.Staff"
AUTHENTICATION_BACKENDS = ["chairside.core.auth.StaffBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
# Front-end packages come from npm (package.json); we serve their dist folders as they are.
STATICFILES_DIRS = [
    ("vendor/htmx", PROJECT_DIR / "node_modules/htmx.org/dist"),
    ("vendor/alpinejs", PROJECT_DIR / "node_modules/alpinejs/dist"),
    ("vendor/echarts", PROJECT_DIR / "node_modules/echarts/dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

SESSION_COOKIE_AGE = 60 * 60 * 12  # one working day
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _env_bool("CHAIRSIDE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    CSRF_TRUSTED_ORIGINS = [
        o for o in os.environ.get("CHAIRSIDE_CSRF_TRUSTED_ORIGINS", "").split(",") if o
    ]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CHAIRSIDE_LOG_LEVEL", "INFO")},
    # WeasyPrint logs every layout step of every receipt at INFO.
    "loggers": {"weasyprint": {"level": "WARNING"}},
}

# --- messaging and background work ---
# Celery reads the CELERY_* settings (chairside/celery.py). The broker is Redis in
# production; without one, kombu's filesystem transport under VAR_DIR lets `make run` start a
# real worker and beat with no external service.
CELERY_BROKER_URL = (
    os.environ.get("CHAIRSIDE_CELERY_BROKER_URL") or _redis_url or "filesystem://localhost/"
)
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "celery" / "queue"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    (VAR_DIR / "celery" / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(VAR_DIR / "celery" / "control"),
    }
CELERY_TASK_IGNORE_RESULT = True  # tasks record their effects in the database
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "messaging.deliver_due": {"task": "messaging.deliver_due", "schedule": 30.0},
    # Reminders are queued at booking; this catches imported and older bookings (S5).
    "scheduling.queue_reminders": {"task": "scheduling.queue_reminders", "schedule": 15 * 60.0},
    # Recalls from completed visits (S7); idempotent, so the exact hour does not matter.
    "scheduling.generate_recalls": {"task": "scheduling.generate_recalls", "schedule": 86400.0},
    # Spent and expired portal sign-in codes are kept a day for the audit, then removed.
    "portal.purge_login_codes": {"task": "portal.purge_login_codes", "schedule": 86400.0},
    # Membership review (expiry, downgrades at period end) and points expiry (M1, M4).
    "membership.daily": {"task": "membership.daily", "schedule": 86400.0},
    # Flash sales (K3): unpaid reservations give their stock back; paid claims whose coupon
    # could not be issued are retried; the sold counters are checked against the claims.
    "promotions.expire_flash_sale_claims": {
        "task": "promotions.expire_flash_sale_claims",
        "schedule": 60.0,
    },
    "promotions.issue_paid_flash_sale_coupons": {
        "task": "promotions.issue_paid_flash_sale_coupons",
        "schedule": 300.0,
    },
    "promotions.reconcile_flash_sale_counters": {
        "task": "promotions.reconcile_flash_sale_counters",
        "schedule": 600.0,
    },
    # The evidence log's root is time-stamped (a signed tree head) every ten minutes (F4).
    "esign.sign_tree_heads": {"task": "esign.sign_tree_heads", "schedule": 600.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep LOGGING above

# Channels by name: dotted paths to classes with `send(message) -> Delivery`. SMS and WeChat
# have only fakes until a carrier adapter is written (see chairside/messaging/channels.py).
CHAIRSIDE_MESSAGING_CHANNELS = {
    "sms": os.environ.get("CHAIRSIDE_SMS_CHANNEL", "chairside.messaging.channels.FileSmsChannel"),
    "wechat": os.environ.get(
        "CHAIRSIDE_WECHAT_CHANNEL", "chairside.messaging.channels.FakeWeChatChannel"
    ),
    "email": "chairside.messaging.channels.EmailChannel",
    "in_app": "chairside.messaging.channels.InAppChannel",
}
CHAIRSIDE_SMS_FILE = VAR_DIR / "sms.jsonl"
CHAIRSIDE_WECHAT_FILE = VAR_DIR / "wechat.jsonl"
# Retries: 1, 5, 25, 125 minutes ... capped at 6 hours; dead after the last attempt.
CHAIRSIDE_MESSAGING_MAX_ATTEMPTS = int(os.environ.get("CHAIRSIDE_MESSAGING_MAX_ATTEMPTS", "6"))
CHAIRSIDE_MESSAGING_RETRY_FIRST_SECONDS = 60
CHAIRSIDE_MESSAGING_RETRY_FACTOR = 5
CHAIRSIDE_MESSAGING_RETRY_MAX_SECONDS = 6 * 60 * 60
# A worker that dies mid-send leaves its message "sending"; after this it is tried again.
CHAIRSIDE_MESSAGING_SENDING_LEASE_SECONDS = 5 * 60
# Marketing SMS only between these local hours (carriers: 08:00-20:00).
CHAIRSIDE_MESSAGING_MARKETING_SMS_HOURS = (8, 20)
# A login code that arrives late is worse than none.
CHAIRSIDE_MESSAGING_VERIFICATION_TTL_SECONDS = 10 * 60
# Dotted paths of extra send guards (SMS quota, per-number limits: N2), run before each send.
CHAIRSIDE_MESSAGING_SEND_GUARDS: list[str] = []

# Online payment of flash-sale orders: a PaymentProcessor (promotions/payments.py). The fake
# pays at once; a WeChat Pay or Alipay adapter takes its place in production.
CHAIRSIDE_PAYMENT_PROCESSOR = os.environ.get(
    "CHAIRSIDE_PAYMENT_PROCESSOR", "chairside.promotions.payments.FakePaymentProcessor"
)

# Panels of other apps on a page whose app must not import them (core.panels): dotted paths
# to functions (request, subject) -> (template name, context) or None.
CHAIRSIDE_TODAY_PANELS = ["chairside.clinical.today.todays_plans_panel"]
CHAIRSIDE_PATIENT_PANELS = [
    "chairside.billing.panels.patient_money_panel",
    "chairside.forms.panels.patient_forms_panel",
]

DEFAULT_FROM_EMAIL = os.environ.get("CHAIRSIDE_EMAIL_FROM", "Chairside <noreply@localhost>")
if os.environ.get("CHAIRSIDE_SMTP_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["CHAIRSIDE_SMTP_HOST"]
    EMAIL_PORT = int(os.environ.get("CHAIRSIDE_SMTP_PORT", "465"))
    EMAIL_HOST_USER = os.environ.get("CHAIRSIDE_SMTP_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("CHAIRSIDE_SMTP_PASSWORD", "")
    EMAIL_USE_SSL = EMAIL_PORT == 465
    EMAIL_USE_TLS = not EMAIL_USE_SSL and _env_bool("CHAIRSIDE_SMTP_STARTTLS", True)
    EMAIL_TIMEOUT = 30
else:
    # Developers read the e-mails as files.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"

# Discount sources of the bill pipeline (billing.discounts.DiscountSource), by dotted path:
# membership adds its tier discount and promotions its coupons here. Empty: manual only.
CHAIRSIDE_DISCOUNT_SOURCES: list[str] = [
    "chairside.membership.discounts.TierDiscountSource",
    "chairside.promotions.discounts.CouponDiscountSource",
]

# Listeners of billing events (billing.events): membership earns and claws back points.
CHAIRSIDE_BILLING_LISTENERS: list[str] = [
    "chairside.membership.listeners.MembershipBillingListener",
]

# Booking time held back for member tiers with priority booking (scheduling.priority).
CHAIRSIDE_PRIORITY_WINDOWS = "chairside.membership.priority.MemberPriorityWindows"

# E-signatures (esign app; docs/operations.md "E-signatures"). The default certificate
# authority is the organization's own and the default time-stamping authority is Chairside's
# own RFC 3161 service: both make signatures anyone can verify, but only a licensed CA
# (电子认证服务机构) and an accredited TSA give them the legal weight of a "reliable
# electronic signature". Production points these at them through the same interfaces.
CHAIRSIDE_CA = os.environ.get("CHAIRSIDE_CA", "chairside.esign.pki.OrganizationCa")
# Empty: time-stamp in process with Chairside's own TSA (served at /esign/tsa too).
CHAIRSIDE_TSA_URL = os.environ.get("CHAIRSIDE_TSA_URL", "")
# The public address of this installation, written into certificates (CRL location).
CHAIRSIDE_PUBLIC_URL = os.environ.get("CHAIRSIDE_PUBLIC_URL", "http://127.0.0.1:8000")
# Resident ID + name checks at key enrolment; the fake accepts any well-formed ID whose
# name matches. A real adapter calls a licensed identity-verification service.
CHAIRSIDE_IDENTITY_VERIFIER = os.environ.get(
    "CHAIRSIDE_IDENTITY_VERIFIER", "chairside.esign.identity.FakeIdentityVerifier"
)
# Listeners of signed-document events (esign.events): forms follows its documents.
CHAIRSIDE_ESIGN_LISTENERS: list[str] = ["chairside.forms.listeners.on_document_event"]
