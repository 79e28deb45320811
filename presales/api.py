"""Pre-sales and group buying API (/api/v1/presales/..., /api/v1/groups/...). Thin: validate the shape, call a
service or selector. Querysets are scoped to the user, so another user's pre-order or place is a 404."""
from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Address
from accounts.selectors import addresses_for
from orders.models import SavedCard
from orders.payments import gateway

from . import selectors, services
from .models import (
    MAX_CAPACITY,
    MAX_GROUP_SIZE,
    MAX_HOURS_TO_FILL,
    BuyingGroup,
    GroupDeal,
    GroupMember,
    PreOrder,
    PreSale,
)

CONFLICT = OpenApiResponse(description="Not possible in the current state (sold out, group full or closed, "
                                       "already a member ...): {\"detail\", \"code\"}")
NOT_FOUND = OpenApiResponse(description="Not found, or not yours")
PROVIDER_DOWN = OpenApiResponse(description="The payment service could not be reached: {\"detail\", \"code\"}")
PRODUCT_FILTER = OpenApiParameter("product", int, description="Only this product's")


def _int_param(request, name: str) -> int | None:
    value = request.query_params.get(name, "")
    return int(value) if value.isdigit() else None


# --- Serializers ---------------------------------------------------------------------------------------------------

class PreSaleSerializer(serializers.ModelSerializer):
    product_title = serializers.CharField(source="product.title", read_only=True)
    shop = serializers.CharField(source="product.shop.slug", read_only=True)
    unit = serializers.CharField(source="product.unit", read_only=True)
    normal_price = serializers.DecimalField(source="product.price", max_digits=10, decimal_places=2, read_only=True)
    units_left = serializers.IntegerField(read_only=True)
    taking_orders = serializers.BooleanField(read_only=True)
    cancelled = serializers.BooleanField(source="is_cancelled", read_only=True)
    currency = serializers.SerializerMethodField()

    class Meta:
        model = PreSale
        fields = ("id", "product", "product_title", "shop", "unit", "harvest_start", "harvest_end", "capacity",
                  "units_sold", "units_left", "price", "normal_price", "currency", "is_open", "taking_orders",
                  "cancelled", "cancel_reason", "created_at")
        read_only_fields = fields

    def get_currency(self, presale) -> str:
        return settings.CURRENCY


class PreSaleCreateSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=PreSale.objects.none(),
                                                 help_text="One of your products on sale.")
    harvest_start = serializers.DateField(help_text="After today.")
    harvest_end = serializers.DateField()
    capacity = serializers.IntegerField(min_value=1, max_value=MAX_CAPACITY, help_text="Sale units offered.")
    price = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=services.MIN_PRICE,
                                     max_value=services.MAX_PRICE, help_text="Pre-sale price per unit.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None:
            self.fields["product"].queryset = selectors.products_for_offers(user)


class PreSaleUpdateSerializer(serializers.Serializer):
    is_open = serializers.BooleanField(required=False)
    capacity = serializers.IntegerField(required=False, min_value=1, max_value=MAX_CAPACITY)
    price = serializers.DecimalField(required=False, max_digits=8, decimal_places=2, min_value=services.MIN_PRICE,
                                     max_value=services.MAX_PRICE)


class HarvestFailedSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="What happened to the harvest; every buyer reads it.")


class PreOrderSellerCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, help_text="The buyer reads this.")


class PreOrderBuyerCancelSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


@extend_schema_field(OpenApiTypes.INT)
class _AddressField(serializers.PrimaryKeyRelatedField):
    """One of the signed-in buyer's addresses; anyone else's is 'does not exist'."""

    def get_queryset(self):
        request = self.context.get("request")
        return addresses_for(request.user) if request is not None else Address.objects.none()


class PreOrderCreateSerializer(serializers.Serializer):
    address = _AddressField(help_text="One of your delivery addresses.")
    quantity = serializers.IntegerField(min_value=1, max_value=services.MAX_QUANTITY)
    payment = serializers.ChoiceField(
        choices=PreOrder.Payment.choices,
        help_text="card: authorised now and charged when the farm ships (then POST .../authorise/; refused when "
                  "the harvest is more than LONG_PRESALE_DAYS away); saved_card: one of your saved cards "
                  "(`saved_card`), charged while you are away when the farm ships; online: Alipay "
                  "or WeChat Pay, which cannot be authorised for later, so paid in full now through "
                  "/api/v1/orders/{order}/pay/; cod: cash on delivery.")
    saved_card = serializers.PrimaryKeyRelatedField(
        queryset=SavedCard.objects.none(), required=False, allow_null=True,
        help_text="With payment saved_card: the id of one of your saved cards (/api/v1/payment-methods/).")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["saved_card"].queryset = SavedCard.objects.filter(buyer=request.user,
                                                                          status=SavedCard.Status.ACTIVE)


