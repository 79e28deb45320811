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
    assert conf["engine"] == "core.db.postgresql"  # Django's, with a cheaper health check
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


# Variables of the deployment profile that the tests below set themselves (a run through PgBouncer sets some).
DEPLOYMENT_VARS = ("DATABASE_POOLER", "PGBOUNCER", "DB_CONN_MAX_AGE", "MEDIA_STORAGE", "LOG_FORMAT")


def setting(expression: str, **env):
    """The value of a Python expression over django.conf.settings, in a fresh interpreter with `env`."""
    code = f"import json, django; django.setup(); from django.conf import settings; print(json.dumps({expression}))"
    clean = {k: v for k, v in os.environ.items() if k not in SERVICE_VARS + DEPLOYMENT_VARS}
    result = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, capture_output=True, text=True, timeout=120,
                            env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


POSTGRES = "postgres://postgres@127.0.0.1:6432/farmgate"
DB = 'settings.DATABASES["default"]'


def test_transaction_pooling_keeps_nothing_in_the_session():
    """Behind PgBouncer in transaction mode: no server-side cursors, no prepared statements, short connections."""
    for env in ({"DATABASE_POOLER": "transaction"}, {"PGBOUNCER": "1"}):
        db = setting(DB, DATABASE_URL=POSTGRES, **env)
        assert db["DISABLE_SERVER_SIDE_CURSORS"] is True
        assert db["OPTIONS"]["prepare_threshold"] is None and "server_side_binding" not in db["OPTIONS"]
        assert db["CONN_MAX_AGE"] == 0


def test_a_direct_connection_keeps_server_side_cursors_and_persistent_connections_and_prepares():
    db = setting(DB, DATABASE_URL=POSTGRES)
    assert not db.get("DISABLE_SERVER_SIDE_CURSORS")
    assert db["OPTIONS"]["server_side_binding"] is True and db["OPTIONS"]["prepare_threshold"] == 5
    assert db["CONN_MAX_AGE"] == 60
    unprepared = setting(DB, DATABASE_URL=POSTGRES, DB_PREPARED_STATEMENTS="false")
    assert "server_side_binding" not in unprepared.get("OPTIONS", {})
    assert setting(DB, DATABASE_URL=POSTGRES, DATABASE_POOLER="transaction", DB_CONN_MAX_AGE="30")["CONN_MAX_AGE"] == 30


def test_media_on_local_disk_by_default():
    storages = setting("settings.STORAGES")
    assert storages["default"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    assert storages["private"]["BACKEND"] == "shops.models.PrivateFileStorage"


def test_media_on_s3_public_and_private_buckets():
    storages = setting("settings.STORAGES", MEDIA_STORAGE="s3", AWS_S3_ENDPOINT_URL="http://127.0.0.1:9000",
                       AWS_STORAGE_BUCKET_NAME="photos", AWS_PRIVATE_STORAGE_BUCKET_NAME="licences",
                       AWS_ACCESS_KEY_ID="k", AWS_SECRET_ACCESS_KEY="s")
    public, private = storages["default"], storages["private"]
    assert public["BACKEND"] == private["BACKEND"] == "storages.backends.s3.S3Storage"
    assert public["OPTIONS"]["bucket_name"] == "photos" and public["OPTIONS"]["querystring_auth"] is False
    assert private["OPTIONS"]["bucket_name"] == "licences" and private["OPTIONS"]["querystring_auth"] is True
    assert private["OPTIONS"]["default_acl"] == "private" and private["OPTIONS"]["querystring_expire"] == 300
    assert public["OPTIONS"]["endpoint_url"] == private["OPTIONS"]["endpoint_url"] == "http://127.0.0.1:9000"


def test_an_unknown_media_storage_is_refused():
    result = run(["manage.py", "check"], MEDIA_STORAGE="ftp")
    assert result.returncode != 0 and "MEDIA_STORAGE" in result.stderr


def test_logs_are_json_lines_in_production_and_plain_in_development():
    production = {"DJANGO_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "x.example"}
    handler = 'settings.LOGGING["handlers"]["console"]'
    assert setting(handler, **production)["formatter"] == "json"
    assert setting(handler)["formatter"] == "plain"
    assert setting(handler, LOG_FORMAT="json")["formatter"] == "json"
    assert "request_id" in setting(handler)["filters"]
