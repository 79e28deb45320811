"""Readings at scale: a 30-day chart and ingestion speed with 50 million readings of history.

    .venv/bin/python bench/readings.py [--rows 50000000] [--sensors N] [--batches 200] [--threads 4]
    BENCH_READINGS_ROWS=2000000 .venv/bin/python bench/readings.py      # a quick run

PostgreSQL only (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/farmgate_bench_readings, a database
of its own, created if missing and migrated: `monitoring_reading` partitioned by month). The history is
`--rows` readings of `--sensors` sensors, one a minute per sensor and ending now (50 M over 100 sensors is
347 days, inside the 400-day retention), generated in the database with generate_series, one INSERT per
month partition, then folded into the hourly rollups by monitoring.services.rebuild_hourly_rollups. A run
that finds the same history in the database reuses it; another row count empties the readings tables first.

Targets, each printed OK or MISSED (exit status 1 on a miss):
- the 30-day chart of one sensor (monitoring.selectors.chart_for_sensor(sensor, "month"), the sensor page's
  query) answers in under 50 ms (95th percentile over sensors, warm);
- ingestion through the real ingestion service (monitoring.services.record_readings, which HTTP and MQTT
  call: validation, de-duplication, the insert, the hourly rollups, alerts) keeps at least 5,000 readings/s
  with that history in the table: `--batches` batches of 1,000 readings of history sensors (in the last
  weeks, between their minute readings), from `--threads` threads, each with its own connection.
"""
import argparse
import os
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/farmgate_bench_readings"
DEFAULT_ROWS = 50_000_000
CHART_TARGET_MS = 50
INGEST_TARGET = 5000
SHOP_SLUG = "bench-readings-farm"


def _setup_django(database_url: str) -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "bench.settings", "DATABASE_URL": database_url,
                       "CELERY_TASK_ALWAYS_EAGER": "1"})
    os.environ.pop("REDIS_URL", None)  # nothing here needs Redis: tasks and cache stay in-process
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _sensors(count: int):
    """The bench shop's sensors, made if missing (thresholds wide enough that no reading opens an alert)."""
    from accounts.models import User
    from monitoring import services
    from monitoring.models import Sensor
    from shops.models import Shop, Village

    user, _ = User.objects.get_or_create(username="bench-readings-farmer", defaults={"role": User.Role.FARMER})
    village, _ = Village.objects.get_or_create(name="读数村", township="读数镇", county="读数县", city="读数市",
                                               province="山东省")
    shop, _ = Shop.objects.get_or_create(slug=SHOP_SLUG, defaults={"owner": user, "name": "Bench readings farm",
                                                                   "village": village})
    sensors = list(Sensor.objects.filter(shop=shop).order_by("pk"))
    for i in range(len(sensors), count):
        sensor, _key = services.create_sensor(user=user, name=f"reading bench {i}", kind="air_temperature",
                                              unit="°C", attached_kind="plot", attached_id=shop.pk,
                                              plot=f"plot {i}", min_value=-100, max_value=100)
        sensors.append(sensor)
    return sensors[:count]


def _history(sensors, rows: int) -> tuple[datetime, datetime, bool]:
    """`rows` readings, one a minute per sensor, ending at the last whole minute; reused when already there."""
    from django.db import connection

    from monitoring import partitions
    from monitoring.models import Reading, ReadingHourly

    per_sensor = rows // len(sensors)
    ids = [s.pk for s in sensors]
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*), MIN(time), MAX(time) FROM monitoring_reading WHERE sensor_id = ANY(%s)",
                       [ids])
        found, first, last = cursor.fetchone()
    if found == per_sensor * len(sensors) and Reading.objects.exclude(sensor_id__in=ids).count() == 0:
        return first, last, True
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    start = end - timedelta(minutes=per_sensor - 1)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE monitoring_reading, monitoring_readinghourly")
        cursor.execute("UPDATE monitoring_sensor SET last_reading_at = NULL, last_value = NULL")
    month = partitions.month_start(start)
    t0 = time.perf_counter()
    while month <= end:
        inserted = _load_month(ids, month, max(month, start), min(partitions.next_month(month) - timedelta(minutes=1),
                                                                  end))
        print(f"    {month:%Y-%m}: {inserted:,} readings and their hourly rollups "
              f"({time.perf_counter() - t0:,.0f} s so far)", flush=True)
        month = partitions.next_month(month)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE monitoring_sensor SET last_reading_at = %s WHERE id = ANY(%s)", [end, ids])
        cursor.execute("ANALYZE monitoring_reading")
        cursor.execute("ANALYZE monitoring_readinghourly")
    assert ReadingHourly.objects.filter(sensor_id__in=ids).exists()
    return start, end, False


