"""Catalogue benchmark: throughput of cached catalogue pages against a bare view, and search latency.

    .venv/bin/python bench/catalogue.py [--seconds 10] [--rounds 2] [--workers N] [--threads 1] [--connections 2N]

PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/farmgate_bench, created if
missing; its shop tables are emptied first) and Redis (REDIS_URL, default db 5) behind gunicorn on
a free loopback port, with bench.settings (DEBUG off, a bare view at /bench/bare/).

1. 10,000 products: requests/s for the bare view, the product list page (/c/fruit/) and the
   search API (/api/v1/products/?search=苹果), both as anonymous buyers get them (cached), and
   for information the same two with a new query string each time (never cached).
2. 100,000 products: search latency (p50/p95) of the search API and of the search page for 苹果,
   one connection, a new query string each time so that no cache answers.
Targets: cached list page >= 50% of the bare view's requests/s; search p95 < 50 ms.
"""
import argparse
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/farmgate_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/5"
SMALL, LARGE = 10_000, 100_000
SHOPS = 200
LIST_TARGET = 0.5
SEARCH_P95_TARGET_MS = 50
RARE_SEARCH_P95_TARGET_MS = 30  # a word with under 500 matches
RARE_WORD = "老树松茸"  # one title in 60 with one prefix in 10: about 170 of 100,000 products

# title, category slug, unit, unit weight (kg), price
BASE_PRODUCTS = [
    ("烟台红富士苹果", "apples", "box", "5", "68"), ("洛川苹果", "apples", "box", "5", "59"),
    ("阿克苏冰糖心苹果", "apples", "box", "5", "79"), ("Fuji apples", "apples", "box", "5", "72"),
    ("苹果干", "dried-fruit", "bag", "0.5", "25"),
    ("库尔勒香梨", "pears", "box", "5", "55"), ("砀山酥梨", "pears", "box", "5", "39"),
    ("赣南脐橙", "citrus", "box", "5", "49"), ("四川耙耙柑", "citrus", "box", "5", "58"),
    ("沙糖桔", "citrus", "box", "2.5", "35"), ("阳山水蜜桃", "stone-fruit", "box", "2.5", "88"),
    ("大连樱桃", "berries", "box", "1", "128"), ("丹东草莓", "berries", "box", "1.5", "69"),
    ("蓝莓", "berries", "box", "0.5", "45"), ("海南芒果", "tropical-fruit", "box", "2.5", "52"),
    ("云南香蕉", "tropical-fruit", "box", "5", "39"), ("周至猕猴桃", "kiwi", "box", "2.5", "48"),
    ("寿光黄瓜", "gourds", "kg", "1", "8"), ("南瓜", "gourds", "piece", "3", "15"),
    ("有机小白菜", "leafy-greens", "jin", "0.5", "6"), ("菠菜", "leafy-greens", "jin", "0.5", "5"),
    ("土豆", "root-vegetables", "kg", "1", "4"), ("胡萝卜", "root-vegetables", "kg", "1", "5"),
    ("红薯", "root-vegetables", "box", "5", "29"), ("四季豆", "beans", "jin", "0.5", "7"),
    ("五常大米", "rice", "bag", "5", "89"), ("东北大米", "rice", "bag", "10", "79"),
    ("石磨面粉", "flour", "bag", "5", "39"), ("小米", "flour", "bag", "2.5", "32"),
    ("菜籽油", "oil", "bottle", "5", "99"), ("山茶油", "oil", "bottle", "1", "128"),
    ("西湖龙井", "green-tea", "bag", "0.25", "298"), ("安吉白茶", "green-tea", "bag", "0.25", "268"),
    ("碧螺春", "green-tea", "bag", "0.25", "228"), ("铁观音", "oolong", "bag", "0.25", "168"),
    ("大红袍", "oolong", "bag", "0.25", "198"), ("普洱熟茶", "dark-tea", "piece", "0.357", "158"),
    ("安化黑茶", "dark-tea", "piece", "1", "138"), ("土鸡蛋", "eggs", "box", "1.5", "45"),
    ("咸鸭蛋", "eggs", "box", "1", "38"), ("散养土鸡", "poultry", "piece", "1.5", "128"),
    ("老鸭", "poultry", "piece", "2", "118"), ("黑猪肉", "pork", "kg", "1", "68"),
    ("腊肉", "pork", "kg", "1", "98"), ("内蒙古羊肉", "beef-and-lamb", "kg", "1", "118"),
    ("牛腱子", "beef-and-lamb", "kg", "1", "138"), ("阳澄湖大闸蟹", "shellfish", "box", "2", "398"),
    ("鲫鱼", "fish", "piece", "0.5", "25"), ("香菇", "mushrooms", "bag", "0.5", "39"),
    ("黑木耳", "mushrooms", "bag", "0.25", "35"), ("松茸", "mushrooms", "box", "0.5", "298"),
    ("核桃", "nuts", "bag", "1", "45"), ("板栗", "nuts", "bag", "1", "29"),
    ("葡萄干", "dried-fruit", "bag", "0.5", "25"), ("红枣", "dried-fruit", "bag", "1", "39"),
    ("土蜂蜜", "honey", "bottle", "0.5", "88"), ("槐花蜜", "honey", "bottle", "0.5", "68"),
    ("Free-range eggs", "eggs", "box", "1.5", "48"), ("Green tea", "green-tea", "bag", "0.25", "188"),
    ("Wuchang rice", "rice", "bag", "5", "92"),
]
PREFIXES = ["", "农家", "有机", "特级", "精选", "当季", "山区", "合作社", "新鲜", "老树"]
SUFFIXES = ["", " 5斤装", " 10斤装", " 礼盒", " 家庭装"]
DESCRIPTION = "<p>产地直发，当天采摘，坏果包赔。</p>"


