from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("addresses", api.AddressViewSet, basename="address")

urlpatterns = [
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    path("auth/register/", api.RegisterView.as_view(), name="api-register"),
    path("me/", api.MeView.as_view(), name="api-me"),
    *router.urls,
]
