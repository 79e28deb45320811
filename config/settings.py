"""Farmgate settings, read from environment variables.

Two shapes from one file:
- embedded default (nothing set): SQLite, eager Celery, local-memory cache, console email;
- production (DJANGO_ENV=production or DEBUG off): SECRET_KEY and ALLOWED_HOSTS required,
  secure cookies, HSTS, hashed static files. DATABASE_URL and REDIS_URL switch to
  PostgreSQL and Redis in any profile.
"""
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
DEBUG = env.bool("DEBUG", default=DJANGO_ENV not in ("production",))
PRODUCTION = DJANGO_ENV == "production" or not DEBUG

if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY")  # required: no default secret in production
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-farmgate-key-not-for-production-use-0123456789")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

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
    "axes",
    "core",
    "marketplace",
    "accounts",
    "shops",
    "orders",
    "logistics",
    "traceability",
    "monitoring",
    "notifications",
    "presales",
    "demand",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so it sees the lockout flag set by the authentication backend.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.unread_count",
            ],
        },
    },
]

# --- Data -----------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # The test database gets its own name so a test run never touches live data.
    DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", default=None)}
    if not DATABASES["default"]["TEST"]["NAME"]:
        del DATABASES["default"]["TEST"]
else:
    # SQLite waits for a lock instead of failing at once when two requests write.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            # The cache may live in its own Redis database, so that flushing it never drops queued tasks.
            "LOCATION": env.str("REDIS_CACHE_URL", default=REDIS_URL),
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="farmgate"),
            "OPTIONS": {
                # A cache outage degrades to cache misses, never to a 500.
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
            },
        }
    }
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "farmgate"}}
# Catalogue cache: each process keeps the catalogue version, pushed by Redis pub/sub, and its most
# used pages, so a cached page costs no round trip (shops/cache.py). On in production with Redis.
CATALOGUE_VERSION_FEED = env.bool("CATALOGUE_VERSION_FEED", default=PRODUCTION and bool(REDIS_URL))

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
# Without a broker every task runs in-process, so the embedded site needs no services.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True  # a task lost with its worker is redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_RETRY_DELAY = 10
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A broker host that does not answer must not hang a request that enqueues after commit.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2, "socket_timeout": 5}
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Shanghai"
CELERY_BEAT_SCHEDULE: dict = {
    # Each app adds its periodic jobs here (expiry of unpaid orders, notification sweeper ...).
    "clear-expired-sessions": {
        "task": "accounts.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=30),
    },
}

# --- Payments (Stripe) ----------------------------------------------------------------
# Card payment is on only when a secret key is set; without one buyers pay cash on delivery.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# A local Stripe-compatible server (localstripe) in tests and demos; Stripe's own otherwise.
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com").rstrip("/")
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
STRIPE_PAYMENT_METHOD_TYPES = env.list("STRIPE_PAYMENT_METHOD_TYPES", default=["card", "alipay", "wechat_pay"])
STRIPE_TIMEOUT_SECONDS = env.int("STRIPE_TIMEOUT_SECONDS", default=20)
# Payments still open after this long are checked with Stripe, in case a webhook was lost.
ORDER_PAYMENT_RECONCILE_MINUTES = env.int("ORDER_PAYMENT_RECONCILE_MINUTES", default=10)
CELERY_BEAT_SCHEDULE["orders-reconcile-payments"] = {
    "task": "orders.reconcile_payments",
    "schedule": timedelta(minutes=5),
}

# --- Orders ---------------------------------------------------------------------------
# An unpaid online order holds its stock this long; then the expiry task cancels it.
ORDER_RESERVATION_MINUTES = env.int("ORDER_RESERVATION_MINUTES", default=30)
CELERY_BEAT_SCHEDULE["orders-expire-unpaid"] = {
    "task": "orders.expire_unpaid_orders",
    "schedule": timedelta(minutes=1),
}

# --- Logistics ------------------------------------------------------------------------
# Delivered parts the buyer has not confirmed are completed automatically after this many days.
DELIVERY_AUTO_COMPLETE_DAYS = env.int("DELIVERY_AUTO_COMPLETE_DAYS", default=7)
# After 5 wrong delivery codes for a parcel, code entry is refused for this long.
DELIVERY_CODE_LOCK_MINUTES = env.int("DELIVERY_CODE_LOCK_MINUTES", default=15)
CELERY_BEAT_SCHEDULE["logistics-complete-delivered"] = {
    "task": "logistics.complete_delivered_parts",
    "schedule": timedelta(hours=1),
}

