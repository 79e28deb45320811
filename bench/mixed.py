"""Mixed load: anonymous catalogue pages under wrk while the catalogue keeps changing and orders flow.

    .venv/bin/python bench/mixed.py [--seconds 12] [--rounds 3] [--products 10000] [--workers N] [--connections 2N]

PostgreSQL (BENCH_MIXED_DATABASE_URL, default farmgate_bench_mixed on the local server, created if
missing, its shop tables emptied first) and Redis (BENCH_MIXED_REDIS_URL, default db 9) behind gunicorn
(bench.settings: DEBUG off, the version feed on, a bare view at /bench/bare/). wrk (Debian package
`wrk`) sends the load, one target at a time, targets taking turns for `rounds` rounds, while a writer
thread in this process, through the services, changes one random product's price and stock every
second and places two cash-on-delivery orders per second (two buyers, one or two shops each).

Targets (ratios to the bare view's requests/s, measured in the same run):
  catalogue, cached     home, two category pages, a search and 20 product pages in turn >= 40%
  list page, uncached   /search/?sort=newest&n=<new>                                      >= 12%
  category, uncached    /c/fruit/?n=<new>                                                  >= 12%
  product, uncached     /p/<id>/?n=<new>                                                   >= 15%
Celery messages go to a private queue, emptied at the end.

With BENCH_OSCAR_URL set to the address of a product page of a django-oscar shop holding the same products
(e.g. http://127.0.0.1:8100/catalogue/p101_101/; its own server, set up apart from this project), that page
is loaded in the same rounds, with the same fresh query strings and connections, and the product page's
target becomes the one the comparison allows: at least 3x django-oscar's requests/s. The 15% ratio is then
still printed, without a verdict.
"""
import argparse
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/farmgate_bench_mixed"
DEFAULT_REDIS = "redis://127.0.0.1:6379/9"
QUEUE = "bench-mixed"
TARGETS = {"catalogue, cached": 0.40, "list page, uncached": 0.12, "category page, uncached": 0.12,
           "product page, uncached": 0.15}
OSCAR_TARGET = 3.0  # the product page against django-oscar's on the same products, when one is given


def _setup(database_url: str, redis_url: str) -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "bench.settings", "DATABASE_URL": database_url,
                       "REDIS_URL": redis_url, "CACHE_KEY_PREFIX": "farmgate-bench-mixed",
                       "CELERY_TASK_DEFAULT_QUEUE": QUEUE})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _buyers(count: int = 2) -> list:
    from accounts.models import Address, User

    out = []
    for i in range(count):
        user, _ = User.objects.get_or_create(username=f"bench-mixed-buyer-{i}", defaults={"role": User.Role.BUYER})
        address = Address.objects.filter(user=user).first() or Address.objects.create(
            user=user, name=f"买家{i}", phone="13800138000", province="上海市", city="上海市", line=f"某路 {i} 号",
            is_default=True)
        out.append((user, address))
    return out


class Writer(threading.Thread):
    """Every second: one random product's price and stock changed, two orders placed."""

    def __init__(self, product_ids: list[int], plentiful: list[int]):
        super().__init__(daemon=True)
        self.product_ids, self.plentiful = product_ids, plentiful
        self.stop = threading.Event()
        self.changes = self.orders = self.errors = 0
        self.rng = random.Random(7)

    def run(self) -> None:
        from django.db import close_old_connections

        from orders.models import Cart, CartItem
        from orders.services import place_order
        from shops import services
        from shops.models import Product

        buyers = _buyers()
        try:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    product = Product.objects.select_related("shop").get(pk=self.rng.choice(self.product_ids))
                    services.set_price_and_stock(
                        product=product, actor=product.shop.owner,
                        price=(product.price * Decimal(self.rng.choice(["0.97", "1.03"]))).quantize(Decimal("0.01")),
                        stock=self.rng.choice([0, 5, 20, 100, 500]))
                    self.changes += 1
                    for user, address in buyers:
                        cart, _ = Cart.objects.get_or_create(user=user)
                        CartItem.objects.filter(cart=cart).delete()
                        for pk in self.rng.sample(self.plentiful, 2):
                            CartItem.objects.create(cart=cart, product_id=pk, quantity=1)
                        place_order(buyer=user, address=address, payment_method="cod")
                        self.orders += 1
                except Exception as error:  # noqa: BLE001 - counted and shown; the load goes on
                    self.errors += 1
                    if self.errors <= 3:
                        print(f"  writer error: {error!r}", flush=True)
                self.stop.wait(max(0.0, 1.0 - (time.monotonic() - started)))
        finally:
            close_old_connections()


# A "fresh" path ends in a query string no earlier request used: a token of this wrk run (Lua's random
# numbers repeat from one run to the next unless seeded, and a repeated path would be a page-cache hit)
# and a counter of this connection's requests.
_LUA = """
local paths = {%(paths)s}
local n = 0
wrk.headers["Accept-Encoding"] = "gzip"
wrk.headers["Accept-Language"] = "zh-hans"
math.randomseed(%(seed)d)
local run = "%(run)s" .. math.random(1, 2000000000)
request = function()
  n = n + 1
  local path = paths[(n %% #paths) + 1]
  if %(fresh)s then path = path .. "n=" .. run .. "-" .. n end
  return wrk.format("GET", path)
end
"""


