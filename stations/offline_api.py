"""POST /api/v1/agent/actions/: the agent's queued actions, each applied once (stations.offline)."""
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from core.parsers import JSONParser
from logistics import selectors as logistics_selectors

from . import offline


class IsStationAgent(permissions.IsAuthenticated):
    message = gettext_lazy("Only the agent of a station can send its actions.")

    def has_permission(self, request, view):
        return super().has_permission(request, view) and logistics_selectors.agent_station(request.user) is not None


class AgentActionSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="The phone's own id for the action (a UUID); an id is applied at most once")
    kind = serializers.ChoiceField(choices=["receive", "deliver", "collect_cash", "shipment_event"])
    args = serializers.DictField(help_text="receive, collect_cash: {parcel}; deliver: {parcel, delivery_code, "
                                           "cash_collected}; shipment_event: {shipment, kind, location, note, "
                                           "problem, parcels}")


class AgentActionBatchSerializer(serializers.Serializer):
    actions = AgentActionSerializer(many=True)


class AgentActionResultSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=[offline.APPLIED, offline.DUPLICATE, offline.REJECTED])
    detail = serializers.CharField()


class AgentActionResultsSerializer(serializers.Serializer):
    results = AgentActionResultSerializer(many=True)


class AgentActionsView(APIView):
    """Apply the actions the agent's phone queued, in order, each at most once.

    Each answer is `applied`, `duplicate` (this id was applied before: nothing changed) or `rejected`
    with the reason; a refused action does not stop the others. A replay of a refused id is refused again.
    """

    permission_classes = [IsStationAgent]
    parser_classes = [JSONParser]

    @extend_schema(request=AgentActionBatchSerializer, responses={200: AgentActionResultsSerializer})
    def post(self, request):
        data = request.data
        actions = data.get("actions") if isinstance(data, dict) else None
        if not isinstance(actions, list):
            raise ValidationError({"actions": [_("Send a list of actions.")]})
        if len(actions) > offline.MAX_ACTIONS:
            raise ValidationError({"actions": [_("Send at most %(count)d actions at a time.")
                                               % {"count": offline.MAX_ACTIONS}]})
        return Response({"results": offline.apply_actions(agent=request.user, actions=actions)})
