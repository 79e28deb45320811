"""The PostgreSQL backend's health check: no round trip while the server has said nothing, and a connection the
server ended is opened again before the next request's first query (never a failed request)."""
import time

import psycopg
import pytest
from django.db import close_old_connections, connection, connections

from conftest import require_service
from shops.models import Category

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kept_connection(monkeypatch):
    require_service("PostgreSQL (set DATABASE_URL)", connection.vendor == "postgresql")
    assert connection.settings_dict["ENGINE"] == "core.db.postgresql"
    # As in production: the connection outlives the request and is checked before the next one uses it.
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    monkeypatch.setitem(connection.settings_dict, "CONN_HEALTH_CHECKS", True)
    connection.close()
    connection.ensure_connection()
    checks = []
    wrapper = type(connections["default"])
    usable = wrapper.is_usable
    monkeypatch.setattr(wrapper, "is_usable", lambda self: checks.append(1) or usable(self))
    return checks


def next_request() -> None:
    close_old_connections()  # what request_started does


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_quiet_connection_is_used_without_a_round_trip(kept_connection):
    pid = backend_pid()
    for _ in range(3):
        next_request()
        assert Category.objects.count() >= 0
    assert kept_connection == [] and backend_pid() == pid


def test_a_connection_the_server_ended_is_opened_again_before_the_next_query(kept_connection):
    pid = backend_pid()
    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"] or "127.0.0.1", port=settings["PORT"] or 5432,
                         user=settings["USER"], dbname=settings["NAME"], autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # the server's notice and the end of the stream reach the socket
        if connection.connection.pgconn.socket >= 0 and _readable(connection.connection):
            break
        time.sleep(0.02)
    next_request()
    assert Category.objects.count() >= 0  # no error: a new connection
    assert kept_connection == [1] and backend_pid() != pid


def _readable(raw) -> bool:
    from core.db.postgresql.base import _server_has_spoken

    return _server_has_spoken(raw)
