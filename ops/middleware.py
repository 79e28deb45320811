"""Request ids and request metrics, first in MIDDLEWARE so that they see every request and every answer."""
import time

from . import metrics
from .context import HEADER, accepted, new_request_id, reset_request_id, set_request_id

META_KEY = "HTTP_" + HEADER.upper().replace("-", "_")


class RequestIdMiddleware:
    """Take the load balancer's X-Request-ID (nginx `$request_id`) or make one; log with it, answer with it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = accepted(request.META.get(META_KEY)) or new_request_id()
        request.request_id = request_id
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response[HEADER] = request_id
        return response


class MetricsMiddleware:
    """Count each request by view name (never by path: one series per route) with its latency and SQL count."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        queries = [0]
        token = metrics.request_queries.set(queries)
        try:
            response = self.get_response(request)
        finally:
            metrics.request_queries.reset(token)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name or match._func_path) if match else "unmatched"
        metrics.observe_request(method=request.method if request.method in KNOWN_METHODS else "other",
                                view=view, status=response.status_code,
                                seconds=time.perf_counter() - started, queries=queries[0])
        return response


KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