def _wrk(base: str, paths: list[str], *, fresh: bool, seconds: float, connections: int) -> dict:
    quoted = [quote(p, safe="/?=&") for p in paths]
    lua = _LUA % {"paths": ", ".join(f'"{p}"' for p in quoted), "fresh": "true" if fresh else "false",
                  "seed": secrets.randbelow(2**31), "run": secrets.token_hex(6)}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
                              "-s", script.name, base], capture_output=True, text=True,
                             check=True).stdout
    finally:
        os.unlink(script.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)

    def ms(match):
        if match is None:
            return float("nan")
        return float(match.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[match.group(2)]

    return {"rate": rate, "non2xx": int(bad.group(1)) if bad else 0, "p50": ms(p50), "p99": ms(p99)}


def run(*, seconds: float, rounds: int, products: int, workers: int, connections: int) -> bool:
    if subprocess.run(["which", "wrk"], capture_output=True).returncode != 0:
        raise SystemExit("The mixed benchmark needs wrk (apt-get install wrk).")
    database_url = os.environ.get("BENCH_MIXED_DATABASE_URL", DEFAULT_DATABASE)
    redis_url = os.environ.get("BENCH_MIXED_REDIS_URL", DEFAULT_REDIS)
    began = time.perf_counter()
    harness.ensure_database(database_url)
    _setup(database_url, redis_url)
    from bench.catalogue import Catalogue, _analyze, _reset_catalogue, _shops
    from shops.cache import bump_catalogue_version
    from shops.models import Product

    _reset_catalogue()
    catalogue = Catalogue(_shops())
    catalogue.add(products)
    _analyze()
    bump_catalogue_version()  # bulk_create skips the services
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    # Orders take from a few products with plenty of stock, as most sales do: their bands never move.
    plentiful = ids[:20]
    Product.objects.filter(pk__in=plentiful).update(stock=1_000_000)
    shown = [f"/p/{pk}/" for pk in ids[100:120]]
    catalogue_paths = ["/", "/c/fruit/", "/c/tea/", "/search/?q=苹果", *shown]
    targets = [
        ("bare view", ["/bench/bare/"], False),
        ("catalogue, cached", catalogue_paths, False),
        ("list page, uncached", ["/search/?sort=newest&"], True),
        ("category page, uncached", ["/c/fruit/?"], True),
        ("product page, uncached", [f"{shown[0]}?"], True),
    ]
    oscar = urlsplit(os.environ.get("BENCH_OSCAR_URL", ""))
    if oscar.netloc:
        targets.append(("django-oscar product page", [f"{oscar.path or '/'}?"], True))
    env = harness.django_env(DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_URL=database_url,
                             REDIS_URL=redis_url, CACHE_KEY_PREFIX="farmgate-bench-mixed",
                             CELERY_TASK_DEFAULT_QUEUE=QUEUE)
    print(f"Mixed benchmark: PostgreSQL {database_url.rsplit('/', 1)[-1]}, Redis {redis_url}, {products:,} products, "
          f"gunicorn {workers} workers (gthread, 1 thread, at most {-(-connections // workers)} connections each), "
          f"wrk 1 thread x {connections} connections, "
          f"{seconds:g} s per target in {rounds} rounds; writer: 1 product change + 2 orders per second; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores", flush=True)
    writer = Writer(ids, plentiful)
    results: dict[str, list[dict]] = {}
    with harness.Server(env, workers=workers, threads=1, clients=connections) as server:
        ours = f"http://127.0.0.1:{server.port}"

        def base(name: str) -> str:
            return f"{oscar.scheme}://{oscar.netloc}" if name.startswith("django-oscar") else ours

        for name, paths, fresh in targets:
            _wrk(base(name), paths, fresh=fresh, seconds=1, connections=connections)  # warm every worker
        writer.start()
        for _round in range(rounds):
            for name, paths, fresh in targets:
                results.setdefault(name, []).append(
                    _wrk(base(name), paths, fresh=fresh, seconds=seconds / rounds, connections=connections))
        writer.stop.set()
        writer.join(timeout=10)
    _drain(redis_url)
    rate = {name: sum(r["rate"] for r in runs) / len(runs) for name, runs in results.items()}
    for name, runs in results.items():
        rounds_text = ", ".join(f"{r['rate']:,.0f}" for r in runs)
        bad = sum(r["non2xx"] for r in runs)
        print(f"  {name:26} {rate[name]:8,.0f} req/s   p50 {runs[-1]['p50']:6.1f} ms   p99 {runs[-1]['p99']:6.1f} ms"
              f"   (rounds: {rounds_text})" + (f"   non-2xx: {bad}" if bad else ""))
    print(f"  writer: {writer.changes} product changes, {writer.orders} orders, {writer.errors} errors")
    bare = rate["bare view"]
    ok = writer.errors == 0 and writer.orders > 0
    compared = "django-oscar product page" in rate
    for name, target in TARGETS.items():
        ratio = rate[name] / bare
        if compared and name == "product page, uncached":
            print(f"  (not a target with django-oscar given) {name}: {ratio:.1%} of the bare view")
            continue
        hit = ratio >= target
        ok = ok and hit
        print(f"  target: {name} >= {target:.0%} of the bare view: {ratio:.1%} {'OK' if hit else 'MISSED'}")
    if compared:
        times = rate["product page, uncached"] / rate["django-oscar product page"]
        hit = times >= OSCAR_TARGET
        ok = ok and hit
        print(f"  target: product page, uncached >= {OSCAR_TARGET:g}x django-oscar's product page on the same "
              f"products: {times:.2f}x {'OK' if hit else 'MISSED'}")
    print(f"  mixed benchmark took {time.perf_counter() - began:.0f} s; load average now {os.getloadavg()[0]:.2f}")
    return ok


def _drain(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).delete(QUEUE)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cores = os.cpu_count() or 1
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=cores + 1)
    parser.add_argument("--connections", type=int, default=2 * (cores + 1))
    args = parser.parse_args(argv)
    ok = run(seconds=args.seconds, rounds=args.rounds, products=args.products, workers=args.workers,
             connections=args.connections)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
