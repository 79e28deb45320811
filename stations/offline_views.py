"""The installable station: the service worker at the site root (so its scope is the whole site), the web
app manifest, and the page the worker shows when a page is neither reachable nor kept on the phone."""
import functools
import hashlib
import json

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import condition, require_GET

WORKER = "sw.js"
# The shell every page needs, kept on the phone when the worker installs (hashed names in production).
SHELL_FILES = ["css/site.css", "js/sw-register.js", "js/station-offline.js", "js/scan.js", "img/favicon.svg",
               "img/icon-192.png", "img/icon-512.png"]
ICONS = [("img/icon-192.png", "192x192", "image/png"), ("img/icon-512.png", "512x512", "image/png"),
         ("img/favicon.svg", "any", "image/svg+xml")]
THEME_COLOR = "#2f6b2f"


def _worker_source() -> str:
    found = finders.find(WORKER)
    if found:
        with open(found, encoding="utf-8") as handle:
            return _with_settings(handle.read())
    with staticfiles_storage.open(WORKER) as handle:
        return _with_settings(handle.read().decode("utf-8"))


@functools.lru_cache(maxsize=4)
def _with_settings(code: str) -> str:
    """The worker's code with what it must know first: its version, the shell's URLs, the offline page's URL.

    The version changes whenever the code or a shell file's (hashed) URL changes, so the phone then
    installs the new worker and drops the old shell. Kept per process: browsers ask for it on each visit."""
    settings_block = {"shell": [static(name) for name in SHELL_FILES], "offline": reverse("offline"),
                      "static": settings.STATIC_URL}
    head = json.dumps(settings_block, sort_keys=True)
    version = hashlib.sha256((head + code).encode()).hexdigest()[:12]
    return f"var SW = {head};\nSW.version = {json.dumps(version)};\n{code}"


def _worker_etag(request) -> str:
    return hashlib.sha256(_worker_source().encode()).hexdigest()[:20]


@require_GET
@condition(etag_func=_worker_etag)
def service_worker(request):
    response = HttpResponse(_worker_source(), content_type="text/javascript; charset=utf-8")
    # The browser must look at the worker anew each time (a 304 keeps it cheap), never keep it.
    patch_cache_control(response, no_cache=True, max_age=0)
    return response


@require_GET
def manifest(request):
    """What makes the station installable: its name, icons, and the agent's page to open first."""
    data = {
        "name": _("Farmgate station"),
        "short_name": _("Station"),
        "description": _("Receive, ship and deliver parcels at the village station, with or without a connection."),
        "lang": get_language(),
        "start_url": reverse("logistics:agent"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#fbfaf6",
        "theme_color": THEME_COLOR,
        "icons": [{"src": static(path), "sizes": sizes, "type": kind, "purpose": "any"} for path, sizes, kind in ICONS],
    }
    response = JsonResponse(data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})
    patch_cache_control(response, private=True, max_age=3600)
    return response


@require_GET
def offline_page(request):
    """Shown by the worker when a page cannot be reached and none is kept; the same for everyone (no user data)."""
    return render(request, "stations/offline.html")
