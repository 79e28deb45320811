from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from marketplace import views
from orders.webhooks import stripe_webhook

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
    path("i18n/setlang/", views.set_language, name="set_language"),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("stripe/webhook/", stripe_webhook, name="stripe-webhook"),
    path("", include("shops.urls")),
    path("", include("orders.urls")),
    path("", include("logistics.urls")),
    path("", include("traceability.urls")),
    path("", include("monitoring.urls")),
    path("", include("notifications.urls")),
    path("", include("presales.urls")),
    path("", include("demand.urls")),
]

if settings.DEBUG or not settings.PRODUCTION:
    # Uploaded photos on local disk for the embedded site; production serves media elsewhere.
    urlpatterns.append(path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}))

handler404 = "marketplace.views.page_not_found"
handler500 = "marketplace.views.server_error"
