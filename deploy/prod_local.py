"""`make prod-local`: the production deployment of several machines, rehearsed on this one, then torn down.

    .venv/bin/python deploy/prod_local.py [--keep]     (--keep leaves the temporary folder and its logs)

Starts, each as its own process on a loopback port, with the programs and configuration files a deployment
uses (deploy/nginx.conf, deploy/gunicorn.conf.py, deploy/pgbouncer.ini, the commands of deploy/systemd/):

- Redis (broker and cache), an S3-compatible object store (moto_server) with a public and a private bucket,
  an MQTT broker (mosquitto), PgBouncer in transaction pooling mode in front of the local PostgreSQL (a fresh
  database, migrated directly, loaded with the demo data through the production profile);
- two gunicorn app servers (DJANGO_ENV=production, media on S3, database through PgBouncer);
- one Celery worker per queue (payments, notifications, images, ingestion, maintenance), one beat, the MQTT
  bridge (`manage.py ingest_mqtt`);
- nginx in front: TLS, the two app servers, /media/ from the bucket, /metrics refused;

then proves, through nginx only, that the site works and survives the loss of a machine:

1. the smoke journey (deploy/smoke.py: browse, sign in, photo, checkout with cash, seller, agent, trace),
   with one app server killed (SIGKILL, its whole process group) right after the checkout;
2. a sensor reading published over MQTT reaches the sensor's page through the bridge;
3. a flood of thumbnail tasks on the images queue does not delay a payments task;
4. the maintenance worker's process is killed in the middle of a task that records its runs: the task runs
   again and its effect is applied once (acks_late + reject_on_worker_lost);
5. the request id of the photo upload is in the images worker's JSON log; /readyz answers; /metrics is
   refused through nginx and answers an app server with the token;

and stops everything. Prints each phase's time and the total; exits non-zero on the first failure.
"""
import argparse
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy import services  # noqa: E402
from deploy.smoke import Journey, SmokeFailed  # noqa: E402

