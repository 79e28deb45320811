"""Fixtures shared by every app's tests.

Services: a test that needs PostgreSQL, Redis, a broker or a browser asks for it through
`require_service`; it is skipped when the service is absent, unless REQUIRE_SERVICES is set
(CI sets it), in which case it fails loudly instead of hiding.
"""
import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

BASE_DIR = Path(__file__).resolve().parent


def pytest_configure(config):
    """Under pytest-xdist (`make test` runs one process per core) each worker has its own test
    database (pytest-django adds the suffix) and its own Redis cache database, since tests clear the
    cache; the Celery workers that tests start inherit it through the environment."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    from django.conf import settings

    location = settings.CACHES["default"].get("LOCATION", "")
    if not worker.startswith("gw") or not str(location).startswith("redis://"):
        return
    from django.test.utils import override_settings

    parsed = urlparse(location)
    database = (int(parsed.path.strip("/") or 0) + 1 + int(worker[2:])) % 16
    worker_location = parsed._replace(path=f"/{database}").geturl()
    os.environ["REDIS_CACHE_URL"] = worker_location
    override_settings(CACHES={**settings.CACHES, "default": {**settings.CACHES["default"],
                                                             "LOCATION": worker_location}}).enable()


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
    """Each test gets its own media folders, an empty cache, in-process tasks and the fast password hasher."""
    from django.core.cache import cache
    from django.utils import translation

    from config.celery import app
    from shops import cache as shop_cache
    from shops import tiles
    from shops.search import listing

    # A test that switched language (a page in Chinese) must not leave it active for the next one.
    translation.activate(settings.LANGUAGE_CODE)
    # Tests make many users; the production hasher's slowness is its point, not this suite's.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    cache.clear()
    tiles.fragments.clear()  # rendered tiles of this process, kept under versions the cache has just forgotten
    shop_cache.forget_held()  # the same for the category tree and the other near-static data
    listing.held_summaries.clear()  # and for the listings' counts
    listing.held_options.clear()  # and the facet options written from them
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


def _start_worker(redis_url: str, extra_env: dict | None = None, queues: list[str] | None = None) -> subprocess.Popen:
    env = {**os.environ, "REDIS_URL": redis_url, "CELERY_TASK_ALWAYS_EAGER": "0", **(extra_env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--concurrency=1",
         "--loglevel=WARNING", "--without-heartbeat", "--without-gossip", "--without-mingle",
         *(["--queues", ",".join(queues)] if queues else [])],
        cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def _forget_celery_connections(app) -> None:
    """Drop the result backend and producer pools Celery built for the previous configuration."""
    app._backend_cache = None
    app._local.__dict__.pop("backend", None)
    app._pool = None
    app.amqp._producer_pool = None
    # And the router built from the previous task_routes.
    app.amqp._rtable = None
    app.amqp.__dict__.pop("router", None)


@pytest.fixture
def celery_worker_process(redis_url, settings):
    """A real Celery worker process on Redis; the test process sends to it instead of running eagerly.

    The worker shares the test database when that is PostgreSQL (tests that need the database
    there use `transactional_db` so their rows are committed and visible to the worker).
    """
    from django.db import connection

    from config.celery import app

    extra = {}
    if connection.vendor == "postgresql":
        s = connection.settings_dict
        extra["DATABASE_URL"] = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    # Private queues per run, so that a stray worker of another run never steals our tasks: the default queue
    # and each queue of CELERY_TASK_ROUTES under a private prefix, all consumed by this one worker. Routing
    # stays on, so a task sent here (or by a task on the worker) goes where it would in production.
    queue = f"test-{os.getpid()}-{time.monotonic_ns()}"
    prefix = f"{queue}."
    extra["CELERY_TASK_DEFAULT_QUEUE"] = queue
    extra["TASK_QUEUE_PREFIX"] = prefix
    concern_of = {name: concern for concern, name in settings.TASK_QUEUES.items()}
    routes = {pattern: {**route, "queue": prefix + concern_of[route["queue"]]}
              for pattern, route in settings.CELERY_TASK_ROUTES.items()}
    queues = [queue, *(prefix + concern for concern in settings.TASK_QUEUES)]
    previous = {k: app.conf[k] for k in ("broker_url", "result_backend", "task_always_eager", "task_default_queue",
                                         "task_routes")}
    app.conf.update(broker_url=redis_url, result_backend=redis_url, task_always_eager=False,
                    task_default_queue=queue, task_routes=routes)
    # Celery keeps the result backend it built first (the in-process one when REDIS_URL is unset):
    # forget it so results are read from Redis, where the worker writes them.
    _forget_celery_connections(app)
    worker = _start_worker(redis_url, extra, queues)
    try:
        from core.tasks import ping

        ping.apply_async(args=["ready"]).get(timeout=60)
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
        app.conf.update(previous)
        _forget_celery_connections(app)


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


# Runs localstripe's aiohttp app on loopback only, with --from-scratch semantics: state lives in memory and
# is neither loaded from nor written to the pickle file that other runs share.
LOCALSTRIPE_CODE = (
    "import localstripe.resources as r; r.Store.dump_to_disk = lambda self: None; "
    "from aiohttp import web; import localstripe.server as s; "
    "web.run_app(s.app, host='127.0.0.1', port={port}, print=None)"
)


class LocalStripe:
    """A running localstripe: its base URL, and the two _config calls tests use."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.js_url = f"{self.url}/js.stripe.com/v3/"
        # Test-mode values that localstripe accepts; nothing secret.
        self.secret_key = "sk_test_farmgate_local"  # noqa: S105
        self.publishable_key = "pk_test_farmgate_local"
        self.webhook_secret = "whsec_farmgate_local_test"  # noqa: S105

    def register_webhook(self, url: str, webhook_id: str = "farmgate") -> None:
        import urllib.parse
        import urllib.request

        data = urllib.parse.urlencode({"url": url, "secret": self.webhook_secret}).encode()
        endpoint = f"{self.url}/_config/webhooks/{webhook_id}"
        with urllib.request.urlopen(endpoint, data=data, timeout=5) as response:  # noqa: S310 (http on loopback)
            assert response.status == 200


