"""Everything under /api/v1/: each app contributes its own api_urls."""
from django.urls import include, path

urlpatterns = [
    path("", include("accounts.api_urls")),
    path("", include("shops.api_urls")),
    path("", include("orders.api_urls")),
    path("", include("logistics.api_urls")),
    path("", include("traceability.api_urls")),
    path("", include("monitoring.api_urls")),
    path("", include("notifications.api_urls")),
    path("", include("presales.api_urls")),
    path("", include("demand.api_urls")),
    path("", include("ledger.api_urls")),
    path("", include("subscriptions.api_urls")),
    path("", include("stations.api_urls")),
    path("", include("stations.offline_urls")),
]