class PreOrderSerializer(serializers.ModelSerializer):
    product = serializers.IntegerField(source="presale.product_id", read_only=True)
    product_title = serializers.CharField(source="presale.product.title", read_only=True)
    harvest_start = serializers.DateField(source="presale.harvest_start", read_only=True)
    harvest_end = serializers.DateField(source="presale.harvest_end", read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)
    total = serializers.DecimalField(source="order.total", max_digits=12, decimal_places=2, read_only=True)
    next_step = serializers.SerializerMethodField(
        help_text="authorise_card: POST .../authorise/; pay: POST /api/v1/orders/{order}/pay/; null: nothing to do.")

    class Meta:
        model = PreOrder
        fields = ("id", "presale", "product", "product_title", "harvest_start", "harvest_end", "order",
                  "order_number", "quantity", "unit_price", "total", "payment", "status", "next_step", "pay_by",
                  "cancel_reason", "created_at")
        read_only_fields = fields

    def get_next_step(self, preorder) -> str | None:
        if preorder.status == PreOrder.Status.PENDING:
            return "authorise_card" if preorder.payment == PreOrder.Payment.CARD else "pay"
        if preorder.status == PreOrder.Status.PAYMENT_DUE:
            return "pay"
        return None


class SellerPreOrderSerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.number", read_only=True)
    buyer = serializers.CharField(source="buyer.__str__", read_only=True)
    total = serializers.DecimalField(source="order.total", max_digits=12, decimal_places=2, read_only=True)
    shop_order = serializers.SerializerMethodField()
    shop_order_status = serializers.SerializerMethodField()

    class Meta:
        model = PreOrder
        fields = ("id", "order", "order_number", "buyer", "quantity", "unit_price", "total", "payment", "status",
                  "shop_order", "shop_order_status", "cancel_reason", "created_at")
        read_only_fields = fields

    def _part(self, preorder):
        parts = list(preorder.order.shop_orders.all())  # prefetched
        return parts[0] if parts else None

    def get_shop_order(self, preorder) -> int | None:
        part = self._part(preorder)
        return part.pk if part else None

    def get_shop_order_status(self, preorder) -> str | None:
        part = self._part(preorder)
        return part.status if part else None


class AuthoriseSerializer(serializers.Serializer):
    token = serializers.CharField(required=False, allow_blank=True, max_length=255,
                                  help_text="A card token from Stripe.js (tok_...).")
    payment_method = serializers.RegexField(r"^pm_[A-Za-z0-9_]+$", required=False, allow_blank=True,
                                            max_length=255, help_text="Or a card PaymentMethod id (pm_...).")


class HoldSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="requires_capture: authorised. requires_payment_method / "
                                             "requires_confirmation: confirm on the device with client_secret. "
                                             "requires_action: run 3-D Secure, then call again.")
    client_secret = serializers.CharField()
    payment_intent = serializers.CharField()
    publishable_key = serializers.CharField()


class GroupDealSerializer(serializers.ModelSerializer):
    product_title = serializers.CharField(source="product.title", read_only=True)
    shop = serializers.CharField(source="product.shop.slug", read_only=True)
    unit = serializers.CharField(source="product.unit", read_only=True)
    normal_price = serializers.DecimalField(source="product.price", max_digits=10, decimal_places=2, read_only=True)

    class Meta:
        model = GroupDeal
        fields = ("id", "product", "product_title", "shop", "unit", "normal_price", "group_price", "group_size",
                  "hours_to_fill", "is_active", "created_at")
        read_only_fields = fields


class GroupDealCreateSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=GroupDeal.objects.none(),
                                                 help_text="One of your products on sale.")
    group_size = serializers.IntegerField(min_value=2, max_value=MAX_GROUP_SIZE)
    group_price = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=services.MIN_PRICE,
                                           max_value=services.MAX_PRICE, help_text="Lower than the normal price.")
    hours_to_fill = serializers.IntegerField(min_value=1, max_value=MAX_HOURS_TO_FILL)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None:
            self.fields["product"].queryset = selectors.products_for_offers(user)


class GroupDealUpdateSerializer(serializers.Serializer):
    is_active = serializers.BooleanField()


