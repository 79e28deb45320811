"""Checkout under contention: N concurrent buyers POST /api/v1/orders/ against shared stock.

PostgreSQL behind gunicorn on loopback. Each round, N buyers (default 50) with a ready cart check out
at the same moment; every cart holds 1-3 units of one scarce product (less stock than the buyers want)
and a unit or two from two other farms. Reports orders/s, checkout latency (p50/p95) and the oversold
count, which must be 0: units sold beyond the stock, or stock that does not add up. Then, in this
process, one more checkout's SQL statements: those of `orders.services.place_order` (target <= 20) and
the API answer's reads of the order after writing it (target: none, the answer is built from what the
service holds), and the service time of `place_order` alone over 30 checkouts (target: at most half of the
75 ms measured before it was made leaner). Each target is printed OK or MISSED; the exit status is 1 on a miss.

    .venv/bin/python bench/checkout.py [--buyers 50] [--rounds 5] [--scarce-stock 60] [--workers N]

Uses its own database (BENCH_CHECKOUT_DATABASE_URL, default farmgate_bench_checkout on the local
PostgreSQL) and Redis db 8 (BENCH_CHECKOUT_REDIS_URL) for the cache and a private Celery queue
that is emptied at the end. The database is left for the next run.
"""
import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import ensure_database, free_port  # noqa: E402

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/farmgate_bench_checkout"
DEFAULT_REDIS = "redis://127.0.0.1:6379/8"
QUEUE = "bench-checkout"
PLENTY = 1_000_000




def _prepare(buyer_count: int):
    """Migrate; three farms with a scarce and two plentiful products; buyers with an address and a token."""
    import django

    django.setup()
    from django.core.management import call_command
    from knox.models import AuthToken

    from accounts.models import Address, User
    from shops.models import Category, Product, Shop, Village

    call_command("migrate", verbosity=0, interactive=False)
    category = Category.objects.order_by("pk").first()
    products = []
    for n, (province, title, price, weight) in enumerate([
        ("山东省", "栖霞红富士（抢购）", "68.00", "5.000"),
        ("浙江省", "龙井绿茶", "120.00", "0.250"),
        ("云南省", "斗南鲜花", "39.00", "1.000"),
    ]):
        owner, _ = User.objects.get_or_create(username=f"bench-farmer-{n}", defaults={"role": User.Role.FARMER})
        village, _ = Village.objects.get_or_create(name=f"基准村{n}", township="基准镇", county="基准县",
                                                   city="基准市", province=province)
        shop, _ = Shop.objects.get_or_create(slug=f"bench-checkout-farm-{n}",
                                             defaults={"owner": owner, "name": f"Bench farm {n}", "village": village})
        product, _ = Product.objects.get_or_create(
            shop=shop, title=title, defaults={"category": category, "price": Decimal(price),
                                              "unit_weight_kg": Decimal(weight), "stock": PLENTY})
        products.append(product.pk)
    buyers = []
    for i in range(buyer_count):
        user, created = User.objects.get_or_create(username=f"bench-buyer-{i}", defaults={"role": User.Role.BUYER})
        address = Address.objects.filter(user=user).first() or Address.objects.create(
            user=user, name=f"买家{i}", phone="13800138000", province=["上海市", "江苏省", "云南省"][i % 3],
            city="某市", line=f"某路 {i} 号", is_default=True)
        _instance, token = AuthToken.objects.create(user=user)
        buyers.append((user.pk, address.pk, token))
    return products, buyers


def _cart(i: int) -> list[tuple[int, int]]:
    """(product index, quantity) of buyer i's cart: 1-3 scarce units, then one or both plentiful ones."""
    lines = [(0, 1 + i % 3), (1, 1)]
    if i % 2:
        lines.append((2, 2))
    return lines