def _setup_django(database_url: str, redis_url: str) -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "bench.settings", "DATABASE_URL": database_url,
                       "REDIS_URL": redis_url, "CACHE_KEY_PREFIX": "farmgate-bench"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _reset_catalogue() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        # The bench database is the benchmark's own: empty the shop tables (and what refers to them).
        cursor.execute("TRUNCATE shops_inputapplication, shops_harvestlot, shops_productimage, shops_product, "
                       "shops_shopmember, shops_shop RESTART IDENTITY CASCADE")


def _shops() -> list:
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from shops.models import Shop, Village

    villages = list(Village.objects.all())
    password = make_password(None)  # unusable: nobody signs in as these
    # The owners stay from one run to the next (deleting users would touch every app's tables).
    names = [f"bench-farmer-{i}" for i in range(SHOPS)]
    User.objects.bulk_create([User(username=name, role=User.Role.FARMER, password=password,
                                   email=f"{name}@example.com") for name in names], ignore_conflicts=True)
    by_name = {u.username: u for u in User.objects.filter(username__in=names)}
    owners = [by_name[name] for name in names]
    return Shop.objects.bulk_create([
        Shop(owner=owner, slug=f"bench-shop-{i}", name=f"基准农场 {i}", village=villages[i % len(villages)],
             verification=Shop.Verification.VERIFIED if i % 3 == 0 else Shop.Verification.UNVERIFIED)
        for i, owner in enumerate(owners)])


