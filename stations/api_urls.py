from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api, assisted_api

router = SimpleRouter()
router.register("agent/farmers", api.AgentFarmerViewSet, basename="agent-farmer")
router.register("agent/orders", assisted_api.VillagerOrderViewSet, basename="agent-order")

urlpatterns: list = [
    # /api/v1/agent/... and /api/v1/me/activity/
    path("me/activity/", api.MyActivityView.as_view(), name="api-my-activity"),
    *router.urls,
]
