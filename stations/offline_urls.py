from django.urls import path

from . import offline_api

# The agent's offline queue: POST /api/v1/agent/actions/ (stations.offline).
urlpatterns: list = [
    path("agent/actions/", offline_api.AgentActionsView.as_view(), name="api-agent-actions"),
]
