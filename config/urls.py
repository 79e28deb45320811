from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core.media import serve_media
from marketplace import views
from ops import views as ops_views
from orders.payments.webhooks import stripe_webhook
from stations import offline_views

urlpatterns = [
    path("", views.home, name="home"),
    # Probes and metrics (ops.views): liveness, readiness (database, Redis, storages), Prometheus.
    path("healthz", ops_views.healthz, name="health"),
    path("readyz", ops_views.readyz, name="ready"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    # The installable station: the service worker at the root (its scope is the whole site), its manifest and
    # the page it shows when nothing is kept for an unreachable page.
    path("sw.js", offline_views.service_worker, name="service-worker"),
    path("manifest.webmanifest", offline_views.manifest, name="manifest"),
    path("offline/", offline_views.offline_page, name="offline"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file, so the page needs no inline script (CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs.html"),
         name="api-docs"),
    path("stripe/webhook/", stripe_webhook, name="stripe-webhook"),
    path("", include("shops.urls")),
    path("", include("orders.urls")),
    path("", include("logistics.urls")),
    path("", include("traceability.urls")),
    path("", include("monitoring.urls")),
    path("", include("notifications.urls")),
    path("", include("presales.urls")),
    path("", include("demand.urls")),
    path("", include("ledger.urls")),
    path("", include("subscriptions.urls")),
    path("", include("stations.urls")),
]

if settings.SERVE_MEDIA:
    # Uploaded photos from MEDIA_ROOT. On by default outside production; in production the load balancer
    # (or an S3-compatible store) serves /media/, unless SERVE_MEDIA=1 (README, "What the production profile
    # serves"). Private files (licences) live outside MEDIA_ROOT and are never served.
    urlpatterns.append(path("media/<path:path>", serve_media))

# JSON in the API's error shape under /api/, the site's pages elsewhere.
handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
