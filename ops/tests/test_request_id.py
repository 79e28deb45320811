"""Request ids: from the load balancer (or made here) to the response, the log lines and the tasks."""
import json
import logging

import pytest

from ops import context
from ops.logging import JsonFormatter, RequestIdFilter
from ops.signals import add_request_id
from ops.tasks import echo_request_id


def test_a_request_without_an_id_gets_a_new_one(client):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert context.VALID.match(first) and first != second


def test_the_load_balancers_id_is_kept(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="0123456789abcdef0123456789abcdef")
    assert response["X-Request-ID"] == "0123456789abcdef0123456789abcdef"


def test_a_malformed_id_is_replaced(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith a line break")
    assert response["X-Request-ID"] != "bad id\nwith a line break"
    assert context.VALID.match(response["X-Request-ID"])


def test_log_lines_are_json_with_the_request_id():
    token = context.set_request_id("req-12345678")
    try:
        record = logging.LogRecord("farmgate.test", logging.INFO, __file__, 1, "paid %s", ("FG-1",), None)
        record.order = "FG-1"
        RequestIdFilter().filter(record)
        line = json.loads(JsonFormatter().format(record))
    finally:
        context.reset_request_id(token)
    assert line["message"] == "paid FG-1" and line["level"] == "INFO" and line["logger"] == "farmgate.test"
    assert line["request_id"] == "req-12345678" and line["order"] == "FG-1"


def test_a_task_sent_during_a_request_carries_its_id_in_the_headers():
    headers = {}
    token = context.set_request_id("req-abcdefgh")
    try:
        add_request_id(sender="notifications.deliver", headers=headers)
    finally:
        context.reset_request_id(token)
    assert headers == {"request_id": "req-abcdefgh"}


def test_a_task_sent_outside_a_request_has_no_id_header():
    headers = {}
    add_request_id(sender="notifications.sweep_pending", headers=headers)
    assert headers == {}


@pytest.mark.services
def test_a_real_worker_runs_the_task_under_the_senders_request_id(celery_worker_process):
    token = context.set_request_id("req-from-the-web-1")
    try:
        result = echo_request_id.delay()
    finally:
        context.reset_request_id(token)
    assert result.get(timeout=30) == "req-from-the-web-1"
    # The next task, sent outside any request, runs without one: nothing leaks between tasks.
    assert echo_request_id.delay().get(timeout=30) is None