BASE_DIR = services.BASE_DIR
PYTHON = sys.executable
POSTGRES_ADMIN = os.environ.get("PROD_LOCAL_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
DATABASE = "farmgate_prod_local"
QUEUES = ("payments", "notifications", "images", "ingestion", "maintenance")


class RehearsalFailed(Exception):
    pass


class Clock:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.phases: list[tuple[str, float]] = []

    @contextmanager
    def phase(self, name: str):
        print(f"--- {name}", flush=True)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.phases.append((name, time.perf_counter() - started))

    def report(self) -> None:
        print("\n=== prod-local timing")
        for name, seconds in self.phases:
            print(f"  {name:58} {seconds:7.1f} s")
        print(f"  {'total':58} {time.perf_counter() - self.started:7.1f} s")


def check(condition: bool, message: str) -> None:
    if not condition:
        raise RehearsalFailed(message)
    print(f"  ok: {message}", flush=True)


def http_get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_ready(port: int, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if http_get(f"http://127.0.0.1:{port}/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RehearsalFailed(f"app server on {port} not ready in {seconds:.0f} s")


def manage(env: dict, *args: str) -> None:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True)
    if result.returncode:
        raise RehearsalFailed(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}{result.stderr[-3000:]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, configuration)")
    args = parser.parse_args(argv)
    clock = Clock()
    root = Path(tempfile.mkdtemp(prefix="farmgate-prod-local-"))
    os.chmod(root, 0o755)  # noqa: S103 (PgBouncer, as the postgres user, reads its folder inside)
    site = services.Site(root)
    print(f"Production rehearsal in {root}", flush=True)
    ok = False
    try:
        rehearse(site, clock)
        ok = True
    except Exception as exc:  # every failure is reported with the logs that explain it
        print(f"\nREHEARSAL FAILED: {exc!r}" if not isinstance(exc, RehearsalFailed | SmokeFailed)
              else f"\nREHEARSAL FAILED: {exc}", file=sys.stderr)
        for program in site.programs:
            if program.name.startswith(("app", "worker", "nginx", "pgbouncer")):
                print(f"\n--- last lines of {program.name} ({'alive' if program.alive() else 'dead'}):\n"
                      f"{program.tail(15)}", file=sys.stderr)
    finally:
        with clock.phase("stop everything"):
            site.stop_all()
            try:  # the database stays for a look unless all went well
                if ok:
                    import psycopg

                    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001
                print(f"(database {DATABASE} not dropped: {exc!r})")
        if not args.keep and ok:
            shutil.rmtree(root, ignore_errors=True)
        clock.report()
        print("prod-local: OK" if ok else f"prod-local: FAILED (logs in {root})")
    return 0 if ok else 1


def rehearse(site: services.Site, clock: Clock) -> None:
    root = site.root
    with clock.phase("services: Redis, S3 (moto), mosquitto, PgBouncer, database"):
        redis = services.start_redis(site)
        s3 = services.start_moto(site)
        mqtt = services.start_mosquitto(site)
        pgbouncer = services.start_pgbouncer(site)
        services.start_postgres_database(POSTGRES_ADMIN, DATABASE)
        import boto3

        client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{s3.port}", region_name="us-east-1",
                              aws_access_key_id="farmgate-rehearsal", aws_secret_access_key="not-a-secret")  # noqa: S106
        for bucket in ("farmgate-media", "farmgate-private"):
            client.create_bucket(Bucket=bucket)

    https_port = services.free_port()
    base = f"https://127.0.0.1:{https_port}"
    metrics_token = secrets.token_urlsafe(24)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE", "REDIS", "CELERY_",
                                                                    "AWS_", "MEDIA_", "PGBOUNCER"))},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": base,
        "SITE_URL": base,
        "TRUSTED_PROXY_COUNT": "1",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{pgbouncer.port}/{DATABASE}",
        "DATABASE_POOLER": "transaction",
        "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
        "REDIS_CACHE_URL": f"redis://127.0.0.1:{redis.port}/1",
        "MEDIA_STORAGE": "s3",
        "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3.port}",
        "AWS_ACCESS_KEY_ID": "farmgate-rehearsal",
        "AWS_SECRET_ACCESS_KEY": "not-a-secret",
        "AWS_STORAGE_BUCKET_NAME": "farmgate-media",
        "AWS_PRIVATE_STORAGE_BUCKET_NAME": "farmgate-private",
        "AWS_DEFAULT_ACL": "public-read",  # moto keeps ACLs; a real bucket may use a policy instead
        "AWS_S3_CUSTOM_DOMAIN": f"127.0.0.1:{https_port}/media",  # public photos through the load balancer
        "AWS_S3_URL_PROTOCOL": "https:",
        "STATIC_ROOT": str(root / "static"),
        "MQTT_URL": f"mqtt://127.0.0.1:{mqtt.port}",
        "METRICS_TOKEN": metrics_token,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
    }
    direct = {**env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}", "DATABASE_POOLER": ""}

    with clock.phase("release: migrate (directly on PostgreSQL)"):
        manage(direct, "migrate", "--noinput")
    with clock.phase("release: collectstatic"):
        manage(env, "collectstatic", "--noinput", "-v", "0")
    with clock.phase("demo data (production profile, photos to the bucket)"):
        # The demo's photos are written to the bucket and their thumbnails queued on the images queue.
        manage(env, "load_demo", "--allow-production")

    with clock.phase("start: 2 app servers, 5 workers, beat, MQTT bridge, nginx"):
        app_ports = [services.free_port(), services.free_port()]
        for n, port in enumerate(app_ports, start=1):
            site.start(f"app{n}", [str(services.BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "config.wsgi"],
                       env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2",
                            "GUNICORN_THREADS": "4", "PROMETHEUS_MULTIPROC_DIR": str(root / f"metrics-app{n}")},
                       port=port)
        for queue in QUEUES:
            site.start(f"worker-{queue}", [str(services.BIN / "celery"), "-A", "config", "worker", "-Q", queue,
                                           "-n", f"{queue}@%h", "--concurrency", "1", "--loglevel", "INFO",
                                           "--without-gossip", "--without-mingle"], env=env)
        site.start("beat", [str(services.BIN / "celery"), "-A", "config", "beat", "--loglevel", "INFO",
                            "--schedule", str(root / "celerybeat-schedule")], env=env)
        site.start("mqtt-bridge", [PYTHON, "manage.py", "ingest_mqtt"], env=env)
        services.start_nginx(site, https_port=https_port, app_ports=app_ports, s3_port=s3.port,
                                     media_bucket="farmgate-media")
        for port in app_ports:
            wait_ready(port)
        wait_for_workers(site, env)
        cert = str(root / "nginx" / "tls.crt")
        import requests

        ready = requests.get(f"{base}/readyz", verify=cert, timeout=10)
        check(ready.status_code == 200 and set(ready.json()["checks"].values()) == {"ok"},
              f"/readyz through nginx: {ready.json()['checks']}")
        worker = requests.get(f"{base}/sw.js", verify=cert, timeout=10)
        check(worker.status_code == 200 and "SW.version" in worker.text and "/static/css/site." in worker.text,
              f"/sw.js through nginx names the shell's hashed files ({worker.status_code})")
        app = requests.get(f"{base}/manifest.webmanifest", verify=cert, timeout=10)
        check(app.status_code == 200 and app.json()["icons"], f"the station's manifest ({app.status_code})")

    with clock.phase("smoke journey through nginx, app server 1 killed after checkout"):
        killed = {}

        def on_step(name: str) -> None:
            if name == "checkout":
                site.get("app1").kill()
                killed["at"] = name
                print("  killed app server 1 (SIGKILL to its process group)", flush=True)

        journey = Journey(base, cert, on_step=on_step)
        journey.run()
        for name, seconds in journey.timings:
            print(f"  {name:10} {seconds:6.2f} s", flush=True)
        check(killed.get("at") == "checkout" and not site.get("app1").alive(), "app server 1 is dead")
        check(journey.facts.get("parcel_status") is not None,
              f"journey done after the kill: order {journey.facts['order']['number']}, "
              f"parcel {journey.facts['parcel']} received by the agent, trace page served")
        upstreams = [json.loads(line)["upstream"] for line in (root / "nginx" / "access.log").read_text().splitlines()
                     if line.startswith("{")]
        served = {port: sum(f":{port}" in u for u in upstreams) for port in app_ports}
        check(all(served.values()), f"nginx spread requests over both app servers: {served}")

    with clock.phase("MQTT: a reading through the broker and the bridge"):
        mqtt_reading(base, cert, journey, mqtt.port)

    with clock.phase("queues: a thumbnail flood does not delay a payment"):
        queue_isolation(env)

    with clock.phase("worker killed mid-task: run again, applied once"):
        worker_killed_mid_task(site, env)

    with clock.phase("request ids in the JSON logs, metrics"):
        upload_id = journey.facts.get("upload_request_id") or ""
        images_log = site.get("worker-images").log.read_text(errors="replace")
        lines = [json.loads(line) for line in images_log.splitlines() if line.startswith("{") and upload_id in line]
        check(bool(upload_id) and any(line.get("request_id") == upload_id and line.get("task_name") ==
                                      "shops.make_thumbnails" for line in lines),
              f"the photo upload's request id {upload_id} is on the images worker's JSON log lines of its task")
        public = requests.get(f"{base}/metrics", verify=cert, timeout=10)
        check(public.status_code == 404, f"/metrics through nginx is refused ({public.status_code})")
        port = app_ports[1]
        status, _ = http_get(f"http://127.0.0.1:{port}/metrics")
        check(status == 403, f"/metrics on an app server without the token is refused ({status})")
        status, body = http_get(f"http://127.0.0.1:{port}/metrics", {"Authorization": f"Bearer {metrics_token}"})
        text = body.decode()
        check(status == 200 and "farmgate_http_requests_total" in text and "farmgate_celery_queue_length" in text
              and re.search(r'farmgate_celery_tasks_total\{state="success",task="shops.make_thumbnails"\} [1-9]',
                            text) is not None and "farmgate_outbox_pending" in text,
              "/metrics with the token: requests, latency, queries, task counts, queue lengths, outbox, alerts")


