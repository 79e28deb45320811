"""Farmgate settings, read from environment variables.

Two shapes from one file:
- embedded default (nothing set): SQLite, eager Celery, local-memory cache, console email;
- production (DJANGO_ENV=production or DEBUG off): SECRET_KEY and ALLOWED_HOSTS required,
  secure cookies, HSTS, hashed static files. DATABASE_URL and REDIS_URL switch to
  PostgreSQL and Redis in any profile.
"""
from datetime import timedelta
from decimal import Decimal
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
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
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
    "ledger",
    "subscriptions",
    "stations",
    "ops",
]

MIDDLEWARE = [
    # First: every request gets its id (X-Request-ID from the load balancer, or a new one) and is measured.
    "ops.middleware.RequestIdMiddleware",
    "ops.middleware.MetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy on every response, errors and refusals included.
    "core.middleware.ContentSecurityPolicyMiddleware",
    "core.middleware.PermissionsPolicyMiddleware",
    # A body over the size limit is refused from its Content-Length, before anything reads it.
    "core.middleware.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "stations.acting.ActingForMiddleware",  # the agent acting for a farmer on the seller pages; records each write
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
                "marketplace.context_processors.shell",
            ],
        },
    },
]

# --- Data -----------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# PgBouncer in transaction pooling mode between the app and PostgreSQL (DATABASE_POOLER=transaction, or
# PGBOUNCER=1): each transaction may run on another server connection, so nothing may live in the session.
DATABASE_POOLER = env.str("DATABASE_POOLER", default="transaction" if env.bool("PGBOUNCER", default=False) else "")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Behind the pooler a connection to it is cheap and pins nothing: let each request open and close its own.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE",
                                                   default=0 if DATABASE_POOLER == "transaction" else 60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Django's backend, whose health check first looks whether the server has said anything (core/db/postgresql).
    DATABASES["default"]["ENGINE"] = "core.db.postgresql"
    if DATABASE_POOLER == "transaction":
        # No server-side cursors (.iterator() would lose its cursor at the transaction's end) and no
        # server-side prepared statements (psycopg prepares a query run 5 times; the next transaction may
        # land on a server connection that never saw it).
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = None
    elif env.bool("DB_PREPARED_STATEMENTS", default=True):
        # On its own connection each process binds parameters on the server and psycopg prepares a statement
        # it has run five times: a catalogue page's queries are then planned once per connection, not per
        # request (PostgreSQL's planning was most of their server time; mixed benchmark: +8 to +18%).
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
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
# One queue per concern, each with its own workers, so a flood of thumbnails never delays a payment (README,
# "Running in production"). TASK_QUEUE_PREFIX namespaces them (the real-worker tests use a private prefix).
TASK_QUEUE_PREFIX = env.str("TASK_QUEUE_PREFIX", default="")
TASK_QUEUES = {name: f"{TASK_QUEUE_PREFIX}{name}"
               for name in ("payments", "notifications", "images", "ingestion", "maintenance")}
# The one place that says which task goes where: by task name, exact names before patterns (first match wins).
# Task names are stable (`name=` of each @shared_task), whatever module the task lives in.
CELERY_TASK_ROUTES = {
    # Periodic sweeps of pre-sales are maintenance; everything else of pre-sales moves card money.
    "presales.expire_groups": {"queue": TASK_QUEUES["maintenance"]},
    "presales.release_unpaid_preorders": {"queue": TASK_QUEUES["maintenance"]},
    "monitoring.rebuild_hourly_rollups": {"queue": TASK_QUEUES["ingestion"]},
    "ledger.check_ledger": {"queue": TASK_QUEUES["maintenance"]},
    "orders.*": {"queue": TASK_QUEUES["payments"]},  # Stripe events, reconciliation, intents, captures, expiry
    "presales.*": {"queue": TASK_QUEUES["payments"]},  # captures, holds, releases of pre-sale payments
    "subscriptions.*": {"queue": TASK_QUEUES["payments"]},  # standing orders, charged to saved cards
    "ledger.*": {"queue": TASK_QUEUES["payments"]},  # payouts to the farmers
    "notifications.*": {"queue": TASK_QUEUES["notifications"]},
    "shops.*": {"queue": TASK_QUEUES["images"]},  # photo thumbnails
    "monitoring.*": {"queue": TASK_QUEUES["maintenance"]},  # reading partitions and retention
    "accounts.*": {"queue": TASK_QUEUES["maintenance"]},
    "logistics.*": {"queue": TASK_QUEUES["maintenance"]},
    "core.*": {"queue": TASK_QUEUES["maintenance"]},
    "ops.*": {"queue": TASK_QUEUES["maintenance"]},
}
# Workers log through LOGGING below (JSON lines with the request id), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
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

