"""Sensor ingestion benchmark: readings per second accepted by POST /api/v1/readings/.

    .venv/bin/python bench/ingest.py [--batches 200] [--sensors 20] [--connections 4] [--workers 4] [--threads 2]

PostgreSQL (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/farmgate_bench, created if
missing) and Redis (REDIS_URL, default db 10: the per-sensor throttle) behind gunicorn on a free
loopback port, with bench.settings. Every request carries 1,000 readings of one of many sensors,
as a fleet would send them; all bodies are built before the clock starts. Target: 5,000 readings/s.
"""
import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness  # noqa: E402

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/farmgate_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/10"
TARGET = 5000


def _setup_django(database_url: str, redis_url: str) -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "bench.settings", "DATABASE_URL": database_url,
                       "REDIS_URL": redis_url, "CACHE_KEY_PREFIX": "farmgate-bench-ingest"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _prepare(sensor_count: int) -> list[tuple[int, str]]:
    """A farmer, a shop and fresh sensors; returns (sensor id, device key) pairs."""
    from accounts.models import User
    from monitoring import services
    from monitoring.models import Sensor
    from shops.models import Shop, Village

    user, _ = User.objects.get_or_create(username="bench-ingest-farmer", defaults={"role": User.Role.FARMER})
    village, _ = Village.objects.get_or_create(name="基准村", township="基准镇", county="基准县", city="基准市",
                                               province="山东省")
    shop, _ = Shop.objects.get_or_create(slug="bench-ingest-farm", defaults={"owner": user, "name": "Bench farm",
                                                                       "village": village})
    Sensor.objects.filter(shop=shop).delete()  # a fresh start: no readings left from the last run
    sensors = []
    for i in range(sensor_count):
        sensor, key = services.create_sensor(user=user, name=f"bench {i}", kind="air_temperature", unit="°C",
                                             attached_kind="plot", attached_id=shop.pk, plot=f"plot {i}",
                                             min_value=-40, max_value=60)
        sensors.append((sensor.pk, key))
    return sensors


def _bodies(sensors, batches: int, size: int) -> list[tuple[str, bytes]]:
    """Every request body built before the clock starts: (key, JSON), readings one second apart per sensor."""
    start = datetime.now(UTC) - timedelta(days=20)
    offsets = {pk: 0 for pk, _ in sensors}
    out = []
    for b in range(batches):
        pk, key = sensors[b % len(sensors)]
        first = offsets[pk]
        offsets[pk] += size
        rows = [{"time": (start + timedelta(seconds=first + i)).isoformat(), "value": 20 + (i % 50) / 10}
                for i in range(size)]
        out.append((key, json.dumps({"readings": rows}).encode()))
    return out


def _post_all(port: int, bodies, clients: int):
    queue = list(enumerate(bodies))
    lock = threading.Lock()
    latencies, statuses, accepted = [], {}, [0]

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not queue:
                    break
                _i, (key, body) = queue.pop(0)
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/readings/", body=body,
                         headers={"Authorization": f"Device {key}", "Content-Type": "application/json"})
            response = conn.getresponse()
            data = response.read()
            elapsed = time.perf_counter() - t0
            with lock:
                latencies.append(elapsed)
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if response.status == 201:
                    accepted[0] += json.loads(data)["accepted"]
            if response.getheader("Connection", "").lower() == "close":
                conn.close()
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, accepted[0], latencies, statuses


def run(*, batches: int = 200, sensors: int = 20, connections: int = 4, workers: int = 4, threads: int = 2,
        size: int = 1000) -> bool:
    database_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE)
    redis_url = os.environ.get("REDIS_URL", DEFAULT_REDIS)
    if not database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The ingestion benchmark needs PostgreSQL (DATABASE_URL=postgres://...).")
    harness.ensure_database(database_url)
    _setup_django(database_url, redis_url)
    pairs = _prepare(sensors)
    warmup_count = workers * threads * 2
    all_bodies = _bodies(pairs, warmup_count + batches, size)
    warmup, bodies = all_bodies[:warmup_count], all_bodies[warmup_count:]
    env = harness.django_env(DJANGO_SETTINGS_MODULE="bench.settings", DATABASE_URL=database_url,
                             REDIS_URL=redis_url, CACHE_KEY_PREFIX="farmgate-bench-ingest")
    print(f"Ingestion benchmark: PostgreSQL {database_url.rsplit('/', 1)[-1]}, Redis {redis_url}, "
          f"gunicorn {workers} workers x {threads} threads, {connections} connections, "
          f"{batches} batches of {size} readings from {sensors} sensors")
    with harness.Server(env, workers=workers, threads=threads) as server:
        _post_all(server.port, warmup, connections)  # every worker connects and warms up first
        elapsed, accepted, latencies, statuses = _post_all(server.port, bodies, connections)
    from monitoring.models import Reading

    stored = Reading.objects.filter(sensor_id__in=[pk for pk, _ in pairs]).count()
    latencies.sort()
    p50, p95 = statistics.median(latencies) * 1000, latencies[int(len(latencies) * 0.95) - 1] * 1000
    rate = accepted / elapsed
    ok = rate >= TARGET and statuses == {201: batches} and stored == accepted + warmup_count * size
    print(f"  {accepted:,} readings accepted in {elapsed:.1f} s: {rate:,.0f} readings/s; per batch "
          f"p50 {p50:.0f} ms, p95 {p95:.0f} ms;"
          f" statuses {statuses}; {stored:,} rows stored (with warm-up)")
    print(f"  target: >= {TARGET:,} readings/s: {'OK' if ok else 'MISSED'}")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--sensors", type=int, default=20)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    ok = run(batches=args.batches, sensors=args.sensors, connections=args.connections, workers=args.workers,
             threads=args.threads)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
