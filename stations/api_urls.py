from django.urls import path  # noqa: F401

urlpatterns: list = [
    # /api/v1/agent/... and /api/v1/me/activity/
]
