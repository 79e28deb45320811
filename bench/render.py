"""In-process render time of the catalogue pages, uncached (a new query string each time) and cached.

    .venv/bin/python bench/render.py [--iterations 200] [--products 2000] [--queries]

Django's test Client in this process, SQLite in a file of its own (/tmp/farmgate-render.sqlite3,
made again each run) and the local-memory cache: no network, no server, so the figures are the
Python cost of a page (view, template, ORM) and a cache hit. Prints the mean and p95 per page
and, with --queries, the SQL statements of one render. Not part of `make bench`: a tool for
comparing a change before and after, on one quiet machine.
"""
import argparse
import os
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
DATABASE = "/tmp/farmgate-render.sqlite3"  # noqa: S108 - a scratch database, made again each run


def _setup(products: int) -> None:
    if os.path.exists(DATABASE):
        os.remove(DATABASE)
    os.environ.update({"DJANGO_SETTINGS_MODULE": "bench.settings", "DATABASE_URL": f"sqlite:///{DATABASE}",
                       "REDIS_URL": "", "CACHE_KEY_PREFIX": "farmgate-render"})
    os.environ.pop("REDIS_CACHE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from bench.catalogue import Catalogue, _shops

    catalogue = Catalogue(_shops())
    catalogue.add(products, batch=1000)


def _time(client, path_for, iterations: int) -> list[float]:
    times = []
    for i in range(iterations):
        started = time.perf_counter()
        response = client.get(path_for(i))
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path_for(i), response.status_code)
    return times


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--queries", action="store_true")
    args = parser.parse_args(argv)
    _setup(args.products)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from shops.models import Product

    product = Product.objects.filter(is_active=True).order_by("pk")[50]
    pages = [
        ("home", lambda i: f"/?n={i}", "/"),
        ("category list /c/fruit/", lambda i: f"/c/fruit/?n={i}", "/c/fruit/"),
        ("list page, newest first", lambda i: f"/search/?sort=newest&n={i}", "/search/?sort=newest"),
        ("search 苹果", lambda i: f"/search/?q=苹果&n={i}", "/search/?q=苹果"),
        ("product page", lambda i: f"/p/{product.pk}/?n={i}", f"/p/{product.pk}/"),
        ("shop page", lambda i: f"/s/{product.shop.slug}/?n={i}", f"/s/{product.shop.slug}/"),
    ]
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans", HTTP_HOST="127.0.0.1")
    print(f"In-process render times, {args.products:,} products (SQLite, local memory cache), "
          f"{args.iterations} requests each; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for name, path_for, cached_path in pages:
        _time(client, path_for, 5)  # warm: imports, templates, per-process data
        uncached = _time(client, path_for, args.iterations)
        client.get(cached_path)
        cached = _time(client, lambda i, p=cached_path: p, args.iterations)
        p95 = sorted(uncached)[int(len(uncached) * 0.95)]
        line = (f"  {name:26} uncached mean {statistics.mean(uncached) * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms"
                f"   cached mean {statistics.mean(cached) * 1000:5.2f} ms")
        if args.queries:
            with CaptureQueriesContext(connection) as queries:
                client.get(path_for(10**9))
            line += f"   {len(queries)} queries"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