class JoinSerializer(serializers.Serializer):
    address = _AddressField(help_text="One of your delivery addresses.")
    quantity = serializers.IntegerField(min_value=1, max_value=services.MAX_QUANTITY, required=False,
                                        help_text="Default: the product's minimum order.")


class GroupSerializer(serializers.ModelSerializer):
    offer = serializers.IntegerField(source="deal_id", read_only=True)
    product = serializers.IntegerField(source="deal.product_id", read_only=True)
    product_title = serializers.CharField(source="deal.product.title", read_only=True)
    unit = serializers.CharField(source="deal.product.unit", read_only=True)
    normal_price = serializers.DecimalField(source="deal.product.price", max_digits=10, decimal_places=2,
                                            read_only=True)
    places_left = serializers.IntegerField(read_only=True)
    share_url = serializers.SerializerMethodField()

    class Meta:
        model = BuyingGroup
        fields = ("code", "offer", "product", "product_title", "unit", "normal_price", "price", "size",
                  "places_taken", "places_left", "status", "expires_at", "filled_at", "share_url")
        read_only_fields = fields

    def get_share_url(self, group) -> str:
        return f"{settings.SITE_URL}{group.get_absolute_url()}"


class MembershipSerializer(serializers.ModelSerializer):
    group = serializers.CharField(source="group.code", read_only=True)
    group_status = serializers.CharField(source="group.status", read_only=True)
    product = serializers.IntegerField(source="group.deal.product_id", read_only=True)
    product_title = serializers.CharField(source="group.deal.product.title", read_only=True)
    size = serializers.IntegerField(source="group.size", read_only=True)
    places_taken = serializers.IntegerField(source="group.places_taken", read_only=True)
    expires_at = serializers.DateTimeField(source="group.expires_at", read_only=True)
    unit_price = serializers.DecimalField(source="group.price", max_digits=10, decimal_places=2, read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)
    total = serializers.DecimalField(source="order.total", max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = GroupMember
        fields = ("id", "group", "group_status", "product", "product_title", "size", "places_taken", "expires_at",
                  "order", "order_number", "quantity", "unit_price", "total", "status", "hold_until",
                  "release_reason", "joined_at")
        read_only_fields = fields


# --- Shared: card authorisation ------------------------------------------------------------------------------------

def _authorise(request, order) -> Response:
    data = AuthoriseSerializer(data=request.data)
    data.is_valid(raise_exception=True)
    token, method = data.validated_data.get("token", ""), data.validated_data.get("payment_method", "")
    if token and not token.startswith("tok_"):
        raise serializers.ValidationError({"token": [_("The card details could not be read. Please enter them "
                                                       "again.")]})
    try:
        if token or method:
            result = services.authorise_card(order=order, token=token, payment_method=method)
        else:
            result = services.card_hold_details(order=order)
    except gateway.PaymentUnavailable as exc:
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_502_BAD_GATEWAY)
    return Response(HoldSerializer(result).data)


AUTHORISE_SCHEMA = extend_schema(
    request=AuthoriseSerializer,
    responses={200: HoldSerializer, 400: OpenApiResponse(description="Bad token"), 404: NOT_FOUND,
               409: CONFLICT, 502: PROVIDER_DOWN},
    description="Authorise the order total on a card (Stripe, capture later; cards only). With `token` or "
                "`payment_method` the card is confirmed on the server; with neither, the answer carries the "
                "client_secret to confirm on the device, after which calling again records the authorisation.")


class CardHoldViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """A buyer's own rows whose order waits for a card hold (pre-orders, group places): list, read, authorise."""

    permission_classes = [permissions.IsAuthenticated]

    @AUTHORISE_SCHEMA
    @action(detail=True, methods=["post"])
    def authorise(self, request, pk=None):
        return _authorise(request, self.get_object().order)


# --- Pre-sales -----------------------------------------------------------------------------------------------------

