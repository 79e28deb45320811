"""Shared pieces of the benchmark parts: the database, a gunicorn server, a bounded load generator.

Everything stays on loopback; the load generator is a fixed number of threads, each with one
keep-alive connection, running for a fixed time.
"""
import http.client
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlparse

BASE_DIR = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of `url` if it is missing."""
    import psycopg

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


class Server:
    """gunicorn serving the site on a free loopback port, for the life of a `with` block."""

    def __init__(self, env: dict, *, workers: int, threads: int, wsgi: str = "config.wsgi:application",
                 clients: int | None = None):
        """`clients`: how many keep-alive connections the load will hold. Each worker then takes at most its
        share of them. Otherwise one worker may win the accept of most of them and serve them one at a time
        while another sits idle: runs of the same page read 300 or 150 requests/s, with the machine's two
        cores 199% or 103% busy. In production the balancer opens a connection per request, which spreads
        them anyway (deploy/nginx.conf)."""
        self.port = free_port()
        self.env = env
        self.command = [str(Path(sys.executable).with_name("gunicorn")), wsgi, "--bind", f"127.0.0.1:{self.port}",
                        "--workers", str(workers), "--worker-class", "gthread", "--threads", str(threads),
                        "--keep-alive", "30", "--log-level", "warning", "--timeout", "120"]
        if clients is not None:
            self.command += ["--worker-connections", str(max(threads + 1, -(-clients // workers)))]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> "Server":
        self.process = subprocess.Popen(self.command, cwd=BASE_DIR, env=self.env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited while starting")
            try:
                status, _ = request(self.port, "/healthz")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /healthz within 60 s")

    def __exit__(self, *exc) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


HEADERS = {"Accept-Encoding": "gzip", "Accept-Language": "zh-hans", "User-Agent": "farmgate-bench"}


def request(port: int, path: str, conn: http.client.HTTPConnection | None = None) -> tuple[int, bytes]:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=HEADERS)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if own:
            conn.close()


_REQUEST_NUMBERS = itertools.count()


@dataclass
class LoadResult:
    path: str
    seconds: float
    requests: int = 0
    errors: int = 0
    statuses: dict = field(default_factory=dict)
    latencies: list = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def merge(self, other: "LoadResult") -> "LoadResult":
        """Two runs of the same target as one."""
        statuses = dict(self.statuses)
        for status, n in other.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
        return LoadResult(path=self.path, seconds=self.seconds + other.seconds,
                          requests=self.requests + other.requests, errors=self.errors + other.errors,
                          statuses=statuses, latencies=self.latencies + other.latencies)

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def load(port: int, path_for, *, seconds: float, connections: int) -> LoadResult:
    """`connections` threads, each sending GET path_for(i) on one keep-alive connection for `seconds`.

    `path_for` may return the same path every time (cached pages) or a new one (cache misses).
    Each connection keeps the cookies it is given and sends them back, as a browser does.
    """
    result = LoadResult(path=path_for(0), seconds=seconds)
    lock = threading.Lock()
    counter = _REQUEST_NUMBERS  # never restarts in a process, so a path made from it is new every time
    stop_at = time.perf_counter() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        latencies, statuses, errors = [], {}, 0
        jar = SimpleCookie()
        headers = dict(HEADERS)
        while time.perf_counter() < stop_at:
            with lock:
                i = next(counter)
            started = time.perf_counter()
            try:
                conn.request("GET", path_for(i), headers=headers)
                response = conn.getresponse()
                response.read()
                for cookie in response.headers.get_all("Set-Cookie") or ():
                    jar.load(cookie)
                    headers["Cookie"] = "; ".join(f"{k}={m.value}" for k, m in jar.items())
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            latencies.append(time.perf_counter() - started)
            statuses[response.status] = statuses.get(response.status, 0) + 1
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.errors += errors
            for status, n in statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + n

    threads = [threading.Thread(target=client) for _ in range(connections)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    result.requests = sum(n for status, n in result.statuses.items() if status == 200)
    return result


def django_env(**extra) -> dict:
    env = {**os.environ, "PYTHONPATH": str(BASE_DIR), "PYTHONWARNINGS": "ignore:No directory at", **extra}
    return env
