"""Ledger benchmark: a payout run over 10,000 shops and 1,000,000 entries, and a seller's balance page.

    .venv/bin/python bench/ledger.py [--requests 300]
    LEDGER_BENCH_SHOPS=500 LEDGER_BENCH_ENTRIES=20000 .venv/bin/python bench/ledger.py     (a quick run)

PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/farmgate_bench_ledger, a database of its
own, created if missing) and Redis (REDIS_URL, default db 13), with bench.settings. The shops, their payout
accounts and the entries are written once with SQL (generate_series: sales straight to each shop's available
balance, two lines each, and the balance rows that sum them) and found again on later runs; before each run
every shop gets one more sale so that all of them have money to pay. Measured:
1. ledger.services.run_payouts over every shop (the weekly job): seconds, payouts made;
2. the seller balance page /seller/money/ of one shop, signed in, behind gunicorn on one keep-alive
   connection: p50/p95 over --requests requests after a warm-up;
3. for information, manage.py check_ledger's reconciliation over the whole journal.
Targets: the payout run under 60 s; the balance page p95 under 50 ms. Exit 1 when a target is missed.
"""
import argparse
import http.client
import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/farmgate_bench_ledger"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
SHOPS = int(os.environ.get("LEDGER_BENCH_SHOPS", "10000"))
ENTRIES = int(os.environ.get("LEDGER_BENCH_ENTRIES", "1000000"))
RUN_TARGET_S = 60
P95_TARGET_MS = 50
PREFIX = "bench-ledger-"


def _setup_django(database_url: str, redis_url: str) -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "bench.settings", "DATABASE_URL": database_url,
                       "REDIS_URL": redis_url, "CACHE_KEY_PREFIX": "farmgate-bench-ledger"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _add_sales(cursor, run: str, count: int, shops: int) -> None:
    """`count` sales spread over the bench shops (one entry, two balanced lines each) and their balances."""
    cursor.execute("""
        WITH shops AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM shops_shop WHERE slug LIKE %s)
        INSERT INTO ledger_journalentry (kind, key, created_at, memo, shop_id, shop_amount)
        SELECT 'sale', %s || g, now(), 'bench sale', s.id, ((g::bigint * 7919) %% 5000) / 100.0 + 10.01
        FROM generate_series(1, %s) g JOIN shops s ON s.n = g %% %s""",
                   [PREFIX + "%", f"bench:{run}:", count, shops])
    cursor.execute("""
        INSERT INTO ledger_journalline (entry_id, account_id, amount)
        SELECT e.id, a.id, -e.shop_amount FROM ledger_journalentry e
        JOIN ledger_account a ON a.code = 'shop:' || e.shop_id || ':available' WHERE e.key LIKE %s
        UNION ALL
        SELECT e.id, (SELECT id FROM ledger_account WHERE code = 'buyer_funds'), e.shop_amount
        FROM ledger_journalentry e WHERE e.key LIKE %s""", [f"bench:{run}:%", f"bench:{run}:%"])
    cursor.execute("""
        INSERT INTO ledger_shopbalance (shop_id, pending, available, scheduled, paid_out, updated_at)
        SELECT shop_id, 0, sum(shop_amount), 0, 0, now() FROM ledger_journalentry WHERE key LIKE %s GROUP BY shop_id
        ON CONFLICT (shop_id) DO UPDATE SET available = ledger_shopbalance.available + EXCLUDED.available""",
                   [f"bench:{run}:%"])