@extend_schema_view(
    list=extend_schema(parameters=[PRODUCT_FILTER, OpenApiParameter("shop", str, description="Shop slug")],
                       description="Pre-sales taking orders now (harvest window, units left)."),
    retrieve=extend_schema(description="One pre-sale, also when closed or cancelled."),
)
class PreSaleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     viewsets.GenericViewSet):
    """Pre-sales of coming harvests. Farmers create and manage their own; anyone reads; buyers order."""

    serializer_class = PreSaleSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if self.action == "list":
            queryset = selectors.current_presales()
            product = _int_param(self.request, "product")
            if product is not None:
                queryset = queryset.filter(product_id=product)
            shop = self.request.query_params.get("shop", "").strip()
            return queryset.filter(product__shop__slug=shop) if shop else queryset
        if self.action in ("retrieve", "order"):
            return PreSale.objects.filter(product__is_active=True, product__shop__is_open=True).select_related(
                "product", "product__shop")
        return selectors.presales_managed_by(self.request.user)

    @extend_schema(request=PreSaleCreateSerializer, responses={201: PreSaleSerializer, 400: None, 403: None})
    def create(self, request, *args, **kwargs):
        data = PreSaleCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        presale = services.create_presale(actor=request.user, **data.validated_data)
        return Response(PreSaleSerializer(presale).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PreSaleUpdateSerializer, responses={200: PreSaleSerializer, 404: NOT_FOUND,
                                                               409: CONFLICT})
    def partial_update(self, request, *args, **kwargs):
        presale = self.get_object()
        data = PreSaleUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        presale = services.update_presale(presale=presale, actor=request.user, **data.validated_data)
        return Response(PreSaleSerializer(presale).data)

    @extend_schema(responses={200: PreSaleSerializer(many=True)})
    @action(detail=False, methods=["get"], permission_classes=[permissions.IsAuthenticated])
    def mine(self, request):
        """The pre-sales of the shops you manage, cancelled and past ones included."""
        page = self.paginate_queryset(selectors.presales_managed_by(request.user))
        return self.get_paginated_response(PreSaleSerializer(page, many=True).data)

    @extend_schema(request=HarvestFailedSerializer, responses={200: PreSaleSerializer, 400: None, 404: NOT_FOUND})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def cancel(self, request, pk=None):
        """The harvest failed: every buyer is released (card authorisation cancelled) or refunded, and told."""
        presale = self.get_object()
        data = HarvestFailedSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        presale = services.cancel_presale(presale=presale, actor=request.user, reason=data.validated_data["reason"])
        return Response(PreSaleSerializer(presale).data)

    @extend_schema(request=PreOrderCreateSerializer, responses={201: PreOrderSerializer, 400: None, 404: NOT_FOUND,
                                                                409: CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def order(self, request, pk=None):
        """Pre-order units of this harvest (capacity reserved at once; 409 when not enough is left)."""
        presale = self.get_object()
        data = PreOrderCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        preorder = services.place_preorder(buyer=request.user, presale=presale, **data.validated_data)
        preorder = selectors.preorders_for_buyer(request.user).get(pk=preorder.pk)
        return Response(PreOrderSerializer(preorder).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: SellerPreOrderSerializer(many=True), 404: NOT_FOUND},
                   operation_id="v1_presales_preorders_of_presale")
    @action(detail=True, methods=["get"], url_path="orders", permission_classes=[permissions.IsAuthenticated])
    def preorders(self, request, pk=None):
        """The pre-orders of one of your pre-sales."""
        presale = self.get_object()
        page = self.paginate_queryset(selectors.preorders_of_presale(presale))
        return self.get_paginated_response(SellerPreOrderSerializer(page, many=True).data)

    @extend_schema(request=PreOrderSellerCancelSerializer, responses={200: SellerPreOrderSerializer, 400: None,
                                                                      404: NOT_FOUND, 409: CONFLICT},
                   parameters=[OpenApiParameter("preorder_id", int, OpenApiParameter.PATH)],
                   operation_id="v1_presales_preorders_seller_cancel")
    @action(detail=True, methods=["post"], url_path=r"orders/(?P<preorder_id>[0-9]+)/cancel",
            permission_classes=[permissions.IsAuthenticated])
    def cancel_preorder(self, request, pk=None, preorder_id=None):
        """Cancel one pre-order of your pre-sale (until it ships), telling the buyer why."""
        presale = self.get_object()
        preorder = get_object_or_404(selectors.preorders_of_presale(presale), pk=preorder_id)
        data = PreOrderSellerCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.seller_cancel_preorder(preorder=preorder, actor=request.user, reason=data.validated_data["reason"])
        return Response(SellerPreOrderSerializer(selectors.preorders_of_presale(presale).get(pk=preorder.pk)).data)


@extend_schema_view(list=extend_schema(description="Your pre-orders, newest first."))
class PreOrderViewSet(CardHoldViewSet):
    """Your pre-orders: authorise the card, follow the harvest, cancel before the farm accepts."""

    serializer_class = PreOrderSerializer

    def get_queryset(self):
        return selectors.preorders_for_buyer(self.request.user)

    @extend_schema(request=PreOrderBuyerCancelSerializer, responses={200: PreOrderSerializer, 404: NOT_FOUND,
                                                                     409: CONFLICT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel (until the farm accepts it): the card reservation is released, an up-front payment refunded."""
        preorder = self.get_object()
        data = PreOrderBuyerCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.cancel_preorder(preorder=preorder, actor=request.user, reason=data.validated_data["reason"])
        return Response(PreOrderSerializer(self.get_queryset().get(pk=preorder.pk)).data)


# --- Group buying --------------------------------------------------------------------------------------------------

@extend_schema_view(list=extend_schema(parameters=[PRODUCT_FILTER], description="Group offers on products on sale."))
class GroupDealViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                       viewsets.GenericViewSet):
    """Group offers: N buyers who join within the time limit each pay the group price."""

    serializer_class = GroupDealSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if self.action in ("list", "retrieve", "start"):
            queryset = selectors.public_deals()
            product = _int_param(self.request, "product")
            return queryset.filter(product_id=product) if product is not None else queryset
        return selectors.deals_managed_by(self.request.user)

    @extend_schema(request=GroupDealCreateSerializer, responses={201: GroupDealSerializer, 400: None, 403: None})
    def create(self, request, *args, **kwargs):
        data = GroupDealCreateSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        deal = services.create_group_deal(actor=request.user, **data.validated_data)
        return Response(GroupDealSerializer(deal).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=GroupDealUpdateSerializer, responses={200: GroupDealSerializer, 404: NOT_FOUND})
    def partial_update(self, request, *args, **kwargs):
        deal = self.get_object()
        data = GroupDealUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        deal = services.update_group_deal(deal=deal, actor=request.user, **data.validated_data)
        return Response(GroupDealSerializer(deal).data)

    @extend_schema(responses={200: GroupDealSerializer(many=True)})
    @action(detail=False, methods=["get"], permission_classes=[permissions.IsAuthenticated])
    def mine(self, request):
        """The group offers of the shops you manage."""
        page = self.paginate_queryset(selectors.deals_managed_by(request.user))
        return self.get_paginated_response(GroupDealSerializer(page, many=True).data)

    @extend_schema(request=JoinSerializer, responses={201: MembershipSerializer, 400: None, 404: NOT_FOUND,
                                                      409: CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def start(self, request, pk=None):
        """Start a group and take its first place; then authorise the card (memberships/{id}/authorise/)."""
        deal = self.get_object()
        data = JoinSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        member = services.start_group(deal=deal, buyer=request.user, **data.validated_data)
        member = selectors.memberships_for_buyer(request.user).get(pk=member.pk)
        return Response(MembershipSerializer(member).data, status=status.HTTP_201_CREATED)


@extend_schema_view(list=extend_schema(parameters=[PRODUCT_FILTER], description="Groups open to join, "
                                                                                  "closing soonest first."))
class GroupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Buying groups, found by their share code (/groups/<code>/ on the site)."""

    serializer_class = GroupSerializer
    lookup_field = "code"
    lookup_value_regex = "[Gg][0-9A-Za-z]{4,15}"

    def get_queryset(self):
        if self.action == "list":
            queryset = selectors.open_groups()
            product = _int_param(self.request, "product")
            return queryset.filter(deal__product_id=product) if product is not None else queryset
        return selectors.public_groups()

    def get_object(self):
        code = services.parse_group_code(self.kwargs.get("code", ""))
        return get_object_or_404(self.get_queryset(), code=code or "-")

    @extend_schema(request=JoinSerializer, responses={201: MembershipSerializer, 400: None, 404: NOT_FOUND,
                                                      409: CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def join(self, request, code=None):
        """Take a place (409 when full, closed, or you are in it already); then authorise the card."""
        group = self.get_object()
        data = JoinSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        member = services.join_group(group=group, buyer=request.user, **data.validated_data)
        member = selectors.memberships_for_buyer(request.user).get(pk=member.pk)
        return Response(MembershipSerializer(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: MembershipSerializer, 404: NOT_FOUND, 409: CONFLICT})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAuthenticated])
    def leave(self, request, code=None):
        """Give your place up before the group fills; the card reservation is released."""
        group = self.get_object()
        member = get_object_or_404(selectors.memberships_for_buyer(request.user), group=group,
                                   status__in=GroupMember.HELD)
        member = services.leave_group(member=member, actor=request.user)
        return Response(MembershipSerializer(selectors.memberships_for_buyer(request.user).get(pk=member.pk)).data)


@extend_schema_view(list=extend_schema(description="Your places in buying groups, newest first."))
class MembershipViewSet(CardHoldViewSet):
    """Your places in buying groups."""

    serializer_class = MembershipSerializer

    def get_queryset(self):
        return selectors.memberships_for_buyer(self.request.user)