def _load_month(ids: list[int], month: datetime, lo: datetime, hi: datetime) -> int:
    """One month of history, loaded as a bulk load is: into a plain table, indexed once full, then attached
    as the month's partition (PostgreSQL adopts its matching indexes). Sensor by sensor, a reading a minute,
    a daily cycle plus noise; then the month's hourly rollups."""
    from django.db import connection, transaction

    from monitoring import partitions, services

    name, table = partitions.partition_name(month), partitions.TABLE
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        if month in partitions.month_partitions():
            cursor.execute(f"ALTER TABLE {table} DETACH PARTITION {name}")
            cursor.execute(f"DROP TABLE {name}")
        cursor.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)")
        cursor.execute(f"""
            INSERT INTO {name} (sensor_id, time, value)
            SELECT s.id, t, round((15 + 8 * sin(extract(epoch FROM t) / 13750.99) + random())::numeric, 2)
            FROM unnest(%s::bigint[]) AS s(id)
            CROSS JOIN generate_series(%s::timestamptz, %s::timestamptz, interval '1 minute') AS t
            ORDER BY s.id, t
        """, [ids, lo, hi])  # noqa: S608 (our table name)
        inserted = cursor.rowcount
        cursor.execute(f"ALTER TABLE {name} ADD PRIMARY KEY (id, time)")
        cursor.execute(f"ALTER TABLE {name} ADD UNIQUE (sensor_id, time)")
        cursor.execute(connection.ops.compose_sql(  # DDL takes no bound parameters: merged here
            f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)",
            [month, partitions.next_month(month)]))
    services.rebuild_hourly_rollups(start=lo, end=hi)
    return inserted


def _time_charts(sensors, rounds: int = 3) -> list[float]:
    from monitoring import selectors

    for sensor in sensors:  # warm: the first query of a sensor may read its pages from disk
        selectors.chart_for_sensor(sensor, "month")
    timings = []
    for _ in range(rounds):
        for sensor in sensors:
            t0 = time.perf_counter()
            points = selectors.chart_for_sensor(sensor, "month")
            timings.append((time.perf_counter() - t0) * 1000)
            assert 200 <= len(points) <= selectors.MAX_CHART_POINTS, len(points)
    return timings


def _time_raw_chart(sensor) -> float:
    """The same chart from the raw readings, for comparison (what the rollups save)."""
    from django.utils import timezone

    from monitoring import selectors

    end = timezone.now()
    selectors.downsample(sensor.readings.all(), end - timedelta(days=30), end)
    t0 = time.perf_counter()
    selectors.downsample(sensor.readings.all(), end - timedelta(days=30), end)
    return (time.perf_counter() - t0) * 1000


