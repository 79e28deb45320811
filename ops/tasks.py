"""Tasks of the operations kit: probes that a deployment runs to prove its workers (deploy/prod_local.py)."""
import os
import time

from celery import shared_task
from django.conf import settings

from .context import get_request_id


@shared_task(name="ops.echo_request_id")
def echo_request_id() -> str | None:
    """The request id the worker made current for this task (from the message header), for tests."""
    return get_request_id()


def _runs_client():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5)


@shared_task(bind=True, name="ops.record_run")
def record_run(self, token: str, seconds: float = 0) -> int:
    """Record each run of this task in Redis, work `seconds`, then apply its effect once.

    Proves that a worker killed mid-task loses nothing and doubles nothing: with acks_late and
    reject_on_worker_lost the message goes back to the queue, so the runs list shows two starts, and the
    effect (a set member, added once whatever the number of runs) shows one. Needs REDIS_URL.
    """
    client = _runs_client()
    key = f"farmgate:record_run:{token}"
    client.rpush(f"{key}:runs", f"{self.request.hostname} {os.getpid()} started")
    client.expire(f"{key}:runs", 3600)
    time.sleep(seconds)
    applied = client.sadd(f"{key}:effect", token)  # idempotent: a second run adds nothing
    client.expire(f"{key}:effect", 3600)
    client.rpush(f"{key}:runs", f"{self.request.hostname} {os.getpid()} finished")
    return applied
