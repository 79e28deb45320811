"""Logistics API: stations and agents, seller pack and hand-over, agent parcels and shipments, delivery
confirmation, public tracking and reviews.

Thin: serializers check the shape, selectors scope the rows to the user (another station's parcel,
another shop's order, another buyer's order is a 404), services do every write.
"""
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, Throttled
from rest_framework.generics import ListAPIView, get_object_or_404  # a malformed id is a 404, not a 500
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from core.money import quantize
from core.parsers import JSONParser
from orders import selectors as order_selectors
from orders.api import OrderSerializer, SellerShopOrderSerializer
from shops.models import Village

from . import selectors, services
from .models import Parcel, Review, Shipment, Station, TrackingEvent

CONFLICT = OpenApiResponse(description="Conflict: an illegal status change or a repeat ({\"detail\", \"code\"})")


def run(service, **kwargs):
    """Call a service; a row outside the user's scope is a 404, too many wrong codes a 429."""
    try:
        return service(**kwargs)
    except ObjectDoesNotExist:
        raise NotFound()
    except services.TooManyAttempts as exc:
        raise Throttled(detail=exc.message)


def parcel_code_or_404(raw: str) -> str:
    try:
        return services.parse_parcel_code(raw)
    except ValidationError:
        raise NotFound(_("No parcel has this code; check each character."))


# --- Stations and agents ----------------------------------------------------------------------------------------------

class StationSerializer(serializers.ModelSerializer):
    villages = serializers.PrimaryKeyRelatedField(many=True, queryset=Village.objects.all())

    class Meta:
        model = Station
        fields = ("id", "name", "villages", "cold_store", "address", "phone", "opening_hours")


class AppointSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)


class AgentSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    role = serializers.CharField(source="user.role")
    station = serializers.IntegerField(source="station_id")
    active = serializers.BooleanField()


class StaffCreates(permissions.IsAuthenticated):
    """Any signed-in user reads; only staff create stations and appoint agents."""

    def has_permission(self, request, view):
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or request.user.is_staff


class StationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     viewsets.GenericViewSet):
    """Village service stations. Listed for signed-in users; created by staff."""

    serializer_class = StationSerializer
    permission_classes = [StaffCreates]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return selectors.stations_for(self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.create_station(actor=self.request.user, **serializer.validated_data)

    @extend_schema(request=AppointSerializer, responses={201: AgentSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def agents(self, request, pk=None):
        """Appoint a user as this station's agent (staff only); their role becomes agent."""
        station = self.get_object()
        data = AppointSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = User.objects.filter(username__iexact=data.validated_data["username"].strip()).first()
        if user is None:
            raise serializers.ValidationError({"username": [_("No user has this username.")]})
        agent = services.appoint_agent(actor=request.user, station=station, user=user)
        return Response(AgentSerializer(agent).data, status=status.HTTP_201_CREATED)


# --- Parcels ----------------------------------------------------------------------------------------------------------

class SellerParcelSerializer(serializers.ModelSerializer):
    shop_order = serializers.IntegerField(source="shop_order_id")
    station = serializers.SerializerMethodField()
    lots = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")
    label_url = serializers.SerializerMethodField()
    track_url = serializers.SerializerMethodField()

    class Meta:
        model = Parcel
        fields = ("code", "shop_order", "status", "station", "weight_kg", "cold_chain", "destination_city", "lots",
                  "handed_over_at", "received_at", "delivered_at", "label_url", "track_url")

    def get_station(self, parcel) -> dict:
        s = parcel.station
        return {"id": s.pk, "name": s.name, "address": s.address, "phone": s.phone,
                "opening_hours": s.opening_hours}

    def get_label_url(self, parcel) -> str:
        return f"/parcels/{parcel.code}/label/"

    def get_track_url(self, parcel) -> str:
        return services.track_url(parcel.code)


class AgentParcelSerializer(serializers.ModelSerializer):
    status_label = serializers.CharField(source="get_status_display")
    shop = serializers.CharField(source="shop_order.shop.name")
    order = serializers.CharField(source="shop_order.order.number")
    shipment = serializers.SerializerMethodField()
    lots = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")
    cash_on_delivery = serializers.SerializerMethodField()
    cash_due = serializers.SerializerMethodField()

    class Meta:
        model = Parcel
        fields = ("code", "status", "status_label", "shop", "order", "destination_city", "weight_kg", "cold_chain",
                  "lots", "shipment", "cash_on_delivery", "cash_due", "handed_over_at", "received_at",
                  "delivered_at")

    def get_shipment(self, parcel) -> str | None:
        return parcel.shipment.code if parcel.shipment_id else None

    def get_cash_on_delivery(self, parcel) -> bool:
        return parcel.shop_order.order.payment_method == "cod"

    @extend_schema_field(OpenApiTypes.STR)
    def get_cash_due(self, parcel):
        """The cash to collect, while a cash-on-delivery order is unpaid."""
        order = parcel.shop_order.order
        if order.payment_method != "cod" or order.status != "pending_payment":
            return None
        return str(quantize(services.cash_due(order)))


class AgentParcelDetailSerializer(AgentParcelSerializer):
    deliver_to = serializers.SerializerMethodField()

    class Meta(AgentParcelSerializer.Meta):
        fields = (*AgentParcelSerializer.Meta.fields, "deliver_to")

    def get_deliver_to(self, parcel) -> dict:
        """Where the courier takes it: for the station's agent only, never on labels or tracking."""
        o = parcel.shop_order.order
        return {"name": o.recipient, "phone": o.phone, "province": o.province, "city": o.city,
                "district": o.district, "line": o.address_line}


class PackLineSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1)
    lot = serializers.CharField(max_length=20, help_text="The lot's id or its code (L...)")
    weight_kg = serializers.DecimalField(max_digits=12, decimal_places=3, required=False, allow_null=True,
                                         help_text="The real weight in kg of a line sold by weight (required for "
                                                   "those lines, refused for the others).")


class PackSerializer(serializers.Serializer):
    lines = PackLineSerializer(many=True, allow_empty=False)

    def validate_lines(self, lines):
        seen = [item["line"] for item in lines]
        if len(seen) != len(set(seen)):
            raise serializers.ValidationError(_("Each line once, please."))
        return lines


def _seller_part(request, pk: int):
    return get_object_or_404(order_selectors.shop_orders_for_seller(request.user), pk=pk)


class PackView(APIView):
    """Pack one of your ShopOrders (accepted -> packed), naming the harvest lot of each line."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=PackSerializer, responses={200: SellerShopOrderSerializer, 409: CONFLICT})
    def post(self, request, pk: int):
        shop_order = _seller_part(request, pk)
        data = PackSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        lots = {item["line"]: item["lot"] for item in data.validated_data["lines"]}
        weights = {item["line"]: item["weight_kg"] for item in data.validated_data["lines"]
                   if item.get("weight_kg") is not None}
        services.pack_shop_order(shop_order=shop_order, actor=request.user, lots=lots, weights=weights)
        return Response(SellerShopOrderSerializer(_seller_part(request, pk)).data)


class HandOverView(APIView):
    """Hand a packed ShopOrder to the shop's village station: creates its Parcel (packed -> handed_over)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={201: SellerParcelSerializer, 409: CONFLICT})
    def post(self, request, pk: int):
        shop_order = _seller_part(request, pk)
        parcel = services.hand_over_shop_order(shop_order=shop_order, actor=request.user)
        parcel = Parcel.objects.select_related("station").prefetch_related("lots").get(pk=parcel.pk)
        return Response(SellerParcelSerializer(parcel).data, status=status.HTTP_201_CREATED)


AGENT_VIEWS = ["expected", "received_today", "waiting", "on_the_way"]


class AgentParcelList(ListAPIView):
    """Parcels at your station (agents only). ?view= expected | received_today | waiting | on_the_way."""

    serializer_class = AgentParcelSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        view = self.request.query_params.get("view", "")
        if view and view not in AGENT_VIEWS:
            raise serializers.ValidationError({"view": [_("Unknown list.")]})
        return selectors.agent_parcel_list(self.request.user, view)

    @extend_schema(parameters=[OpenApiParameter("view", str, enum=AGENT_VIEWS)])
    def get(self, request, *args, **kwargs):
        if selectors.agent_station(request.user) is None:
            self.permission_denied(request, message=_("Only the agent of a station can see its parcels."))
        return super().get(request, *args, **kwargs)


def _agent_parcel(request, code: str) -> Parcel:
    parcel = selectors.parcels_for_agent(request.user).filter(code=parcel_code_or_404(code)).first()
    if parcel is None:
        raise NotFound()
    return parcel


class AgentParcelDetail(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: AgentParcelDetailSerializer})
    def get(self, request, code: str):
        return Response(AgentParcelDetailSerializer(_agent_parcel(request, code)).data)


class ReceiveView(APIView):
    """Receive a parcel at your station by its code. A mistyped code is a 400, a repeat a 409."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={200: AgentParcelSerializer, 409: CONFLICT})
    def post(self, request, code: str):
        parcel = run(services.receive_parcel, actor=request.user, code=code)
        return Response(AgentParcelSerializer(selectors.parcels_for_agent(request.user).get(pk=parcel.pk)).data)


class DeliverySerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12, help_text="The buyer's 6-digit delivery code")
    cash_collected = serializers.BooleanField(default=False, help_text="Cash taken for a cash-on-delivery order")


class DeliverView(APIView):
    """Mark a parcel delivered with the buyer's 6-digit code (wrong codes are limited: 429 when locked)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=DeliverySerializer, responses={200: AgentParcelSerializer, 409: CONFLICT})
    def post(self, request, code: str):
        parcel = _agent_parcel(request, code)
        data = DeliverySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run(services.deliver_parcel, parcel=parcel, actor=request.user, **data.validated_data)
        return Response(AgentParcelSerializer(selectors.parcels_for_agent(request.user).get(pk=parcel.pk)).data)


class CashView(APIView):
    """Record the cash collected for a cash-on-delivery parcel's order."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={200: AgentParcelSerializer, 409: CONFLICT})
    def post(self, request, code: str):
        parcel = _agent_parcel(request, code)
        run(services.collect_cash, parcel=parcel, actor=request.user)
        return Response(AgentParcelSerializer(selectors.parcels_for_agent(request.user).get(pk=parcel.pk)).data)


# --- Shipments --------------------------------------------------------------------------------------------------------

class ShipmentSerializer(serializers.ModelSerializer):
    station_name = serializers.CharField(source="station.name", read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    parcels = serializers.SerializerMethodField()

    class Meta:
        model = Shipment
        fields = ("id", "code", "station", "station_name", "destination", "carrier", "tracking_number", "status",
                  "status_label", "cold_chain", "parcels", "departed_at", "created_at")
        read_only_fields = ("code", "station", "status", "cold_chain", "departed_at", "created_at")

    def get_parcels(self, shipment) -> list[str]:
        return [p.code for p in shipment.parcels.all()]


class ShipmentCreateSerializer(serializers.Serializer):
    destination = serializers.CharField(max_length=60)
    carrier = serializers.CharField(max_length=60)
    tracking_number = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    parcels = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list,
                                    max_length=500, help_text="Codes of received parcels to load now")


class ParcelCodesSerializer(serializers.Serializer):
    parcels = serializers.ListField(child=serializers.CharField(max_length=40), allow_empty=False, max_length=500)


class RemoveParcelSerializer(serializers.Serializer):
    parcel = serializers.CharField(max_length=40)


class ShipmentEventSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[(k.value, k.label) for k in services.SHIPMENT_EVENT_KINDS])
    location = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    problem = serializers.ChoiceField(choices=TrackingEvent.Problem.choices, required=False, allow_blank=True,
                                      default="", help_text="For an exception: damaged, delayed, lost or other")
    photo = serializers.FileField(required=False, allow_null=True, default=None,
                                  help_text="For an exception: a photo (JPEG, PNG, WebP or HEIC)")
    parcels = serializers.ListField(child=serializers.CharField(max_length=40), required=False, default=list,
                                    max_length=500, help_text="For an exception: only these parcels")


class ShipmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      viewsets.GenericViewSet):
    """Your station's shipments (agents only): create, load received parcels, record events."""

    serializer_class = ShipmentSerializer
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return selectors.shipments_for_agent(self.request.user)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if selectors.agent_station(request.user) is None:
            self.permission_denied(request, message=_("Only the agent of a station can manage shipments."))

    def _fresh(self, pk: int) -> dict:
        return ShipmentSerializer(self.get_queryset().get(pk=pk)).data

    @extend_schema(request=ShipmentCreateSerializer, responses={201: ShipmentSerializer})
    def create(self, request, *args, **kwargs):
        data = ShipmentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        codes = fields.pop("parcels")
        shipment = services.create_shipment(actor=request.user, **fields)
        if codes:
            services.add_parcels_to_shipment(shipment=shipment, actor=request.user, codes=codes)
        return Response(self._fresh(shipment.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=ParcelCodesSerializer, responses={200: ShipmentSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def parcels(self, request, pk=None):
        """Load received parcels of your station into this open shipment."""
        shipment = self.get_object()
        data = ParcelCodesSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run(services.add_parcels_to_shipment, shipment=shipment, actor=request.user,
            codes=data.validated_data["parcels"])
        return Response(self._fresh(shipment.pk))

    @extend_schema(request=RemoveParcelSerializer, responses={200: ShipmentSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], url_path="remove-parcel")
    def remove_parcel(self, request, pk=None):
        """Take a parcel off this shipment before it leaves."""
        shipment = self.get_object()
        data = RemoveParcelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run(services.remove_parcel_from_shipment, shipment=shipment, actor=request.user,
            code=data.validated_data["parcel"])
        return Response(self._fresh(shipment.pk))

    @extend_schema(request=ShipmentEventSerializer, responses={201: ShipmentSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def events(self, request, pk=None):
        """Record an event; it fans out to the shipment's parcels and their orders in one transaction."""
        shipment = self.get_object()
        data = ShipmentEventSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        run(services.record_shipment_event, shipment=shipment, actor=request.user,
            parcel_codes=fields.pop("parcels") or None, **fields)
        return Response(self._fresh(shipment.pk), status=status.HTTP_201_CREATED)


# --- Buyer: parcels and delivery confirmation -------------------------------------------------------------------------

class BuyerParcelSerializer(serializers.ModelSerializer):
    shop_order = serializers.IntegerField(source="shop_order_id")
    shop = serializers.CharField(source="shop_order.shop.slug")
    status_label = serializers.CharField(source="get_status_display")
    delivery_code = serializers.SerializerMethodField()
    track_url = serializers.SerializerMethodField()

    class Meta:
        model = Parcel
        fields = ("code", "shop_order", "shop", "status", "status_label", "destination_city", "cold_chain",
                  "delivery_code", "handed_over_at", "delivered_at", "track_url")

    @extend_schema_field(OpenApiTypes.STR)
    def get_delivery_code(self, parcel):
        """The 6 digits the buyer tells the courier; gone once the part is completed."""
        return None if parcel.shop_order.status in ("completed", "cancelled") else parcel.delivery_code

    def get_track_url(self, parcel) -> str:
        return services.track_url(parcel.code)


class BuyerParcelList(ListAPIView):
    """The parcels of one of your orders, with their delivery codes."""

    serializer_class = BuyerParcelSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no order to look at
            return Parcel.objects.none()
        order = get_object_or_404(order_selectors.orders_for_buyer(self.request.user), pk=self.kwargs["pk"])
        return (Parcel.objects.filter(shop_order__order=order).select_related("shop_order", "shop_order__shop")
                .order_by("shop_order_id"))


class ConfirmDeliverySerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12, help_text="The 6-digit delivery code shown on your order page")
    shop_order = serializers.IntegerField(required=False, allow_null=True, default=None,
                                          help_text="Which part of the order (optional: found by the code)")


class ConfirmDeliveryView(APIView):
    """Confirm you received a parcel of your order, with its delivery code; the part is completed."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=ConfirmDeliverySerializer, responses={200: OrderSerializer, 409: CONFLICT})
    def post(self, request, pk: int):
        order = get_object_or_404(order_selectors.orders_for_buyer(request.user), pk=pk)
        data = ConfirmDeliverySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        part = None
        if data.validated_data["shop_order"] is not None:
            part = get_object_or_404(order.shop_orders.all(), pk=data.validated_data["shop_order"])
        run(services.confirm_delivery_by_buyer, order=order, buyer=request.user, code=data.validated_data["code"],
            shop_order=part)
        return Response(OrderSerializer(order_selectors.order_detail_for_buyer(request.user).get(pk=pk)).data)


# --- Public tracking --------------------------------------------------------------------------------------------------

class TrackingEventSerializer(serializers.ModelSerializer):
    time = serializers.DateTimeField(source="occurred_at")
    label = serializers.CharField(source="get_kind_display")
    place = serializers.CharField(source="location")
    problem_label = serializers.CharField(source="get_problem_display")

    class Meta:
        model = TrackingEvent
        fields = ("time", "kind", "label", "place", "problem", "problem_label")


class TrackingSerializer(serializers.ModelSerializer):
    """Status and events only: never a name, a phone number, an address or a note."""

    status_label = serializers.CharField(source="get_status_display")
    events = TrackingEventSerializer(many=True)

    class Meta:
        model = Parcel
        fields = ("code", "status", "status_label", "destination_city", "cold_chain", "handed_over_at",
                  "delivered_at", "events")


class TrackView(APIView):
    """Public tracking of a parcel by its code: status and events, no personal data."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: TrackingSerializer, 404: OpenApiResponse(description="No such parcel")})
    def get(self, request, code: str):
        parcel = selectors.parcel_for_tracking(parcel_code_or_404(code))
        if parcel is None:
            raise NotFound(_("No parcel has this code; check each character."))
        return Response(TrackingSerializer(parcel).data)


# --- Reviews ----------------------------------------------------------------------------------------------------------

class ReviewSerializer(serializers.ModelSerializer):
    shop = serializers.CharField(source="shop_order.shop.slug")
    shop_name = serializers.CharField(source="shop_order.shop.name")
    photo = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = ("id", "shop", "shop_name", "shop_order", "rating", "text", "photo", "reply", "replied_at",
                  "created_at")

    def get_photo(self, review) -> str | None:
        return review.photo.url if review.photo else None


class ReviewCreateSerializer(serializers.Serializer):
    shop_order = serializers.IntegerField(help_text="The delivered part of your order you rate")
    rating = serializers.IntegerField(min_value=1, max_value=5)
    text = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    photo = serializers.FileField(required=False, allow_null=True, default=None)


class ReplySerializer(serializers.Serializer):
    reply = serializers.CharField(max_length=2000)


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    viewsets.GenericViewSet):
    """Buyers' reviews of delivered orders, public; ?shop=<slug>, ?product=<id>. No buyer names are shown."""

    serializer_class = ReviewSerializer
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        queryset = selectors.public_reviews()
        if self.action == "list":
            shop = self.request.query_params.get("shop")
            product = self.request.query_params.get("product")
            if shop:
                queryset = queryset.filter(shop_order__shop__slug=shop)
            if product:
                if not product.isdigit():
                    raise serializers.ValidationError({"product": [_("Enter a product id.")]})
                queryset = queryset.filter(Q(shop_order__lines__product_id=int(product))).distinct()
        return queryset

    @extend_schema(parameters=[OpenApiParameter("shop", str), OpenApiParameter("product", int)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ReviewCreateSerializer, responses={201: ReviewSerializer, 409: CONFLICT})
    def create(self, request, *args, **kwargs):
        data = ReviewCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        part = get_object_or_404(selectors.buyer_shop_orders(request.user), pk=fields.pop("shop_order"))
        review = services.create_review(shop_order=part, buyer=request.user, **fields)
        return Response(ReviewSerializer(self.get_queryset().get(pk=review.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReplySerializer, responses={200: ReviewSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def reply(self, request, pk=None):
        """A manager of the shop replies once."""
        review = get_object_or_404(selectors.reviews_to_reply(request.user), pk=pk)
        data = ReplySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.reply_to_review(review=review, actor=request.user, text=data.validated_data["reply"])
        return Response(ReviewSerializer(self.get_queryset().get(pk=review.pk)).data)

