"""Prometheus metrics at /metrics: for a scraper with the token (or, without one, on this machine only)."""
import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from monitoring.models import Alert
from monitoring.tests.factories import SensorFactory
from notifications.models import Notification
from ops import metrics
from ops.tasks import echo_request_id

pytestmark = pytest.mark.django_db


def samples(response) -> dict:
    """{(name, frozenset(labels)): value} of a /metrics answer."""
    out = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


class TestAccess:
    def test_with_the_token(self, client, settings):
        settings.METRICS_TOKEN = "s3cret-scraper-token"
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scraper-token").status_code == 200
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
        assert client.get("/metrics").status_code == 403

    def test_with_a_token_set_loopback_alone_is_not_enough(self, client, settings):
        settings.METRICS_TOKEN = "s3cret-scraper-token"
        assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403

    def test_without_a_token_a_scraper_on_this_machine(self, client, settings):
        settings.METRICS_TOKEN = ""
        response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
        assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")

    def test_without_a_token_never_from_elsewhere(self, client, settings):
        settings.METRICS_TOKEN = ""
        assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403

    def test_without_a_token_never_through_the_load_balancer(self, client, settings):
        """nginx connects from loopback too, but adds X-Forwarded-For: that is the public."""
        settings.METRICS_TOKEN = ""
        assert client.get("/metrics", REMOTE_ADDR="127.0.0.1",
                          HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 403


@pytest.fixture
def scrape(client, settings):
    settings.METRICS_TOKEN = "t0ken-for-tests"
    return lambda: samples(client.get("/metrics", HTTP_AUTHORIZATION="Bearer t0ken-for-tests"))


def test_requests_are_counted_by_view_with_latency_and_queries(client, scrape):
    before = scrape()
    client.get("/healthz")
    client.get("/no-such-page-here/")
    after = scrape()
    ok = {"method": "GET", "view": "health", "status": "200"}
    assert value(after, "farmgate_http_requests_total", **ok) == value(before, "farmgate_http_requests_total", **ok) + 1
    missing = {"method": "GET", "view": "unmatched", "status": "404"}
    assert value(after, "farmgate_http_requests_total", **missing) >= 1
    assert value(after, "farmgate_http_request_duration_seconds_count", method="GET", view="health") >= 1
    assert value(after, "farmgate_http_request_db_queries_count", view="health") >= 1


def test_sql_queries_are_counted(scrape):
    before = scrape()[("farmgate_db_queries_total", frozenset())]
    with connection.cursor() as cursor:
        for _ in range(3):
            cursor.execute("SELECT 1")
    assert scrape()[("farmgate_db_queries_total", frozenset())] >= before + 3


def test_outbox_backlog_and_open_alerts(scrape, django_user_model):
    sensor = SensorFactory()
    user = django_user_model.objects.create_user("metrics-reader", password="x" * 12)
    Notification.objects.create(recipient=user, channel=Notification.Channel.EMAIL, kind="test", subject="s", body="b")
    Alert.objects.create(sensor=sensor, kind=Alert.Kind.TOO_HIGH, threshold=30, started_at=sensor.created_at,
                         first_value=31, worst_value=31)
    found = scrape()
    assert value(found, "farmgate_outbox_pending") == Notification.objects.filter(status="pending").count() >= 1
    assert value(found, "farmgate_sensor_alerts_open") == 1


def test_task_outcomes_are_counted(scrape):
    before = value(scrape(), "farmgate_celery_tasks_total", task="ops.echo_request_id", state="success")
    echo_request_id.delay()
    assert value(scrape(), "farmgate_celery_tasks_total", task="ops.echo_request_id",
                 state="success") == before + 1


@pytest.mark.services
def test_queue_lengths_are_read_from_the_broker(scrape, settings, redis_url):
    import redis

    settings.CELERY_BROKER_URL = redis_url
    settings.CELERY_TASK_DEFAULT_QUEUE = "metrics-test-queue"
    client = redis.Redis.from_url(redis_url)
    client.delete("metrics-test-queue")
    client.rpush("metrics-test-queue", "a", "b")
    try:
        found = scrape()
    finally:
        client.delete("metrics-test-queue")
    assert value(found, "farmgate_celery_queue_length", queue="metrics-test-queue") == 2
    assert (("farmgate_celery_queue_length", frozenset({("queue", settings.TASK_QUEUES["payments"])}))) in found


def test_a_statement_in_an_execute_wrapper_block_keeps_both_wrappers_straight():
    """Our query counter sits first in the connection's wrappers, so a block's own wrapper is the one it pops."""
    seen = []

    def spy(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    connection.ensure_connection()
    with connection.execute_wrapper(spy), connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert seen == ["SELECT 1"] and spy not in connection.execute_wrappers
    assert metrics._count_query in connection.execute_wrappers
