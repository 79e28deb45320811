"""The site's URLs plus /bench/bare/, a constant answer through the same middleware: the ceiling."""
from django.http import HttpResponse
from django.urls import path

from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as site_patterns

BARE_BODY = b"ok"


def bare(request):
    return HttpResponse(BARE_BODY, content_type="text/plain")


urlpatterns = [path("bench/bare/", bare, name="bench-bare"), *site_patterns]