class Catalogue:
    """Products in bulk; each distinct title's search document is built once."""

    def __init__(self, shops: list):
        from shops import search
        from shops.models import Category

        categories = {c.slug: c for c in Category.objects.select_related("parent")}
        self.shops = shops
        self.rng = random.Random(20261129)
        self.variants = []
        for title, slug, unit, weight, price in BASE_PRODUCTS:
            category = categories[slug]
            extra = [category.name_zh, category.name_en]
            if category.parent:
                extra += [category.parent.name_zh, category.parent.name_en]
            for prefix in PREFIXES:
                for suffix in SUFFIXES:
                    full = f"{prefix}{title}{suffix}".strip()
                    document = search.build_document(title=full, description=DESCRIPTION, extra=extra)
                    self.variants.append((full, category, unit, Decimal(weight), Decimal(price), document))

    def add(self, count: int, batch: int = 5000) -> None:
        from shops.models import Product

        rng = self.rng
        for start in range(0, count, batch):
            rows = []
            for _ in range(min(batch, count - start)):
                title, category, unit, weight, price, document = rng.choice(self.variants)
                first = rng.randint(1, 12)
                rows.append(Product(
                    shop=rng.choice(self.shops), category=category, title=title, description=DESCRIPTION,
                    unit=unit, unit_weight_kg=weight, price=(price * Decimal(rng.randint(80, 125)) / 100).quantize(
                        Decimal("0.01")), stock=rng.choice([0, 5, 20, 100, 500]), min_order=1,
                    season_mask=Product.mask_for_months(range(first, first + rng.randint(2, 5))),
                    organic=rng.random() < 0.1, green_food=rng.random() < 0.1, search_document=document))
            Product.objects.bulk_create(rows)