@contextlib.contextmanager
def _local_server(command: list[str], port: int, log_path: Path, *, name: str, wait: float):
    """Run a test server on a loopback port until the block ends; fail with its log if it does not start."""
    log = log_path.open("w+b")
    proc = subprocess.Popen(command, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + wait
        while not port_open(f"http://127.0.0.1:{port}", port):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"{name} did not start: {log.read().decode(errors='replace')[-2000:]}")
            time.sleep(0.05)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def localstripe(settings, tmp_path):
    """A fresh localstripe server on a free loopback port; settings point Farmgate's Stripe client at it."""
    port = free_port()
    with _local_server([sys.executable, "-c", LOCALSTRIPE_CODE.format(port=port)], port,
                       tmp_path / "localstripe.log", name="localstripe", wait=20):
        server = LocalStripe(port)
        settings.STRIPE_API_BASE = server.url
        settings.STRIPE_JS_URL = server.js_url
        settings.STRIPE_SECRET_KEY = server.secret_key
        settings.STRIPE_PUBLISHABLE_KEY = server.publishable_key
        settings.STRIPE_WEBHOOK_SECRET = server.webhook_secret
        yield server


class MotoS3:
    """A running moto_server: an S3-compatible endpoint, its (made-up) keys, and a boto3 client on it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        # moto accepts any key; these are names, not secrets.
        self.access_key = "farmgate-test-key"
        self.secret_key = "farmgate-test-secret"  # noqa: S105
        self.region = "us-east-1"

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, region_name=self.region)

    def env(self, public_bucket: str, private_bucket: str) -> dict:
        """The environment variables that point Farmgate's settings at these buckets (MEDIA_STORAGE=s3)."""
        return {"MEDIA_STORAGE": "s3", "AWS_S3_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_S3_REGION_NAME": self.region,
                "AWS_STORAGE_BUCKET_NAME": public_bucket, "AWS_PRIVATE_STORAGE_BUCKET_NAME": private_bucket,
                "AWS_DEFAULT_ACL": "public-read", "AWS_S3_URL_PROTOCOL": "http:"}


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory):
    """moto's S3-compatible server (`moto_server`, a development dependency) on a free loopback port, for the
    whole run: each test makes buckets of its own (see `s3_storage`)."""
    executable = Path(sys.executable).with_name("moto_server")
    require_service("moto_server (pip install -r requirements-dev.txt)", executable.exists())
    port = free_port()
    with _local_server([str(executable), "-H", "127.0.0.1", "-p", str(port)], port,
                       tmp_path_factory.mktemp("moto") / "moto.log", name="moto_server", wait=30):
        yield MotoS3(port)


@pytest.fixture
def s3_storage(moto_server, settings, monkeypatch):
    """Fresh public and private buckets on the moto server, with STORAGES["default"] and STORAGES["private"]
    built from them by the settings' own MEDIA_STORAGE=s3 branch (loaded in a fresh interpreter); the same
    variables are set in the environment, so a worker process started by the test uses them too."""
    import json

    suffix = f"{os.getpid()}-{time.monotonic_ns()}"
    public, private = f"farmgate-media-{suffix}", f"farmgate-private-{suffix}"
    client = moto_server.client()
    client.create_bucket(Bucket=public)
    client.create_bucket(Bucket=private)
    env = moto_server.env(public, private)
    probe = subprocess.run(
        [sys.executable, "-c", "import json, django; django.setup(); from django.conf import settings; "
         "print(json.dumps({k: settings.STORAGES[k] for k in ('default', 'private')}))"],
        cwd=BASE_DIR, env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True, text=True, timeout=60, check=True)
    settings.STORAGES = {**settings.STORAGES, **json.loads(probe.stdout.strip().splitlines()[-1])}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    moto_server.public_bucket, moto_server.private_bucket = public, private
    return moto_server


@pytest.fixture
def switch_celery_broker():
    """`switch(url)` points this process's Celery producer at another broker, e.g. a closed port to
    play "the broker is down"; the connection pools are dropped so the next send really uses it.
    The broker in use before the test is restored afterwards."""
    from config.celery import app

    def reset_pools():
        # kombu keeps one pool per broker URL; dropping the app's references makes it look up the new one.
        app._pool = None
        app.amqp._producer_pool = None

    def switch(url: str) -> None:
        app.conf.broker_url = url
        reset_pools()

    previous = app.conf.broker_url
    yield switch
    app.conf.broker_url = previous
    reset_pools()
