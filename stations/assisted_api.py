"""Orders the agent places for villagers, under /api/v1/agent/orders/. Thin: validate the shape, call
stations.assisted, answer with the buyer order shape of orders.api plus what the station needs."""
from django.core.exceptions import ObjectDoesNotExist
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.response import Response

from logistics.selectors import agent_station
from logistics.services import TooManyAttempts
from orders.api import OrderSerializer, money
from orders.services import MAX_QUANTITY
from orders.states import awaits_cash

from . import assisted

CONFLICT = OpenApiResponse(description="Conflict: out of stock, not available, cash not collected "
                                       "({\"detail\", \"code\"})")


class IsStationAgent(permissions.BasePermission):
    """The signed-in, active agent of a station; anyone else is refused (403)."""

    message = _("Only the agent of a station can order for a villager.")

    def has_permission(self, request, view) -> bool:
        return agent_station(request.user) is not None


class LineInSerializer(serializers.Serializer):
    product = serializers.IntegerField(help_text="A product id from the catalogue")
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class VillagerOrderInSerializer(serializers.Serializer):
    buyer_phone = serializers.CharField(max_length=30, help_text="The villager's mainland mobile number")
    buyer_name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="",
                                       help_text="Needed the first time this number orders")
    lines = LineInSerializer(many=True, allow_empty=False, max_length=assisted.MAX_LINES)


class PickupSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12, help_text="The villager's 6-digit delivery code")
    cash_collected = serializers.BooleanField(default=False, help_text="Cash taken for an order not paid yet")


class PickupParcelSerializer(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.CharField()
    ready = serializers.BooleanField(help_text="At the station (or on its last leg): it can be taken now")


class VillagerOrderSerializer(OrderSerializer):
    """The buyer's order shape, with the villager, the cash to collect and the parcels (never their codes)."""

    buyer = serializers.SerializerMethodField()
    cash_due = serializers.SerializerMethodField()
    awaits_cash = serializers.SerializerMethodField()
    parcels = serializers.SerializerMethodField()

    class Meta(OrderSerializer.Meta):
        fields = (*OrderSerializer.Meta.fields, "buyer", "cash_due", "awaits_cash", "parcels")

    def get_buyer(self, order) -> dict:
        return {"id": order.buyer_id, "name": order.recipient, "phone": order.phone}

    def get_cash_due(self, order) -> str:
        return money(assisted.cash_due(order))

    def get_awaits_cash(self, order) -> bool:
        return awaits_cash(order)

    @extend_schema_field(PickupParcelSerializer(many=True))
    def get_parcels(self, order) -> list[dict]:
        ready = {p.pk for p in assisted.parcels_to_hand_over(order)}
        parcels = [getattr(so, "parcel", None) for so in order.shop_orders.all()]
        return [{"code": p.code, "status": p.status, "ready": p.pk in ready} for p in parcels if p is not None]


def _run(service, **kwargs):
    try:
        return service(**kwargs)
    except ObjectDoesNotExist:
        raise NotFound()
    except TooManyAttempts as exc:
        raise Throttled(detail=exc.message)


class VillagerOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Orders placed at your station for villagers, paid in cash and picked up there. Agents only (403); an order
    of another station is a 404."""

    permission_classes = [permissions.IsAuthenticated, IsStationAgent]
    serializer_class = VillagerOrderSerializer

    def get_queryset(self):
        orders = assisted.station_order_detail(self.request.user)
        phone = self.request.query_params.get("phone", "").strip()
        if phone and self.action == "list":
            orders = orders.filter(phone__contains=phone[:20])
        return orders

    def _detail(self, order):
        return self.get_serializer(self.get_queryset().get(pk=order.pk)).data

    @extend_schema(parameters=[OpenApiParameter("phone", str, description="Part of the villager's number")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=VillagerOrderInSerializer, responses={201: VillagerOrderSerializer, 409: CONFLICT})
    def create(self, request):
        data = VillagerOrderInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = assisted.place_order_for_villager(agent=request.user, **data.validated_data)
        return Response(self._detail(order), status=status.HTTP_201_CREATED)

    @extend_schema(request=PickupSerializer, responses={200: VillagerOrderSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def pickup(self, request, pk=None):
        """The villager takes a parcel: their delivery code, and the cash if the order is not paid yet."""
        order = self.get_object()
        data = PickupSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _run(assisted.hand_over_to_villager, agent=request.user, order=order, **data.validated_data)
        return Response(self._detail(order))

    @extend_schema(request=None, responses={200: VillagerOrderSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def cash(self, request, pk=None):
        """The villager pays now, before the parcels arrive."""
        order = self.get_object()
        _run(assisted.collect_cash, agent=request.user, order=order)
        return Response(self._detail(order))
