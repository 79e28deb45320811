"""Error pages that speak the client's language: JSON in the API's error shape under /api/, HTML elsewhere.

Django calls these (`handler400/403/404/500` in config.urls) for anything that never reached a DRF view: an
unknown /api/v1/ path, a body over the size limit, a crash outside a view. DRF views answer their own errors.
"""
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.csrf import requires_csrf_token

from .uploads import too_large_message

API_PREFIX = "/api/"


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def too_large_response(request, limit: int | None = None) -> HttpResponse:
    """413 for a body over the limit: JSON under /api/, a short page elsewhere."""
    message = too_large_message(limit)
    if is_api(request):
        return JsonResponse({"detail": message}, status=413)
    return HttpResponse(format_html("<!doctype html><title>413</title><h1>{}</h1><p>{}</p>", message,
                                    _("Go back and send less at once, e.g. fewer or smaller photos.")),
                        status=413)


@requires_csrf_token
def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig):
        return too_large_response(request, getattr(exception, "limit", None))
    if is_api(request):
        return JsonResponse({"detail": _("The request could not be understood.")}, status=400)
    return defaults.bad_request(request, exception)


@requires_csrf_token
def permission_denied(request, exception=None):
    if is_api(request):
        return JsonResponse({"detail": _("You do not have permission to perform this action.")}, status=403)
    return defaults.permission_denied(request, exception)


@requires_csrf_token
def page_not_found(request, exception=None):
    if is_api(request):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception, template_name="404.html")


@requires_csrf_token
def server_error(request):
    if is_api(request):
        return JsonResponse({"detail": _("Server error: we have been told and will fix it.")}, status=500)
    # No context processors: the failure may be in one of them.
    return HttpResponse(loader.get_template("500.html").render(), status=500)
