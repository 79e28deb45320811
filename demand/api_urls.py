from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("demand/posts", api.DemandPostViewSet, basename="demand-post")

urlpatterns = [
    path("demand/posts/<int:pk>/offers/", api.PostOffersView.as_view(), name="demand-post-offers"),
    path("demand/summary/", api.DemandSummaryView.as_view(), name="demand-summary"),
    *router.urls,
]