def _payloads(sensors, batches: int, last: datetime) -> tuple[list[tuple[object, dict]], datetime]:
    """Batches of 1,000 readings of the history's sensors at :30 s, between their minute readings, ending by
    the history's last minute; built before the clock starts, in the JSON shape devices send. Returns them
    and the time of the first reading."""
    per_sensor = -(-batches // len(sensors))
    start = last - timedelta(minutes=per_sensor * 1000) + timedelta(seconds=30)
    out = []
    offset = {s.pk: 0 for s in sensors}
    for b in range(batches):
        sensor = sensors[b % len(sensors)]
        first = offset[sensor.pk]
        offset[sensor.pk] += 1000
        out.append((sensor, {"readings": [
            {"time": (start + timedelta(minutes=first + i)).isoformat(), "value": 18 + (i % 40) / 10}
            for i in range(1000)]}))
    return out, start


def _ingest(payloads, threads: int) -> tuple[float, int, int]:
    from django.db import connection

    from monitoring import services

    queue = list(payloads)
    lock = threading.Lock()
    totals = {"accepted": 0, "duplicates": 0}

    def worker():
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    sensor, payload = queue.pop(0)
                result = services.record_readings(sensor=sensor, payload=payload)
                with lock:
                    totals["accepted"] += result.accepted
                    totals["duplicates"] += result.duplicates
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    t0 = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.perf_counter() - t0, totals["accepted"], totals["duplicates"]


def run(*, rows: int, sensors_count: int, batches: int, threads: int) -> bool:
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE)
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The readings benchmark needs PostgreSQL (DATABASE_URL=postgres://...).")
    harness.ensure_database(database_url)
    _setup_django(database_url)
    from django.db import connection

    from monitoring import partitions
    from monitoring.models import Reading, ReadingHourly

    print(f"Readings benchmark: PostgreSQL {database_url.rsplit('/', 1)[-1]}, {rows:,} readings of history from "
          f"{sensors_count} sensors (one a minute each), {batches} ingest batches of 1,000 from {threads} threads",
          flush=True)
    sensors = _sensors(sensors_count)
    t0 = time.perf_counter()
    first, last, reused = _history(sensors, rows)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_total_relation_size('monitoring_reading') + COALESCE(("
                       "SELECT SUM(pg_total_relation_size(inhrelid)) FROM pg_inherits "
                       "WHERE inhparent = 'monitoring_reading'::regclass), 0)")
        size = cursor.fetchone()[0]
    total = rows // sensors_count * sensors_count
    print(f"  history: {total:,} readings from {first:%Y-%m-%d} to {last:%Y-%m-%d %H:%M} UTC in "
          f"{len(partitions.month_partitions())} month partitions, {size / 2**30:.1f} GiB; "
          f"{ReadingHourly.objects.count():,} hourly rollups; "
          + ("reused from the last run" if reused else f"generated in {time.perf_counter() - t0:,.0f} s"),
          flush=True)

    timings = _time_charts(sensors)
    p50, p95 = statistics.median(timings), sorted(timings)[int(len(timings) * 0.95) - 1]
    raw = _time_raw_chart(sensors[0])
    chart_ok = p95 < CHART_TARGET_MS
    print(f"  30-day chart of one sensor (rollups): {len(timings)} charts, p50 {p50:.1f} ms, p95 {p95:.1f} ms, "
          f"max {max(timings):.1f} ms (from the raw readings instead: {raw:.0f} ms)")
    print(f"  target: 30-day chart < {CHART_TARGET_MS} ms: {'OK' if chart_ok else 'MISSED'}", flush=True)

    ids = [s.pk for s in sensors]
    payloads, since = _payloads(sensors, batches, last)
    if since < first:
        raise SystemExit("Too little history for the ingest batches: more rows or more sensors, please.")
    before = Reading.objects.filter(sensor_id__in=ids, time__gte=since).count()
    elapsed, accepted, duplicates = _ingest(payloads, threads)
    after = Reading.objects.filter(sensor_id__in=ids, time__gte=since).count()
    rate = accepted / elapsed
    stored_ok = accepted == batches * 1000 and duplicates == 0 and after - before == accepted
    ingest_ok = rate >= INGEST_TARGET and stored_ok
    print(f"  ingestion (monitoring.services.record_readings): {accepted:,} readings accepted in {elapsed:.1f} s: "
          f"{rate:,.0f} readings/s; {after - before:,} rows stored, {duplicates} duplicates"
          + ("" if stored_ok else " (MISMATCH)"))
    print(f"  target: ingestion >= {INGEST_TARGET:,} readings/s: {'OK' if ingest_ok else 'MISSED'}", flush=True)
    _forget_ingested(ids, since, last)
    return chart_ok and ingest_ok


def _forget_ingested(ids: list[int], since: datetime, last: datetime) -> None:
    """Take the ingested readings (the ones at :30 s) out again, so the next run finds the history as made."""
    from monitoring import services
    from monitoring.models import Reading

    Reading.objects.filter(sensor_id__in=ids, time__gte=since, time__second=30).delete()
    services.rebuild_hourly_rollups(start=since, end=last, sensor_ids=ids)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=int(os.environ.get("BENCH_READINGS_ROWS", DEFAULT_ROWS)),
                        help="readings of history (default 50,000,000, or BENCH_READINGS_ROWS)")
    parser.add_argument("--sensors", type=int, default=0,
                        help="sensors of the history (default: one per 500,000 readings, 100 for 50 M)")
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    sensors = args.sensors or max(1, min(100, args.rows // 500_000))
    ok = run(rows=args.rows, sensors_count=sensors, batches=args.batches, threads=args.threads)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
