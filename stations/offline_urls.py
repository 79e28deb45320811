from django.urls import path  # noqa: F401

# The agent's offline queue: POST /api/v1/agent/actions/ (stations.offline).
urlpatterns: list = []
