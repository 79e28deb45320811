"""Trace page benchmark: queries and latency of /t/<code> for a lot with 50 trace records and 10,000 readings.

    .venv/bin/python bench/trace.py [--seconds 10] [--connections 4] [--workers 2] [--threads 4]

PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/farmgate_bench, created if missing)
and Redis (REDIS_URL, default db 12) behind gunicorn on a free loopback port, with bench.settings.
The lot is made once through the real flows (recorded with inputs, sold, packed, received, shipped in a
truck whose sensor sent 10,000 readings, delivered, then inspected until its chain holds 50 records) and
found again on later runs. Measured:
1. SQL queries of the page, its JSON twin and its EPCIS export (in-process, test client);
2. latency of the page on one connection (p50/p95), then requests/s on several.
Targets: the page's queries are the same for this lot as for a lot with 5 records (5 at most, 4 once the
chart's points are cached), p95 < 100 ms.
"""
import argparse
import os
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/farmgate_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
RECORDS, READINGS = 50, 10_000
MAX_QUERIES = 5
P95_TARGET_MS = 100
PLOT = "基准地块 bench-trace"


def _setup_django(database_url: str, redis_url: str) -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "bench.settings", "DATABASE_URL": database_url,
                       "REDIS_URL": redis_url, "CACHE_KEY_PREFIX": "farmgate-bench-trace"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _user(username: str, role: str, **extra):
    from accounts.models import User

    user, _ = User.objects.get_or_create(username=username, defaults={"role": role, **extra})
    return user


def _make_lot(suffix: str, *, full: bool, readings: int):
    """Through the services: full, a lot with an input, delivered, then inspected up to 50 records;
    else a lot with no input shipped without a cold store stop (5 records). Its truck sensor has `readings`."""
    from django.utils import timezone

    from accounts.models import Address, User
    from logistics import services as logistics
    from logistics.models import Station
    from monitoring import services as monitoring
    from monitoring.models import Sensor
    from orders import services as orders
    from orders.models import Order
    from shops import services as shops
    from shops.models import Category, Village
    from traceability import services as trace
    from traceability.models import TraceEvent

    staff = _user("bench-trace-staff", User.Role.STAFF, is_staff=True)
    farmer = _user(f"bench-trace-farmer-{suffix}", User.Role.FARMER)
    buyer = _user(f"bench-trace-buyer-{suffix}", User.Role.BUYER)
    agent_user = _user(f"bench-trace-agent-{suffix}", User.Role.BUYER)
    village, _ = Village.objects.get_or_create(name=f"追溯村{suffix}", township="基准镇", county="基准县",
                                               city="基准市", province="山东省")
    category, _ = Category.objects.get_or_create(slug="bench-trace", defaults={"name_zh": "基准", "name_en": "Bench"})
    shop = shops.create_shop(owner=farmer, name=f"Bench trace farm {suffix}", village=village)
    product = shops.create_product(shop=shop, actor=farmer, category=category, title="栖霞红富士苹果",
                                   unit="box", unit_weight_kg=Decimal("5"), price=Decimal("68.00"), stock=100,
                                   cold_chain=full, green_food=True)
    harvest = timezone.localdate() - timedelta(days=3)
    lot = shops.record_lot(product=product, actor=farmer, harvested_on=harvest, quantity=200, plot=PLOT)
    if full:
        shops.add_input_application(lot=lot, actor=farmer, kind="fertiliser", product_name="有机肥",
                                    applied_on=harvest - timedelta(days=60), dose="200 kg/亩")
    # The catalogue part empties the shop tables, not the stations: a station from an earlier run is reused.
    station = (Station.objects.filter(name=f"追溯村服务站{suffix}").first()
               or logistics.create_station(actor=staff, name=f"追溯村服务站{suffix}", villages=[village],
                                           cold_store=True))
    logistics.appoint_agent(actor=staff, station=station, user=agent_user)
    agent_user.refresh_from_db()  # now an agent
    address = Address.objects.filter(user=buyer).first() or Address.objects.create(
        user=buyer, name="买家", phone="13800138000", province="上海市", city="上海市", line="某路 1 号",
        is_default=True)
    cart = orders.open_cart(user=buyer)
    orders.add_to_cart(cart=cart, product=product, quantity=2)
    order = orders.place_order(buyer=buyer, address=address, payment_method=Order.PaymentMethod.COD)
    part = orders.accept_shop_order(shop_order=order.shop_orders.get(), actor=farmer)
    logistics.pack_shop_order(shop_order=part, actor=farmer, lots={part.lines.get().pk: lot})
    parcel = logistics.hand_over_shop_order(shop_order=part, actor=farmer)
    logistics.receive_parcel(actor=agent_user, code=parcel.code)
    shipment = logistics.create_shipment(actor=agent_user, destination="上海市", carrier="顺丰速运")
    logistics.add_parcels_to_shipment(shipment=shipment, actor=agent_user, codes=[parcel.code])
    sensor, _key = monitoring.create_sensor(user=agent_user, name="车厢温度 Truck", kind=Sensor.Kind.STORE_TEMPERATURE,
                                            unit=Sensor.Unit.CELSIUS, attached_kind="shipment",
                                            attached_id=shipment.pk, min_value=Decimal("0"), max_value=Decimal("8"))
    end = timezone.now()
    rows = [(end - timedelta(minutes=readings - i), 4 + (i % 60) / 20) for i in range(readings)]
    for first in range(0, len(rows), monitoring.MAX_BATCH):
        monitoring.store_readings(sensor=sensor, rows=rows[first:first + monitoring.MAX_BATCH])
    logistics.record_shipment_event(shipment=shipment, actor=agent_user, kind="departed")
    if not full:
        return lot
    for kind in ("arrived", "out_for_delivery"):
        logistics.record_shipment_event(shipment=shipment, actor=agent_user, kind=kind, location="上海转运中心")
    parcel.refresh_from_db()
    logistics.deliver_parcel(parcel=parcel, actor=agent_user, code=parcel.delivery_code, cash_collected=True)
    n = 0
    while TraceEvent.objects.filter(lot=lot).count() < RECORDS:
        trace.record_inspection(lot=lot, actor=staff, passed=True, note=f"抽检 {n}")
        n += 1
    return lot


