"""Probes for the load balancer and the orchestrator, and the Prometheus endpoint.

- /healthz: the process answers (liveness); touches nothing else, so a database outage never gets every app
  server restarted at once;
- /readyz: the process can serve: the database, Redis (when configured) and the media storages answer
  (readiness: a load balancer sends no traffic to an app server that says 503 here);
- /metrics: Prometheus text format, for a scraper with METRICS_TOKEN (`Authorization: Bearer ...`), or, when
  no token is set, for one on the same machine talking to the app server directly (not through the proxy).
"""
import hmac
import logging
import os
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from prometheus_client import CONTENT_TYPE_LATEST

from . import metrics as metrics_module

logger = logging.getLogger(__name__)
LOOPBACK = {"127.0.0.1", "::1"}
PROBE_NAME = "readyz/probe"  # looked up, never written: any other store answers for a missing file


@never_cache
def healthz(request):
    return JsonResponse({"status": "ok"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    if settings.REDIS_URL:
        client = metrics_module._redis()
        client.ping()


def _storage(alias: str) -> None:
    storage = storages[alias]
    if isinstance(storage, FileSystemStorage):
        # Local disk: the folder (or, before the first upload, its nearest existing parent) must be writable.
        path = Path(storage.location)
        existing = next(p for p in (path, *path.parents) if p.exists())
        if not (existing.is_dir() and os.access(existing, os.W_OK)):
            raise OSError(f"{alias} storage {path} is not a writable folder")
        return
    bucket = getattr(storage, "bucket_name", None)
    if bucket:  # S3: the bucket is there and our keys may use it (raises otherwise)
        storage.connection.meta.client.head_bucket(Bucket=bucket)
    else:
        storage.exists(PROBE_NAME)


CHECKS = {
    "database": _database,
    "redis": _redis,
    "media": lambda: _storage("default"),
    "private_media": lambda: _storage("private"),
}


@never_cache
def readyz(request):
    results, ready = {}, True
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # each failure is reported, never raised
            logger.warning("readiness check %s failed: %r", name, exc)
            results[name] = "failed"
            ready = False
    return JsonResponse({"status": "ok" if ready else "unavailable", "checks": results},
                        status=200 if ready else 503)


def _scraper_allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        given = request.META.get("HTTP_AUTHORIZATION", "")
        return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())
    # No token: only a scraper on this machine, asking the app server itself. A request that came through the
    # load balancer carries X-Forwarded-For (nginx adds it), even though the balancer's own address is loopback.
    return request.META.get("REMOTE_ADDR") in LOOPBACK and "HTTP_X_FORWARDED_FOR" not in request.META


@never_cache
def metrics(request):
    if not _scraper_allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(metrics_module.render(), content_type=CONTENT_TYPE_LATEST)
