"""Request-wide guards: body size before anything reads it, security headers on every response."""
from urllib.parse import urlsplit

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpResponseBadRequest

from .views import too_large_response


class RequestSizeLimitMiddleware:
    """Refuse a body over the limit from its Content-Length, before a view, Django or DRF reads it (413)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raw = request.META.get("CONTENT_LENGTH")
        if raw:
            try:
                length = int(raw)
            except ValueError:
                return HttpResponseBadRequest()
            if length < 0:
                return HttpResponseBadRequest()
            multipart = request.META.get("CONTENT_TYPE", "").lower().startswith("multipart/")
            limit = settings.UPLOAD_MAX_REQUEST_SIZE if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if limit is not None and length > limit:
                return too_large_response(request, limit)
        return self.get_response(request)


def _origin(url: str) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, plus the card-payment origins of the moment (STRIPE_JS_URL, STRIPE_API_BASE).

    They are read per request rather than frozen into CONTENT_SECURITY_POLICY, so pointing the site at a local
    Stripe-compatible server (tests, demos) needs no second setting.
    """

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only=report_only)
        if report_only or not getattr(settings, "STRIPE_SECRET_KEY", ""):
            return parts
        js, api = _origin(settings.STRIPE_JS_URL), _origin(settings.STRIPE_API_BASE)
        extra = {
            "script-src": [o for o in (js,) if o],
            "frame-src": [o for o in (js, api) if o],
            "connect-src": [o for o in (js, api) if o],
        }
        update = dict(parts.update or {})
        for directive, origins in extra.items():
            if origins:
                update[directive] = [*update.get(directive, []), *origins]
        parts.update = update
        return parts


class PermissionsPolicyMiddleware:
    """`Permissions-Policy` from the PERMISSIONS_POLICY setting (feature -> allowed origins, [] for none)."""

    def __init__(self, get_response):
        self.get_response = get_response
        policy = getattr(settings, "PERMISSIONS_POLICY", {}) or {}
        self.header = ", ".join(f"{feature}=({' '.join(origins)})" for feature, origins in policy.items())

    def __call__(self, request):
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response