def wait_for_workers(site: services.Site, env: dict, seconds: float = 90) -> None:
    """Each queue's worker answers a ping (celery inspect), so no task waits for a worker still starting."""
    deadline = time.monotonic() + seconds
    pending = set(QUEUES)
    while pending and time.monotonic() < deadline:
        result = subprocess.run([str(services.BIN / "celery"), "-A", "config", "inspect", "ping", "--timeout", "2"],
                                cwd=BASE_DIR, env=env, capture_output=True, text=True)
        pending = {q for q in pending if f"{q}@" not in result.stdout}
        for queue in QUEUES:
            if not site.get(f"worker-{queue}").alive():
                raise RehearsalFailed(f"worker {queue} died:\n{site.get(f'worker-{queue}').tail()}")
    if pending:
        raise RehearsalFailed(f"workers not answering: {sorted(pending)}")


@contextmanager
def django_with(env: dict):
    """This process as a Farmgate client (Celery producer, database reader) with the deployment's settings."""
    saved = dict(os.environ)
    os.environ.update(env)
    import django

    django.setup()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def mqtt_reading(base: str, cert: str, journey: Journey, port: int) -> None:
    """The agent fits a sensor in the station's cold store (API); it publishes over MQTT; the bridge stores it."""
    from datetime import UTC, datetime

    import paho.mqtt.client as mqtt

    agent = journey.facts["agent"]
    created = agent.post(f"{base}/api/v1/sensors/", timeout=30, json={
        "name": "Rehearsal cold store", "kind": "store_temperature", "unit": "°C", "min_value": "0",
        "max_value": "8", "attached_to": {"kind": "cold_store", "id": journey.facts["station"]}})
    if created.status_code != 201:
        raise RehearsalFailed(f"sensor not made: {created.status_code} {created.text[:300]}")
    check(True, "an agent's cold-store sensor made through the API (its device key shown once)")
    sensor = created.json()
    now = datetime.now(UTC).replace(microsecond=0)
    payload = json.dumps({"key": sensor["key"], "readings": [{"time": now.isoformat(), "value": 4.5}]})
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"rehearsal-{secrets.token_hex(4)}")
    client.connect("127.0.0.1", port)
    client.loop_start()
    client.publish(f"farmgate/sensors/{sensor['id']}/readings", payload, qos=1).wait_for_publish(timeout=10)
    client.disconnect()
    client.loop_stop()
    deadline = time.monotonic() + 30
    latest = None
    while not latest and time.monotonic() < deadline:
        time.sleep(0.3)
        latest = agent.get(f"{base}/api/v1/sensors/{sensor['id']}/", timeout=10).json().get("latest")
    check(bool(latest) and latest.get("value") == 4.5, f"the MQTT reading reached the sensor: {latest}")