# --- Pre-sales and group buying -------------------------------------------------------------------------
# Groups past their deadline fail (every card authorisation released); places and pre-orders not authorised
# or paid within ORDER_RESERVATION_MINUTES are given back.
CELERY_BEAT_SCHEDULE["presales-expire-groups"] = {
    "task": "presales.expire_groups",
    "schedule": timedelta(minutes=1),
}
CELERY_BEAT_SCHEDULE["presales-release-unpaid"] = {
    "task": "presales.release_unpaid_preorders",
    "schedule": timedelta(minutes=1),
}

# --- Auth -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses locked-out credentials before any password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "home"

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# Lock the account name from one address, so a guesser cannot lock everyone out of a shared
# village network, and one address cannot try many names freely either.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.StandardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("THROTTLE_ANON", default="120/min"),
        "user": env.str("THROTTLE_USER", default="600/min"),
        "auth": env.str("THROTTLE_AUTH", default="20/min"),
        "uploads": "30/min",  # product photo uploads, per user
        "device": env.str("THROTTLE_DEVICE", default="120/min"),  # sensor readings, per sensor
    },
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Farmgate API",
    "DESCRIPTION": "Village produce marketplace: shops, orders, logistics, traceability, sensors.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several models have a "kind", "unit" or "status" choice set; name each enum after its model.
    "ENUM_NAME_OVERRIDES": {
        "ShopKindEnum": "shops.models.Shop.Kind",
        "InputApplicationKindEnum": "shops.models.InputApplication.Kind",
        "ProductUnitEnum": "shops.models.Product.Unit",
        "ProductImageStatusEnum": "shops.models.ProductImage.Status",
        "SensorKindEnum": "monitoring.models.Sensor.Kind",
        "SensorUnitEnum": "monitoring.models.Sensor.Unit",
        "ParcelStatusEnum": "logistics.models.Parcel.Status",
        "ShipmentStatusEnum": "logistics.models.Shipment.Status",
        "OrderStatusEnum": "orders.models.Order.Status",
        "ShopOrderStatusEnum": "orders.models.ShopOrder.Status",
        "PaymentStatusEnum": "orders.models.Payment.Status",
        "RefundStatusEnum": "orders.models.Refund.Status",
        "PreOrderStatusEnum": "presales.models.PreOrder.Status",
        "PreOrderPaymentEnum": "presales.models.PreOrder.Payment",
        "BuyingGroupStatusEnum": "presales.models.BuyingGroup.Status",
        "GroupMemberStatusEnum": "presales.models.GroupMember.Status",
    },
}

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
CURRENCY = "CNY"

# --- Static and media -----------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
# Licence and ID photos live outside MEDIA_ROOT and are never given a public URL.
PRIVATE_MEDIA_ROOT = Path(env.str("PRIVATE_MEDIA_ROOT", default=str(BASE_DIR / "private_media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION and not env.bool("TESTING", default=False)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# Outside production, serve files straight from static/ without collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Email and SMS --------------------------------------------------------------------
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
    EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Farmgate <no-reply@farmgate.example>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env.str("EMAIL_FILE_PATH", default=""):
    # For django.core.mail.backends.filebased.EmailBackend (demos, the real-worker tests).
    EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH")

# --- Notifications (the outbox) -------------------------------------------------------
# SMS gateway client: a dotted path to a class with send(*, to, text). The console backend logs.
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.channels.ConsoleSMSBackend")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(BASE_DIR / "sent_sms"))  # for FileSMSBackend
# Retry after 30 s, 60 s, 120 s ... at most an hour apart; give up (status failed) after 8 attempts.
NOTIFICATION_RETRY_BASE_SECONDS = env.int("NOTIFICATION_RETRY_BASE_SECONDS", default=30)
NOTIFICATION_RETRY_MAX_SECONDS = env.int("NOTIFICATION_RETRY_MAX_SECONDS", default=3600)
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=8)
# The sweeper re-enqueues pending rows nobody picked up this long after they were due.
NOTIFICATION_SWEEP_GRACE_SECONDS = env.int("NOTIFICATION_SWEEP_GRACE_SECONDS", default=60)
CELERY_BEAT_SCHEDULE["notifications-sweep-pending"] = {
    "task": "notifications.sweep_pending",
    "schedule": timedelta(minutes=1),
}

# --- Sensors --------------------------------------------------------------------------
# The broker `manage.py ingest_mqtt` subscribes to (mqtt:// or mqtts://, user:password@ allowed).
MQTT_URL = env.str("MQTT_URL", default="mqtt://127.0.0.1:1883")

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # TLS ends at the load balancer, which tells us the original scheme.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