def _ensure_data() -> tuple[float, int]:
    """The shops, accounts, payout accounts and entries (made once); every shop topped up for this run."""
    from django.db import connection, transaction

    from accounts.models import User
    from ledger.models import JournalEntry
    from ledger.postings import accounts_for
    from shops.models import Shop, Village

    started = time.perf_counter()
    have = Shop.objects.filter(slug__startswith=PREFIX).count()
    with transaction.atomic():
        if have < SHOPS:
            village, _ = Village.objects.get_or_create(name="结算村", township="基准镇", county="基准县",
                                                       city="基准市", province="山东省")
            users = User.objects.bulk_create([
                User(username=f"{PREFIX}farmer-{i}", role=User.Role.FARMER, password="!")
                for i in range(have, SHOPS)], batch_size=2000)
            Shop.objects.bulk_create([Shop(owner=u, slug=f"{PREFIX}{have + i}", name=f"结算农场 {have + i}",
                                           village=village) for i, u in enumerate(users)], batch_size=2000)
        accounts_for(["buyer_funds"])
        with connection.cursor() as cursor:
            cursor.execute("""
                INSERT INTO ledger_account (code, kind, shop_id)
                SELECT 'shop:' || s.id || ':' || v.which, v.kind, s.id FROM shops_shop s
                CROSS JOIN (VALUES ('pending', 'shop_pending'), ('available', 'shop_available'),
                                   ('payouts', 'shop_payouts')) AS v(which, kind)
                WHERE s.slug LIKE %s ON CONFLICT (code) DO NOTHING""", [PREFIX + "%"])
            cursor.execute("""
                INSERT INTO ledger_payoutaccount (shop_id, holder, bank, account_number, updated_at)
                SELECT id, name, '中国农业银行', '62284800' || lpad(id::text, 10, '0'), now() FROM shops_shop
                WHERE slug LIKE %s ON CONFLICT (shop_id) DO NOTHING""", [PREFIX + "%"])
            existing = JournalEntry.objects.filter(key__startswith="bench:").count()
            if existing < ENTRIES:
                _add_sales(cursor, f"base{existing}", ENTRIES - existing, SHOPS)
            _add_sales(cursor, f"top-{uuid.uuid4().hex[:8]}", SHOPS, SHOPS)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started, JournalEntry.objects.count()


def _session_cookie(user) -> str:
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    session = import_module(settings.SESSION_ENGINE).SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]  # the one that loads users
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def _balance_page(shop, requests: int, database_url: str, redis_url: str) -> tuple[float, float, dict]:
    cookie = _session_cookie(shop.owner)
    env = harness.django_env(DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_URL=database_url, REDIS_URL=redis_url,
                             CACHE_KEY_PREFIX="farmgate-bench-ledger", ROOT_URLCONF="config.urls")
    path = f"/seller/money/?shop={shop.slug}"
    with harness.Server(env, workers=1, threads=2) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        headers = {**harness.HEADERS, "Cookie": cookie}
        latencies, statuses = [], {}
        for i in range(requests + 20):
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            if i >= 20:  # the first requests warm the process up
                latencies.append(time.perf_counter() - started)
                statuses[response.status] = statuses.get(response.status, 0) + 1
        conn.close()
    latencies.sort()
    pick = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000  # noqa: E731
    return pick(0.50), pick(0.95), statuses


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    harness.ensure_database(database_url)
    _setup_django(database_url, redis_url)

    from ledger import reconcile, services
    from shops.models import Shop

    seconds, entries = _ensure_data()
    print(f"data: {SHOPS} shops, {entries} entries in the journal (setup {seconds:.1f} s)", flush=True)

    started = time.perf_counter()
    batch, made = services.run_payouts(period=f"bench-{uuid.uuid4().hex[:10]}")
    run_s = time.perf_counter() - started
    run_ok = run_s < RUN_TARGET_S and made >= SHOPS
    print(f"payout run: {made} payouts in batch {batch.period} in {run_s:.1f} s; "
          f"target < {RUN_TARGET_S} s for {SHOPS} shops: {'OK' if run_ok else 'MISSED'}", flush=True)

    started = time.perf_counter()
    problems = reconcile.check()
    print(f"check_ledger: {len(problems)} problem(s) in {time.perf_counter() - started:.1f} s (no target)",
          flush=True)
    for problem in problems[:5]:
        print(f"  {problem}")

    shop = Shop.objects.filter(slug__startswith=PREFIX).select_related("owner").order_by("pk").first()
    p50, p95, statuses = _balance_page(shop, args.requests, database_url, redis_url)
    page_ok = p95 < P95_TARGET_MS and set(statuses) == {200}
    print(f"balance page /seller/money/ ({shop.slug}): statuses {statuses}, p50 {p50:.1f} ms, p95 {p95:.1f} ms; "
          f"target p95 < {P95_TARGET_MS} ms: {'OK' if page_ok else 'MISSED'}", flush=True)
    return 0 if run_ok and page_ok and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