# --- Photos ---------------------------------------------------------------------------
# Photos sent in chunks (shops/uploads.py) that no form claimed are removed once expired (after a day).
CELERY_BEAT_SCHEDULE["shops-purge-expired-uploads"] = {
    "task": "shops.purge_expired_uploads",
    "schedule": timedelta(hours=1),
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
# Produce sold by weight: the card is authorised for the estimate plus this share (0.10 = 10 %), the most the
# buyer can pay; the farm weighs at packing and the final total is captured. Card authorisations lapse after 7
# days: one not captured after WEIGHED_CAPTURE_DAYS is renewed (the buyer authorises again within
# WEIGHED_REAUTHORISE_HOURS) or the order is cancelled.
WEIGHED_BUFFER = Decimal(env.str("WEIGHED_BUFFER", default="0.10"))
WEIGHED_CAPTURE_DAYS = env.int("WEIGHED_CAPTURE_DAYS", default=6)
WEIGHED_REAUTHORISE_HOURS = env.int("WEIGHED_REAUTHORISE_HOURS", default=24)
CELERY_BEAT_SCHEDULE["orders-renew-weighed-authorisations"] = {
    "task": "orders.renew_weighed_authorisations",
    "schedule": timedelta(hours=1),
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

# A pre-sale whose harvest starts more than this many days away cannot hold a card authorisation (it lapses
# after about 7 days): its buyers pay with a saved card, charged while they are away when the farm ships.
LONG_PRESALE_DAYS = env.int("LONG_PRESALE_DAYS", default=6)

# --- Standing orders (subscriptions) ---------------------------------------------------------------------------
# Each day the orders of the boxes cut off that day are made (and saved cards charged); a standing order whose
# saved card fails waits this long for the buyer to pay it, then expires like any unpaid order.
STANDING_ORDER_PAY_HOURS = env.int("STANDING_ORDER_PAY_HOURS", default=24)
CELERY_BEAT_SCHEDULE["subscriptions-make-standing-orders"] = {
    "task": "subscriptions.make_standing_orders",
    "schedule": crontab(hour=0, minute=30),
}

# --- Money to the farmers (ledger) ------------------------------------------------------------------------
# The platform's commission on goods (never on shipping) unless staff set a shop's or a category's rule.
COMMISSION_RATE = Decimal(env.str("COMMISSION_RATE", default="0.05"))
# A shop is paid in the weekly run when it has at least this much available.
PAYOUT_MINIMUM = Decimal(env.str("PAYOUT_MINIMUM", default="10.00"))
# After a shop changes its payout account, its payouts wait this long (and every manager is told).
PAYOUT_ACCOUNT_HOLD_HOURS = env.int("PAYOUT_ACCOUNT_HOLD_HOURS", default=48)
CELERY_BEAT_SCHEDULE["ledger-weekly-payouts"] = {
    "task": "ledger.run_payouts",
    "schedule": crontab(day_of_week="mon", hour=6, minute=0),
}
CELERY_BEAT_SCHEDULE["ledger-daily-check"] = {
    "task": "ledger.check_ledger",
    "schedule": crontab(hour=4, minute=15),
}

# --- Client addresses ------------------------------------------------------------------
# How many proxies in front of the app servers append to X-Forwarded-For (the load balancer: 1). The client's
# address is the right-most entry they did not write (core.net.client_ip); throttles, the sign-in lockout,
# rate limits and logs all use it. 0 (the default) ignores X-Forwarded-For: any client could write it.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- Auth -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses locked-out credentials before any password check.
    "axes.backends.AxesStandaloneBackend",
    # Django's ModelBackend behind the per-username back-off and the per-address cap (accounts.signin).
    "accounts.backends.GuardedModelBackend",
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
# Attempts refused during a lockout are not counted and do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "accounts.signin.lockout_response"
AXES_CLIENT_IP_CALLABLE = "core.net.client_ip"
# Across addresses, a username under attack is slowed down, never locked (accounts.signin): after
# SIGNIN_BACKOFF_AFTER failures in SIGNIN_WINDOW_MINUTES, each further attempt waits 1 s, 2 s, 4 s ... at most
# SIGNIN_BACKOFF_MAX_SECONDS after the last failure, except from an address the user signed in from lately.
SIGNIN_WINDOW_MINUTES = env.int("SIGNIN_WINDOW_MINUTES", default=15)
SIGNIN_BACKOFF_AFTER = env.int("SIGNIN_BACKOFF_AFTER", default=10)
SIGNIN_BACKOFF_MAX_SECONDS = env.int("SIGNIN_BACKOFF_MAX_SECONDS", default=300)
# One address may fail this many sign-ins (any usernames) per window before it must wait for the window's end.
SIGNIN_ADDRESS_FAILURE_LIMIT = env.int("SIGNIN_ADDRESS_FAILURE_LIMIT", default=30)
# Cache-based limits per client address (core.ratelimit), on top of the API throttles.
RATE_LIMIT_SIGNUP = env.str("RATE_LIMIT_SIGNUP", default="10/h")
RATE_LIMIT_PASSWORD_RESET = env.str("RATE_LIMIT_PASSWORD_RESET", default="5/h")
# Sign-in with a one-time code by SMS or e-mail (accounts.codes), which the password lockout does not block:
# a code lives SIGN_IN_CODE_MINUTES and dies after SIGN_IN_CODE_MAX_ATTEMPTS tries; codes may be asked for
# RATE_LIMIT_SIGN_IN_CODE times per phone number or e-mail address and RATE_LIMIT_SIGN_IN_CODE_ADDRESS times
# per client address.
SIGN_IN_CODE_MINUTES = env.int("SIGN_IN_CODE_MINUTES", default=10)
SIGN_IN_CODE_MAX_ATTEMPTS = env.int("SIGN_IN_CODE_MAX_ATTEMPTS", default=5)
RATE_LIMIT_SIGN_IN_CODE = env.str("RATE_LIMIT_SIGN_IN_CODE", default="5/h")
RATE_LIMIT_SIGN_IN_CODE_ADDRESS = env.str("RATE_LIMIT_SIGN_IN_CODE_ADDRESS", default="20/h")

# API tokens (django-rest-knox): stored hashed, expire, one per device; revoked by logout, by "sign out
# everywhere" and by any password change.
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=env.int("API_TOKEN_TTL_DAYS", default=30)),
    "TOKEN_LIMIT_PER_USER": None,
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "stations.auth.OnBehalfAuthentication",  # an agent acting for a farmer (?on_behalf_of=), else steps aside
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # A body nested too deeply is a 400, not a RecursionError (core.parsers).
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.StandardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # Keyed on core.net.client_ip; NUM_PROXIES keeps DRF's own get_ident in step for any other throttle.
    "DEFAULT_THROTTLE_CLASSES": [
        "core.throttling.AnonRateThrottle",
        "core.throttling.UserRateThrottle",
    ],
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
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
    # 400/401/403/404/413/429 in the error shape of core.api on every operation that can give them.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.schema.add_error_responses"],
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
FORMAT_MODULE_PATH = ["config.formats"]  # dates by locale: 2026-12-06 11:30, 2026年12月6日 11:30
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
    # Licence and ID photos (shops.models.private_storage): never a public URL.
    "private": {"BACKEND": "shops.models.PrivateFileStorage"},
}
# Media on an S3-compatible store (MEDIA_STORAGE=s3), so that any number of app servers and workers share it:
# public photos in AWS_STORAGE_BUCKET_NAME, at unsigned URLs (through AWS_S3_CUSTOM_DOMAIN when set: a CDN, or
# the load balancer's /media/); licence and ID photos in AWS_PRIVATE_STORAGE_BUCKET_NAME, readable only through
# URLs signed for PRIVATE_MEDIA_URL_SECONDS or the staff's permission-checked admin view. Local disk otherwise.
MEDIA_STORAGE = env.str("MEDIA_STORAGE", default="local")
if MEDIA_STORAGE == "s3":
    _S3_OPTIONS = {
        "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,  # empty: Amazon S3 itself
        "region_name": env.str("AWS_S3_REGION_NAME", default="us-east-1"),
        # Empty keys: boto3 finds credentials itself (instance role, ~/.aws).
        "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
        "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
        "signature_version": "s3v4",
        "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="path"),  # any S3-compatible server
        "file_overwrite": False,
    }
    STORAGES["default"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        **_S3_OPTIONS,
        "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
        "querystring_auth": False,
        # Empty: the bucket's policy makes objects public (S3 buckets with ACLs disabled); "public-read" else.
        "default_acl": env.str("AWS_DEFAULT_ACL", default="") or None,
        "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default="") or None,
        "url_protocol": env.str("AWS_S3_URL_PROTOCOL", default="https:"),
        "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
    }}
    STORAGES["private"] = {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        **_S3_OPTIONS,
        "bucket_name": env.str("AWS_PRIVATE_STORAGE_BUCKET_NAME"),
        "default_acl": "private",
        "querystring_auth": True,
        "querystring_expire": env.int("PRIVATE_MEDIA_URL_SECONDS", default=300),
        "object_parameters": {"CacheControl": "private, no-store"},
    }}
