"""Prometheus metrics, scraped at /metrics (ops.views.metrics).

Three kinds, so that one scrape of any app server tells the whole story:
- counted in each process, summed over the gunicorn workers of a machine when PROMETHEUS_MULTIPROC_DIR is set
  (deploy/gunicorn.conf.py sets it): requests, their latency, SQL queries;
- counted in Redis, so every Celery worker on every machine adds to the same numbers: tasks by name and outcome;
- read at scrape time: queue lengths on the broker, the notification outbox backlog, open sensor alerts.
"""
import logging
import os
import threading
import time
from contextvars import ContextVar

from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

logger = logging.getLogger(__name__)

# Metrics of this process live in their own registry: generate_latest() below reads it (or, with several
# worker processes, the files they share) together with the values read at scrape time.
PROCESS_REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter("farmgate_http_requests", "HTTP requests answered, by view and status.",
                        ["method", "view", "status"], registry=PROCESS_REGISTRY)
HTTP_LATENCY = Histogram("farmgate_http_request_duration_seconds", "Time from request to response, by view.",
                         ["method", "view"], registry=PROCESS_REGISTRY,
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
DB_QUERIES = Counter("farmgate_db_queries", "SQL statements sent to the database.", registry=PROCESS_REGISTRY)
REQUEST_QUERIES = Histogram("farmgate_http_request_db_queries", "SQL statements per request, by view.",
                            ["view"], registry=PROCESS_REGISTRY, buckets=(0, 1, 2, 5, 10, 20, 50, 100))

# SQL statements of the request in hand (None outside a request).
request_queries: ContextVar[list | None] = ContextVar("request_queries", default=None)


def _count_query(execute, sql, params, many, context):
    DB_QUERIES.inc()
    counter = request_queries.get()
    if counter is not None:
        counter[0] += 1
    return execute(sql, params, many, context)


def count_queries_on(sender, connection, **kwargs) -> None:
    """connection_created receiver: count every statement of the connection.

    Put first in the list, so a `with connection.execute_wrapper(...)` block (which pops the last one when it
    ends) entered before the connection opened still removes its own wrapper, not ours.
    """
    if _count_query not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _count_query)


def observe_request(*, method: str, view: str, status: int, seconds: float, queries: int) -> None:
    HTTP_REQUESTS.labels(method, view, str(status)).inc()
    HTTP_LATENCY.labels(method, view).observe(seconds)
    REQUEST_QUERIES.labels(view).observe(queries)


# --- Celery tasks, counted in Redis -------------------------------------------------------

_local_task_counts: dict[tuple[str, str], int] = {}
_local_lock = threading.Lock()
_redis_clients: dict[str, object] = {}


def _redis():
    """A Redis client on REDIS_URL (short timeouts: metrics never hold up a task), or None without Redis."""
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return None
    client = _redis_clients.get(url)
    if client is None:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        _redis_clients[url] = client
    return client


def _task_key() -> str:
    return f"{settings.CACHES['default'].get('KEY_PREFIX') or 'farmgate'}:metrics:celery_tasks"


def count_task(name: str, state: str) -> None:
    """One more task `name` ended in `state` (success, failure, retry); never raises."""
    client = _redis()
    if client is None:
        with _local_lock:
            _local_task_counts[(name, state)] = _local_task_counts.get((name, state), 0) + 1
        return
    try:
        client.hincrby(_task_key(), f"{name}|{state}", 1)
    except Exception as exc:  # a metrics outage must not fail the task
        logger.warning("task %s not counted: %r", name, exc)


def task_counts() -> dict[tuple[str, str], int]:
    client = _redis()
    if client is None:
        with _local_lock:
            return dict(_local_task_counts)
    counts = {}
    for field, value in client.hgetall(_task_key()).items():
        name, _, state = field.decode().rpartition("|")
        counts[(name, state)] = int(value)
    return counts


# kombu's Redis transport keeps a queue as a list named after it, plus one list per priority step.
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)


def queue_lengths() -> dict[str, int]:
    """Messages waiting in each queue of the deployment (settings.TASK_QUEUES and the default queue)."""
    broker = settings.CELERY_BROKER_URL
    if not broker.startswith(("redis://", "rediss://")):
        return {}
    import redis

    client = _redis_clients.get(broker)
    if client is None:
        client = _redis_clients[broker] = redis.Redis.from_url(broker, socket_timeout=2, socket_connect_timeout=2)
    queues = [settings.CELERY_TASK_DEFAULT_QUEUE, *settings.TASK_QUEUES.values()]
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.llen(queue)
        for step in PRIORITY_STEPS:
            pipe.llen(f"{queue}{PRIORITY_SEPARATOR}{step}")
    lengths = pipe.execute()
    per = 1 + len(PRIORITY_STEPS)
    return {queue: sum(lengths[i * per:(i + 1) * per]) for i, queue in enumerate(queues)}


class LiveCollector:
    """Values read when Prometheus scrapes: what is waiting, not what happened."""

    def collect(self):
        tasks = CounterMetricFamily("farmgate_celery_tasks", "Celery tasks ended, by task and outcome "
                                    "(success, failure, retry), over all workers.", labels=["task", "state"])
        try:
            for (name, state), value in sorted(task_counts().items()):
                tasks.add_metric([name, state], value)
        except Exception as exc:  # Redis away: the other families are still worth having
            logger.warning("task counts not read: %r", exc)
        yield tasks

        queues = GaugeMetricFamily("farmgate_celery_queue_length", "Messages waiting in each Celery queue.",
                                   labels=["queue"])
        try:
            for queue, length in queue_lengths().items():
                queues.add_metric([queue], length)
        except Exception as exc:
            logger.warning("queue lengths not read: %r", exc)
        yield queues

        from monitoring.models import Alert
        from notifications.models import Notification

        yield GaugeMetricFamily("farmgate_outbox_pending", "Notifications written but not sent yet (the outbox).",
                                value=Notification.objects.filter(status=Notification.Status.PENDING).count())
        yield GaugeMetricFamily("farmgate_sensor_alerts_open", "Sensor alerts still open.",
                                value=Alert.objects.filter(ended_at__isnull=True).count())
        yield GaugeMetricFamily("farmgate_scrape_timestamp_seconds", "When this scrape was answered.",
                                value=time.time())


class _ProcessCollector:
    def collect(self):
        yield from PROCESS_REGISTRY.collect()


def render() -> bytes:
    """The text exposition format: this machine's processes (or this process) plus the live values."""
    registry = CollectorRegistry(auto_describe=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessCollector())
    registry.register(LiveCollector())
    return generate_latest(registry)