def _analyze() -> None:
    """VACUUM ANALYZE, as autovacuum soon would: planner statistics, hint bits and the visibility map."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE shops_product")


def _fmt_rate(result: harness.LoadResult) -> str:
    return (f"{result.per_second:8,.0f} req/s   p50 {result.percentile(0.5) * 1000:6.1f} ms"
            f"   p95 {result.percentile(0.95) * 1000:6.1f} ms")


def run(*, seconds: float, connections: int, workers: int, threads: int, rounds: int = 2, small: int = SMALL,
        large: int = LARGE) -> bool:
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS)
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The catalogue benchmark needs PostgreSQL (DATABASE_URL=postgres://...).")
    began = time.perf_counter()
    harness.ensure_database(database_url)
    _setup_django(database_url, redis_url)
    from shops.cache import bump_catalogue_version

    _reset_catalogue()
    catalogue = Catalogue(_shops())
    t0 = time.perf_counter()
    catalogue.add(small)
    _analyze()
    bump_catalogue_version()  # bulk_create skips the services, which bump it themselves
    print(f"Catalogue benchmark: PostgreSQL {database_url.rsplit('/', 1)[-1]} (parallel query off), Redis {redis_url}, "
          f"gunicorn {workers} workers x {threads} threads (gthread), {connections} keep-alive connections "
          f"(at most {max(threads + 1, -(-connections // workers))} on a worker), "
          f"{seconds:g} s per target, API throttling off (one client address); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  {small:,} products created in {time.perf_counter() - t0:.1f} s "
          f"({len(catalogue.variants):,} distinct titles, one search document each)")

    env = harness.django_env(DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_URL=database_url,
                             REDIS_URL=redis_url, CACHE_KEY_PREFIX="farmgate-bench")
    search_q = quote("苹果")
    targets = [
        ("bare view", lambda i: "/bench/bare/"),
        ("product list page, cached", lambda i: "/c/fruit/"),
        ("search API 苹果, cached", lambda i: f"/api/v1/products/?search={search_q}"),
        ("product list page, uncached", lambda i: f"/c/fruit/?n={i}"),
        ("search API 苹果, uncached", lambda i: f"/api/v1/products/?search={search_q}&n={i}"),
    ]
    results: dict[str, harness.LoadResult] = {}
    per_round: dict[str, list[float]] = {}
    with harness.Server(env, workers=workers, threads=threads, clients=connections) as server:
        for _name, path_for in targets:
            # Warm every worker (imports, connections, the cache entry) before any clock starts.
            harness.load(server.port, path_for, seconds=1, connections=connections)
        # Targets take turns, `rounds` times, so that a burst of other work on the machine
        # weighs on all of them alike; each gets `seconds` in all.
        for _round in range(rounds):
            for name, path_for in targets:
                result = harness.load(server.port, path_for, seconds=seconds / rounds, connections=connections)
                results[name] = results[name].merge(result) if name in results else result
                per_round.setdefault(name, []).append(result.per_second)
    for name, result in results.items():
        bad = {s: n for s, n in result.statuses.items() if s != 200}
        note = f"   non-200: {bad}" if bad or result.errors else ""
        rates = ", ".join(f"{r:,.0f}" for r in per_round[name])
        print(f"  {name:30} {result.path[:46]:46} {_fmt_rate(result)}   (rounds: {rates}){note}")
    bare = results["bare view"].per_second
    print("  ratios to the bare view:")
    for name, result in results.items():
        if name != "bare view":
            print(f"    {name:30} {result.per_second / bare:6.1%}")

    t0 = time.perf_counter()
    catalogue.add(large - small)
    _analyze()
    bump_catalogue_version()
    print(f"  {large - small:,} more products created in {time.perf_counter() - t0:.1f} s: {large:,} in all")
    latency = {}
    with harness.Server(env, workers=workers, threads=threads) as server:
        for name, path_for in [
            ("search API 苹果", lambda i: f"/api/v1/products/?search={search_q}&n={i}"),
            ("search page 苹果 (facets)", lambda i: f"/search/?q={search_q}&n={i}"),
            ("search API pingguo", lambda i: f"/api/v1/products/?search=pingguo&n={i}"),
            ("search API apple (typo: aple)", lambda i: f"/api/v1/products/?search=aple&n={i}"),
            (f"search API {RARE_WORD}", lambda i: f"/api/v1/products/?search={quote(RARE_WORD)}&n={i}"),
        ]:
            harness.load(server.port, path_for, seconds=1.5, connections=1)
            result = harness.load(server.port, path_for, seconds=seconds / 2, connections=1)
            latency[name] = result
            bad = {s: n for s, n in result.statuses.items() if s != 200}
            print(f"  {name:30} uncached, 1 connection: p50 {result.percentile(0.5) * 1000:6.1f} ms"
                  f"   p95 {result.percentile(0.95) * 1000:6.1f} ms   ({len(result.latencies)} requests)"
                  + (f"   non-200: {bad}" if bad else ""))

    list_ratio = results["product list page, cached"].per_second / bare
    search_p95 = latency["search API 苹果"].percentile(0.95) * 1000
    rare_p95 = latency[f"search API {RARE_WORD}"].percentile(0.95) * 1000
    list_ok, search_ok = list_ratio >= LIST_TARGET, search_p95 < SEARCH_P95_TARGET_MS
    rare_ok = rare_p95 < RARE_SEARCH_P95_TARGET_MS
    print(f"  target: cached list page >= {LIST_TARGET:.0%} of the bare view: {list_ratio:.1%} "
          f"{'OK' if list_ok else 'MISSED'}")
    print(f"  target: search p95 < {SEARCH_P95_TARGET_MS} ms with {large:,} products: {search_p95:.1f} ms "
          f"{'OK' if search_ok else 'MISSED'}")
    print(f"  target: search p95 < {RARE_SEARCH_P95_TARGET_MS} ms for {RARE_WORD} (under 500 matches): "
          f"{rare_p95:.1f} ms {'OK' if rare_ok else 'MISSED'}")
    print(f"  catalogue benchmark took {time.perf_counter() - began:.0f} s")
    return list_ok and search_ok and rare_ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    cores = os.cpu_count() or 1
    # One thread per worker: Python threads would queue on the interpreter lock; cores + 1
    # processes keep the cores busy while one waits on PostgreSQL or Redis.
    parser.add_argument("--workers", type=int, default=cores + 1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--connections", type=int, default=2 * (cores + 1))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", type=int, default=SMALL)
    parser.add_argument("--large", type=int, default=LARGE)
    args = parser.parse_args(argv)
    ok = run(seconds=args.seconds, connections=args.connections, workers=args.workers, threads=args.threads,
             rounds=args.rounds, small=args.small, large=args.large)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
