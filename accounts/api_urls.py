from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("addresses", api.AddressViewSet, basename="address")

urlpatterns = [
    path("auth/token/", api.TokenView.as_view(), name="api-token"),
    path("auth/sms-code/", api.SignInCodeView.as_view(), name="api-sign-in-code"),
    path("auth/token/refresh/", api.TokenRefreshView.as_view(), name="api-token-refresh"),
    path("auth/logout/", api.LogoutView.as_view(), name="api-logout"),
    path("auth/logout-all/", api.LogoutAllView.as_view(), name="api-logout-all"),
    path("auth/password/", api.PasswordChangeView.as_view(), name="api-password"),
    path("auth/register/", api.RegisterView.as_view(), name="api-register"),
    path("me/", api.MeView.as_view(), name="api-me"),
    *router.urls,
]