elif MEDIA_STORAGE != "local":
    raise ValueError(f"MEDIA_STORAGE is 'local' or 's3', not {MEDIA_STORAGE!r}")
# Uploaded photos under /media/: served by the app outside production; in production only with SERVE_MEDIA=1
# (one machine, no proxy in front); otherwise the load balancer or an S3-compatible store serves MEDIA_ROOT.
SERVE_MEDIA = env.bool("SERVE_MEDIA", default=DEBUG or not PRODUCTION)
# Outside production, serve files straight from static/ without collectstatic.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = not PRODUCTION
# Request bodies: at most DATA_UPLOAD_MAX_MEMORY_SIZE for forms and JSON; a multipart upload at most
# UPLOAD_MAX_REQUEST_SIZE in all, each file at most UPLOAD_MAX_SIZE. Refused with 413 from the Content-Length,
# or as the file streams in: nothing over the cap is written to disk (core.uploads).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
UPLOAD_MAX_SIZE = env.int("UPLOAD_MAX_SIZE", default=15 * 1024 * 1024)
UPLOAD_MAX_REQUEST_SIZE = env.int("UPLOAD_MAX_REQUEST_SIZE", default=50 * 1024 * 1024)
FILE_UPLOAD_HANDLERS = [
    "core.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

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
# For core.sms.HttpSMSGateway (SMS_BACKEND=core.sms.HttpSMSGateway): the provider's HTTP endpoint and token.
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env.str("SMS_GATEWAY_TOKEN", default="")
SMS_GATEWAY_TIMEOUT = env.float("SMS_GATEWAY_TIMEOUT", default=10.0)
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
# Readings live in monthly partitions on PostgreSQL (monitoring/partitions.py): made this many months ahead by
# the daily beat job, and dropped whole once older than the retention (on SQLite old rows are deleted).
READINGS_RETENTION_DAYS = env.int("READINGS_RETENTION_DAYS", default=400)
READINGS_PARTITIONS_AHEAD = env.int("READINGS_PARTITIONS_AHEAD", default=3)
CELERY_BEAT_SCHEDULE["monitoring-maintain-reading-partitions"] = {
    "task": "monitoring.maintain_reading_partitions",
    "schedule": crontab(hour=2, minute=15),
}

# --- Operations -----------------------------------------------------------------------
# /metrics answers a scraper sending `Authorization: Bearer <METRICS_TOKEN>`; without a token, only one on the
# same machine asking the app server directly (never through the load balancer).
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# The load balancer's probes and Prometheus reach each app server over plain HTTP inside the network: no
# redirect to HTTPS for them (SECURE_SSL_REDIRECT).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# No inline script or style anywhere: scripts live in static/js, styles in static/css (django-csp 4 format).
# The card-payment origins (STRIPE_JS_URL, STRIPE_API_BASE) are added per request when card payment is on.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# Features no page uses are switched off; the camera stays on for scanning parcel QR codes at the station.
PERMISSIONS_POLICY = {
    "camera": ["self"],
    "microphone": [],
    "geolocation": [],
    "usb": [],
}
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
    # Records about a request (django.request, django.security ...) carry the client's address (core.net).
    # Every record carries the request id of the work in hand, in a request or a Celery task (ops.logging).
    "filters": {"client_ip": {"()": "core.net.ClientAddressFilter"},
                "request_id": {"()": "ops.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(client_ip)s %(request_id)s] %(message)s"},
        # One JSON object per line, for the log shipper: LOG_FORMAT=json, the default in production.
        "json": {"()": "ops.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler",
                             "formatter": env.str("LOG_FORMAT", default="json" if PRODUCTION else "plain"),
                             "filters": ["client_ip", "request_id"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