def _lot_code(suffix: str, *, full: bool, readings: int) -> str:
    from django.db import transaction

    from shops.models import HarvestLot

    lot = HarvestLot.objects.filter(plot=PLOT, product__shop__name=f"Bench trace farm {suffix}").first()
    if lot is None:
        with transaction.atomic():  # all or nothing, so a failed run leaves no half-made lot to be found again
            lot = _make_lot(suffix, full=full, readings=readings)
    return lot.code


def _prepare() -> tuple[str, str]:
    """The codes of the big lot (50 records, 10,000 readings) and of a small one (5 records), made once.

    The small lot's truck has a sensor too, so both pages draw a chart and their query counts compare.
    """
    return _lot_code("big", full=True, readings=READINGS), _lot_code("small", full=False, readings=20)


def _queries(paths: list[str]) -> list[tuple[int, int]]:
    """(queries with an empty cache, queries once the chart points are cached) for each path."""
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    counts = []
    for path in paths:
        client.get(path)  # the first request of a kind warms lazy imports
        pair = []
        for clear in (True, False):
            if clear:
                cache.clear()  # Redis db 12 is this benchmark's own
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
            pair.append(len(ctx))
        counts.append(tuple(pair))
    return counts


def run(*, seconds: float = 10, connections: int = 4, workers: int = 2, threads: int = 4) -> bool:
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS)
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The trace benchmark needs PostgreSQL (DATABASE_URL=postgres://...).")
    harness.ensure_database(database_url)
    _setup_django(database_url, redis_url)
    big, small = _prepare()
    from monitoring.models import Reading
    from traceability.models import TraceEvent

    records = TraceEvent.objects.filter(lot__code=big).count()
    readings = Reading.objects.filter(sensor__shipment__parcels__lots__code=big).count()
    small_records = TraceEvent.objects.filter(lot__code=small).count()
    print(f"Trace benchmark: PostgreSQL {database_url.rsplit('/', 1)[-1]}, Redis {redis_url}, gunicorn {workers} "
          f"workers x {threads} threads; lot {big}: {records} records, {readings:,} readings; "
          f"lot {small}: {small_records} records")
    kinds = ["/t/{}", "/api/v1/trace/{}/", "/api/v1/trace/{}/epcis/"]
    big_counts = _queries([k.format(big) for k in kinds])
    small_counts = _queries([k.format(small) for k in kinds])
    for kind, (b, b_cached), (s, s_cached) in zip(kinds, big_counts, small_counts, strict=True):
        print(f"  queries {kind.format('<code>'):28} {s} for {small_records} records, {b} for {records} records"
              f" ({s_cached} and {b_cached} with the chart cached)")
    env = harness.django_env(DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_URL=database_url,
                             REDIS_URL=redis_url, CACHE_KEY_PREFIX="farmgate-bench-trace")
    page = f"/t/{big}"
    with harness.Server(env, workers=workers, threads=threads) as server:
        harness.load(server.port, lambda i: page, seconds=2, connections=connections)  # warm every worker
        one = harness.load(server.port, lambda i: page, seconds=seconds, connections=1)
        many = harness.load(server.port, lambda i: page, seconds=seconds, connections=connections)
        status, body = harness.request(server.port, page)
    p50, p95 = one.percentile(0.5) * 1000, one.percentile(0.95) * 1000
    print(f"  page on 1 connection: {one.requests} requests, p50 {p50:.1f} ms, p95 {p95:.1f} ms, errors {one.errors}")
    print(f"  page on {connections} connections: {many.per_second:.0f} requests/s, p95 "
          f"{many.percentile(0.95) * 1000:.1f} ms, statuses {many.statuses}; page {len(body):,} bytes (gzip)")
    ok = (big_counts == small_counts and max(big_counts[0]) <= MAX_QUERIES and p95 < P95_TARGET_MS
          and status == 200 and one.errors == 0 and set(many.statuses) == {200})
    print(f"  targets: same queries for {small_records} and {records} records, page <= {MAX_QUERIES} queries, "
          f"p95 < {P95_TARGET_MS} ms: {'OK' if ok else 'MISSED'}")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    ok = run(seconds=args.seconds, connections=args.connections, workers=args.workers, threads=args.threads)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
