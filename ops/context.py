"""The request id of the work in hand: set by the middleware for a request, by a task's headers in a worker.

One id follows a piece of work from the load balancer (nginx's `$request_id` in `X-Request-ID`) through the
app server into every task it enqueues (a Celery message header), so the JSON log lines of all of them can be
found with one search.
"""
import re
import uuid
from contextvars import ContextVar

HEADER = "X-Request-ID"
# What we accept from the proxy in front of us: short, printable, nothing a log reader could trip on.
VALID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def accepted(value: str | None) -> str | None:
    """The incoming id when it is well formed, else None (the caller makes a new one)."""
    return value if value and VALID.match(value) else None


def get_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None):
    """Set the id; returns the token to put the previous one back with reset_request_id()."""
    return _request_id.set(value)


def reset_request_id(token) -> None:
    _request_id.reset(token)
