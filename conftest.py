"""Fixtures shared by every app's tests.

Services: a test that needs PostgreSQL, Redis, a broker or a browser asks for it through
`require_service`; it is skipped when the service is absent, unless REQUIRE_SERVICES is set
(CI sets it), in which case it fails loudly instead of hiding.
"""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

BASE_DIR = Path(__file__).resolve().parent


def require_service(name: str, available: bool) -> None:
    if available:
        return
    if os.environ.get("REQUIRE_SERVICES"):
        pytest.fail(f"{name} is required (REQUIRE_SERVICES is set) but is not reachable")
    pytest.skip(f"{name} is not reachable")


def port_open(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def _isolated_defaults(settings, tmp_path):
    """Each test gets its own media folders, an empty cache and in-process tasks."""
    from django.core.cache import cache

    from marketplace.celery import app

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    cache.clear()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = eager


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    require_service("Redis", port_open(url, 6379))
    return url


@pytest.fixture
def postgres(db):
    from django.db import connection

    require_service("PostgreSQL (set DATABASE_URL)", connection.vendor == "postgresql")
    return connection


def _start_worker(redis_url: str, extra_env: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, "REDIS_URL": redis_url, "CELERY_TASK_ALWAYS_EAGER": "0", **(extra_env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "marketplace", "worker", "--pool=solo", "--concurrency=1",
         "--loglevel=WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


@pytest.fixture
def celery_worker_process(redis_url, settings):
    """A real Celery worker process on Redis; the test process sends to it instead of running eagerly.

    The worker shares the test database when that is PostgreSQL (tests that need the database
    there use `transactional_db` so their rows are committed and visible to the worker).
    """
    from django.db import connection

    from marketplace.celery import app

    extra = {}
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        extra["DATABASE_URL"] = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    # A private queue per run, so that a stray worker of another run never steals our tasks.
    queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
    extra["CELERY_TASK_DEFAULT_QUEUE"] = queue
    previous = {k: app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager", "task_default_queue")}
    app.conf.update(broker_url=redis_url, result_backend=redis_url, task_always_eager=False,
                    task_default_queue=queue)
    worker = _start_worker(redis_url, extra)
    try:
        from marketplace.tasks import ping

        ping.apply_async(args=["ready"]).get(timeout=60)
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        app.conf.update(previous)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def browser_page(live_server, monkeypatch):
    """A real Chromium (Debian's) at phone size, driven by Playwright, against the live test server."""
    require_service("Chromium", Path(CHROMIUM).exists())
    # Playwright's sync API runs an event loop in this thread; Django's ORM is still safe here.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-US")
        page = context.new_page()
        page.set_default_timeout(15000)
        page.base_url = live_server.url
        try:
            yield page
        finally:
            context.close()
            browser.close()
