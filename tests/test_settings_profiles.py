"""The settings profiles, each loaded in a fresh interpreter with its own environment."""
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SERVICE_VARS = ("DATABASE_URL", "REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "DJANGO_ENV", "DEBUG", "SECRET_KEY",
                "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")

PROBE = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({
    "engine": settings.DATABASES["default"]["ENGINE"],
    "cache": settings.CACHES["default"]["BACKEND"],
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "broker": settings.CELERY_BROKER_URL,
    "email": settings.EMAIL_BACKEND,
    "debug": settings.DEBUG,
    "static": settings.STORAGES["staticfiles"]["BACKEND"],
}))
"""


def run(args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS}
    clean["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run([sys.executable, *args], cwd=BASE_DIR, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)


def probe(**env) -> dict:
    result = run(["-c", PROBE], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_embedded_default_needs_no_services():
    conf = probe()
    assert conf["engine"] == "django.db.backends.sqlite3"
    assert conf["cache"].endswith("LocMemCache")
    assert conf["eager"] is True and conf["broker"] == "memory://"
    assert conf["email"].endswith("console.EmailBackend")
    assert conf["debug"] is True


def test_urls_switch_to_postgres_and_redis():
    conf = probe(DATABASE_URL="postgres://postgres@127.0.0.1:5432/farmgate", REDIS_URL="redis://127.0.0.1:6379/3")
    assert conf["engine"] == "django.db.backends.postgresql"
    assert conf["cache"] == "django_redis.cache.RedisCache"
    assert conf["eager"] is False and conf["broker"] == "redis://127.0.0.1:6379/3"


def test_production_requires_secret_key():
    result = run(["manage.py", "check"], DJANGO_ENV="production", ALLOWED_HOSTS="farmgate.example")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_profile_passes_check_deploy():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], DJANGO_ENV="production",
                 SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="farmgate.example")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
    conf = probe(DJANGO_ENV="production", SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="farmgate.example")
    assert conf["debug"] is False
    assert conf["static"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_no_model_change_without_migration():
    result = run(["manage.py", "makemigrations", "--check", "--dry-run"])
    assert result.returncode == 0, result.stdout + result.stderr