def _reset_round(products, buyers, scarce_stock: int) -> int:
    """Stock back to the start and every cart refilled; returns the last order id before the round."""
    from django.db import transaction

    from orders.models import Cart, CartItem, Order
    from shops.models import Product

    with transaction.atomic():
        Product.objects.filter(pk=products[0]).update(stock=scarce_stock)
        Product.objects.filter(pk__in=products[1:]).update(stock=PLENTY)
        CartItem.objects.filter(cart__user_id__in=[b[0] for b in buyers]).delete()
        items = []
        for i, (user_id, _address, _token) in enumerate(buyers):
            cart, _ = Cart.objects.get_or_create(user_id=user_id)
            items += [CartItem(cart=cart, product_id=products[p], quantity=q) for p, q in _cart(i)]
        CartItem.objects.bulk_create(items)
    return Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _race(port: int, buyers) -> tuple[float, list[tuple[int, float]]]:
    """Every buyer checks out at once, each on its own connection; returns wall time and (status, seconds)."""
    gate = threading.Barrier(len(buyers))
    results: list[tuple[int, float, float]] = []
    lock = threading.Lock()

    def buyer(address_id: int, token: str):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        body = json.dumps({"address": address_id, "payment_method": "cod"})
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        gate.wait()
        t0 = time.perf_counter()
        conn.request("POST", "/api/v1/orders/", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        t1 = time.perf_counter()
        conn.close()
        with lock:
            results.append((response.status, t0, t1))

    threads = [threading.Thread(target=buyer, args=(address, token)) for _u, address, token in buyers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = max(t1 for _s, _t0, t1 in results) - min(t0 for _s, t0, _t1 in results)
    return wall, [(status, t1 - t0) for status, t0, t1 in results]


STATEMENTS_TARGET = 20
# The issue that asked for a leaner checkout measured about 75 ms of service time per order on this machine (at
# a2a1c7d): the target is half of it.
SERVICE_MS_BEFORE = 75.0
SERVICE_TIMINGS = 30
ORDER_TABLES = ('"orders_order"', '"orders_shoporder"', '"orders_orderline"')


def _one_checkout(products, buyers, scarce_stock: int) -> dict:
    """One two-shop checkout in this process: the service's statements, then the API's reads after its writes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from accounts.models import Address, User
    from orders import services

    user_id, address_id, token = buyers[0]
    _reset_round(products, buyers[:1], scarce_stock)
    with CaptureQueriesContext(connection) as queries:
        services.place_order(buyer=User.objects.get(pk=user_id), address=Address.objects.get(pk=address_id),
                             payment_method="cod")
    statements = len(queries) - 2  # the two lookups above are the caller's
    _reset_round(products, buyers[:1], scarce_stock)
    client = APIClient(HTTP_HOST="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/orders/", {"address": address_id, "payment_method": "cod"}, format="json")
    sql = [q["sql"] for q in queries]
    first_write = next((i for i, q in enumerate(sql) if q.lstrip().upper().startswith("INSERT")
                        and '"orders_order"' in q), len(sql))
    read_back = [q for q in sql[first_write:] if q.lstrip().upper().startswith("SELECT")
                 and any(f"FROM {table}" in q for table in ORDER_TABLES)]
    return {"status": response.status_code, "service_statements": statements,
            "api_statements": len(sql), "api_reads_after_write": len(read_back)}


def _service_time(products, buyers, scarce_stock: int, count: int = SERVICE_TIMINGS) -> dict:
    """`place_order` alone, in this process, for `count` two-shop checkouts one after the other (cart reset between
    them, outside the clock): the service's own time, without HTTP or queueing."""
    from django.db import transaction

    from accounts.models import Address, User
    from orders import services

    user_id, address_id, _token = buyers[0]
    times = []
    for _ in range(count):
        _reset_round(products, buyers[:1], scarce_stock)
        buyer, address = User.objects.get(pk=user_id), Address.objects.get(pk=address_id)
        started = time.perf_counter()
        services.place_order(buyer=buyer, address=address, payment_method="cod")
        times.append(time.perf_counter() - started)
        assert not transaction.get_connection().in_atomic_block
    times.sort()
    return {"count": count, "median_ms": round(statistics.median(times) * 1000, 1),
            "mean_ms": round(statistics.mean(times) * 1000, 1),
            "p95_ms": round(times[int(len(times) * 0.95)] * 1000, 1)}


def _oversold(products, since_order_id: int, scarce_stock: int) -> dict:
    """Units sold beyond the stock, and any product whose stock does not add up, for this round's orders."""
    from django.db.models import Sum

    from orders.models import OrderLine
    from shops.models import Product

    sold = dict(OrderLine.objects.filter(shop_order__order_id__gt=since_order_id)
                .values_list("product_id").annotate(n=Sum("quantity")))
    stock = dict(Product.objects.filter(pk__in=products).values_list("pk", "stock"))
    start = {products[0]: scarce_stock, products[1]: PLENTY, products[2]: PLENTY}
    oversold = sum(max(0, sold.get(pk, 0) - start[pk]) for pk in products)
    mismatched = [pk for pk in products if stock[pk] != start[pk] - sold.get(pk, 0) or stock[pk] < 0]
    return {"oversold": oversold + len(mismatched), "scarce_sold": sold.get(products[0], 0),
            "scarce_left": stock[products[0]]}


def _drain_queue(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete(QUEUE)


def run(buyers: int = 50, rounds: int = 5, scarce_stock: int = 60, workers: int | None = None) -> dict:
    db_url = os.environ.get("BENCH_CHECKOUT_DATABASE_URL", DEFAULT_DB)
    redis_url = os.environ.get("BENCH_CHECKOUT_REDIS_URL", DEFAULT_REDIS)
    workers = workers or (2 * (os.cpu_count() or 1) + 1)
    env = {**os.environ, "DATABASE_URL": db_url, "DJANGO_SETTINGS_MODULE": "config.settings",
           "DJANGO_ENV": "production", "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnop",
           "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "0", "TESTING": "1", "LOG_LEVEL": "WARNING",
           "REDIS_URL": redis_url, "CACHE_KEY_PREFIX": "bench-checkout", "CELERY_TASK_DEFAULT_QUEUE": QUEUE,
           "THROTTLE_USER": "100000/min", "PYTHONWARNINGS": "ignore:No directory at"}
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "DJANGO_ENV", "SECRET_KEY",
                                           "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT", "TESTING", "LOG_LEVEL",
                                           "REDIS_URL", "CACHE_KEY_PREFIX", "CELERY_TASK_DEFAULT_QUEUE")})
    sys.path.insert(0, str(BASE_DIR))
    ensure_database(db_url)
    products, buyer_rows = _prepare(buyers)
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "config.wsgi", "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "--timeout", "120"], cwd=BASE_DIR, env=env)
    per_round, latencies, ok_latencies, statuses = [], [], [], {}
    oversold = 0
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        # Warm-up round (not counted): every worker imports, connects and fills its caches.
        _reset_round(products, buyer_rows, scarce_stock)
        _race(port, buyer_rows)
        for _ in range(rounds):
            since = _reset_round(products, buyer_rows, scarce_stock)
            wall, results = _race(port, buyer_rows)
            check = _oversold(products, since, scarce_stock)
            oversold += check["oversold"]
            placed = sum(1 for status, _ in results if status == 201)
            for status, seconds in results:
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(seconds)
                if status == 201:
                    ok_latencies.append(seconds)
            per_round.append({"seconds": round(wall, 3), "orders": placed,
                              "conflicts": sum(1 for s, _ in results if s == 409), **check})
        one = _one_checkout(products, buyer_rows, scarce_stock)
        service = _service_time(products, buyer_rows, scarce_stock)
    finally:
        server.terminate()
        server.wait(timeout=30)
        _drain_queue(redis_url)

    def pct(values, q):
        values = sorted(values)
        return round(values[max(0, int(round(len(values) * q)) - 1)] * 1000, 1)

    total_seconds = sum(r["seconds"] for r in per_round)
    placed = sum(r["orders"] for r in per_round)
    result = {
        "name": "checkout under contention (POST /api/v1/orders/, PostgreSQL, gunicorn)",
        "buyers": buyers, "rounds": rounds, "workers": workers, "scarce_stock": scarce_stock,
        "scarce_wanted_per_round": sum(q for i in range(buyers) for p, q in _cart(i) if p == 0),
        "orders": placed, "statuses": statuses, "orders_per_second": round(placed / total_seconds, 1),
        "checkouts_per_second": round(len(latencies) / total_seconds, 1),
        "latency_ms": {"p50": round(statistics.median(latencies) * 1000, 1), "p95": pct(latencies, 0.95),
                       "p95_placed": pct(ok_latencies, 0.95)},
        "oversold": oversold, "per_round": per_round, "one_checkout": one, "service_time": service,
    }
    result["targets"] = {
        "no unit oversold": oversold == 0 and set(statuses) <= {201, 409} and placed > 0,
        f"statements per checkout (place_order) <= {STATEMENTS_TARGET}": (
            one["status"] == 201 and one["service_statements"] <= STATEMENTS_TARGET),
        "API answer reads nothing back": one["api_reads_after_write"] == 0,
        f"service time (place_order, median) <= {SERVICE_MS_BEFORE / 2:g} ms, half of {SERVICE_MS_BEFORE:g} ms": (
            service["median_ms"] <= SERVICE_MS_BEFORE / 2),
    }
    result["ok"] = all(result["targets"].values())
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buyers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scarce-stock", type=int, default=60)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    result = run(buyers=args.buyers, rounds=args.rounds, scarce_stock=args.scarce_stock, workers=args.workers)
    print(json.dumps(result, indent=2))
    one = result["one_checkout"]
    print(f"  one checkout: {one['service_statements']} statements in place_order, {one['api_statements']} for the "
          f"whole API request, {one['api_reads_after_write']} reads of the order after writing it; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    service = result["service_time"]
    print(f"  service time of place_order over {service['count']} two-shop checkouts in this process: median "
          f"{service['median_ms']} ms, mean {service['mean_ms']} ms, p95 {service['p95_ms']} ms")
    for name, hit in result["targets"].items():
        print(f"  target: {name}: {'OK' if hit else 'MISSED'}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