def queue_isolation(env: dict) -> None:
    """300 thumbnail tasks queued, then one payments task: it is done while the images queue is still long."""
    with django_with(env):
        import redis
        from celery import current_app

        from shops.models import ProductImage

        photo_ids = list(ProductImage.objects.values_list("pk", flat=True)[:50])
        check(bool(photo_ids), f"{len(photo_ids)} demo photos to re-thumbnail")
        for n in range(300):
            current_app.send_task("shops.make_thumbnails", args=[photo_ids[n % len(photo_ids)]])
        queued = redis.Redis.from_url(env["REDIS_URL"]).llen("images")
        started = time.perf_counter()
        current_app.send_task("orders.reconcile_payments").get(timeout=60)
        seconds = time.perf_counter() - started
        waiting = redis.Redis.from_url(env["REDIS_URL"]).llen("images")
        check(waiting > 0, f"a payments task ran in {seconds:.2f} s with {queued} thumbnail tasks queued before it "
                           f"and {waiting} still waiting on the images queue")


def worker_killed_mid_task(site: services.Site, env: dict) -> None:
    with django_with(env):
        import redis
        from celery import current_app

        client = redis.Redis.from_url(env["REDIS_URL"], decode_responses=True)
        token = secrets.token_hex(8)
        key = f"farmgate:record_run:{token}"
        current_app.send_task("ops.record_run", args=[token, 8])  # routed to the maintenance queue
        deadline = time.monotonic() + 60
        while not client.lrange(f"{key}:runs", 0, -1):
            if time.monotonic() > deadline:
                raise RehearsalFailed("the probe task never started")
            time.sleep(0.1)
        first = client.lrange(f"{key}:runs", 0, -1)[0]
        pid = int(first.split()[1])
        os.kill(pid, signal.SIGKILL)
        print(f"  killed the maintenance worker's process {pid} in the middle of ops.record_run", flush=True)
        deadline = time.monotonic() + 90
        while not any(run.endswith("finished") for run in client.lrange(f"{key}:runs", 0, -1)):
            if time.monotonic() > deadline:
                raise RehearsalFailed(f"the task never ran again: {client.lrange(f'{key}:runs', 0, -1)}")
            time.sleep(0.2)
        runs = client.lrange(f"{key}:runs", 0, -1)
        starts = [run for run in runs if run.endswith("started")]
        check(len(starts) == 2 and starts[0].split()[1] != starts[1].split()[1],
              f"the task ran again in a new process after the kill: {runs}")
        check(client.scard(f"{key}:effect") == 1, "its effect was applied once")
        check(site.get("worker-maintenance").alive(), "the worker itself carries on")


if __name__ == "__main__":
    sys.exit(main())
