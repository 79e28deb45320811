"""Benchmark settings: the site as deployed (DEBUG off, persistent connections), plus a bare view.

    DJANGO_SETTINGS_MODULE=bench.settings  (ROOT_URLCONF may be overridden through the environment)
"""
import os

os.environ.setdefault("DJANGO_ENV", "development")  # no HTTPS redirect or manifest storage on loopback
os.environ.setdefault("LOG_LEVEL", "WARNING")

from config.settings import *  # noqa: E402,F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = os.environ.get("ROOT_URLCONF", "bench.urls")
WHITENOISE_AUTOREFRESH = False
# All the load comes from one address, which the API's per-address throttles would stop (and
# their growing request history would slow): off here, and said so in the printed figures.
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}  # noqa: F405
# The app, PostgreSQL and the load generator share two cores: parallel query workers would only add
# their start-up to every search (OLTP servers commonly run with it off). Said in the printed figures.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c max_parallel_workers_per_gather=0"  # noqa: F405
# As in production with Redis: the catalogue version is pushed to each process (shops/cache.py).
CATALOGUE_VERSION_FEED = True
