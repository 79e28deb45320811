from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("sensors", api.SensorViewSet, basename="sensor")
router.register("alerts", api.AlertViewSet, basename="alert")

urlpatterns = [
    path("readings/", api.ReadingsView.as_view(), name="api-readings"),
    *router.urls,
]
