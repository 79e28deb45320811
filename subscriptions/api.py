"""/api/v1/boxes/ and /api/v1/subscriptions/: thin, validate, call a service or a selector, answer."""
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from accounts.models import Address
from orders.models import SavedCard
from shops.models import Product, Shop

from . import schedule, selectors, services
from .models import Box, Subscription


class BoxItemSerializer(serializers.Serializer):
    product = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1, max_value=1000)


class BoxSerializer(serializers.ModelSerializer):
    shop = serializers.SlugRelatedField(slug_field="slug", queryset=Shop.objects.all())
    items = BoxItemSerializer(many=True, write_only=True)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, required=False, min_value=Decimal("0.01"),
                                     max_value=Decimal("100000"),
                                     help_text=_("The farm's choice: the price of one box. A fixed set is priced as "
                                                 "its products are."))
    cutoff_weekday = serializers.IntegerField(min_value=0, max_value=6,
                                              help_text="The day each delivery's order is made: 0 Monday ... 6 Sunday.")
    delivery_weekday = serializers.IntegerField(min_value=0, max_value=6,
                                                help_text="The day it is delivered: 0 Monday ... 6 Sunday.")
    places_left = serializers.SerializerMethodField()
    next_delivery = serializers.SerializerMethodField()

    class Meta:
        model = Box
        fields = ("id", "shop", "title", "description", "kind", "price", "frequency", "cutoff_weekday",
                  "delivery_weekday", "capacity", "places_left", "is_active", "items", "next_delivery")

    def to_representation(self, box):
        data = super().to_representation(box)
        data["items"] = [{"product": item.product_id, "title": item.product.title, "quantity": item.quantity}
                         for item in box.items.all()]
        return data

    def get_places_left(self, box) -> int:
        taken = getattr(box, "taken", None)
        return max(box.capacity - (taken if taken is not None else services.live_count(box)), 0)

    def get_next_delivery(self, box) -> str:
        return schedule.deliveries_from(box, timezone.localdate(), 1)[0][1].isoformat()


class BoxUpdateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    capacity = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    is_active = serializers.BooleanField(required=False)
    price = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=Decimal("0.01"),
                                     max_value=Decimal("100000"), required=False)
    cutoff_weekday = serializers.IntegerField(min_value=0, max_value=6, required=False)
    delivery_weekday = serializers.IntegerField(min_value=0, max_value=6, required=False)


CONFLICT = OpenApiResponse(description="Not possible now: the box is full or closed, an illegal status change, a "
                                       "delivery already ordered ({\"detail\", \"code\"})")

PREPARATION = inline_serializer("BoxPreparation", {
    "cutoff": serializers.DateField(), "delivery": serializers.DateField(), "boxes": serializers.IntegerField(),
    "skipped": serializers.IntegerField(), "products": serializers.ListField(child=serializers.DictField())})


@extend_schema_view(create=extend_schema(responses={201: BoxSerializer, 409: CONFLICT}))
class BoxViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Standing-order boxes taking subscribers (`?mine=true`: the boxes of the shops you manage). A shop's manager
    creates one, changes it (PATCH: e.g. caps the boxes per delivery) and sees what to prepare next."""

    serializer_class = BoxSerializer
    permission_classes = [permissions.IsAuthenticatedOrReadOnly]
    lookup_value_regex = r"[0-9]+"

    def _mine(self) -> bool:
        return self.request.query_params.get("mine") in ("1", "true") or self.action not in ("list", "retrieve")

    def get_queryset(self):
        if self._mine():
            return selectors.boxes_for_seller(self.request.user).order_by("id")
        return selectors.public_boxes().order_by("id")

    def perform_create(self, serializer):
        data = serializer.validated_data
        shop = data["shop"]
        products = {p.pk: p for p in Product.objects.filter(pk__in=[i["product"] for i in data["items"]],
                                                            shop=shop).select_related("shop")}
        missing = [i["product"] for i in data["items"] if i["product"] not in products]
        if missing:
            raise serializers.ValidationError({"items": [_("These products are not this shop's: %(ids)s.")
                                                         % {"ids": ", ".join(map(str, missing))}]})
        serializer.instance = services.create_box(
            shop=shop, actor=self.request.user, title=data["title"], description=data.get("description", ""),
            kind=data.get("kind", Box.Kind.FIXED), price=data.get("price"), frequency=data.get("frequency", "weekly"),
            cutoff_weekday=data["cutoff_weekday"], delivery_weekday=data["delivery_weekday"],
            capacity=data["capacity"], items=[(products[i["product"]], i["quantity"]) for i in data["items"]])

    @extend_schema(request=BoxUpdateSerializer, responses={200: BoxSerializer, 409: CONFLICT})
    def partial_update(self, request, pk=None):
        box = get_object_or_404(selectors.boxes_for_seller(request.user), pk=pk)
        data = BoxUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.update_box(box=box, actor=request.user, **data.validated_data)
        return Response(BoxSerializer(get_object_or_404(selectors.boxes_for_seller(request.user), pk=pk)).data)

    @extend_schema(request=None, responses={200: PREPARATION})
    @action(detail=True, methods=["get"])
    def preparation(self, request, pk=None):
        """What to prepare for the box's next delivery: boxes and units of each product."""
        box = get_object_or_404(selectors.boxes_for_seller(request.user), pk=pk)
        plan = selectors.preparation(box)
        return Response({"cutoff": plan["cutoff"], "delivery": plan["delivery"], "boxes": plan["boxes"],
                         "skipped": plan["skipped"],
                         "products": [{"product": p["product"].pk, "title": p["product"].title,
                                       "quantity": p["quantity"]} for p in plan["products"]]})


class SubscriptionSerializer(serializers.ModelSerializer):
    box = serializers.PrimaryKeyRelatedField(queryset=Box.objects.none())
    address = serializers.PrimaryKeyRelatedField(queryset=Address.objects.none())
    payment_method = serializers.PrimaryKeyRelatedField(queryset=SavedCard.objects.none(), allow_null=True,
                                                        required=False,
                                                        help_text="A saved card's id; null: cash on delivery.")
    next_delivery = serializers.SerializerMethodField()

    class Meta:
        model = Subscription
        fields = ("id", "box", "address", "payment_method", "status", "next_delivery", "created_at")
        read_only_fields = ("status", "created_at")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            self.fields["box"].queryset = Box.objects.all()
            self.fields["address"].queryset = Address.objects.filter(user=user)
            self.fields["payment_method"].queryset = SavedCard.objects.filter(buyer=user,
                                                                              status=SavedCard.Status.ACTIVE)

    def get_next_delivery(self, subscription) -> str | None:
        when = selectors.next_delivery(subscription)
        return when.isoformat() if when else None


class SkipSerializer(serializers.Serializer):
    date = serializers.DateField()


class ChangeSerializer(serializers.Serializer):
    address = serializers.IntegerField(min_value=1, required=False)
    payment_method = serializers.IntegerField(min_value=1, required=False, allow_null=True)


@extend_schema_view(create=extend_schema(responses={201: SubscriptionSerializer, 409: CONFLICT}))
class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                          viewsets.GenericViewSet):
    """Your standing orders. POST subscribes (409 when the box is full); skip a delivery, pause, resume, cancel;
    PATCH changes the address or the way to pay (payment_method null: cash on delivery)."""

    serializer_class = SubscriptionSerializer
    permission_classes = [permissions.IsAuthenticated]
    lookup_value_regex = r"[0-9]+"

    def get_queryset(self):
        return selectors.subscriptions_for_buyer(self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.subscribe(buyer=self.request.user, box=data["box"], address=data["address"],
                                                 payment_method=data.get("payment_method"))

    @extend_schema(request=ChangeSerializer, responses={200: SubscriptionSerializer, 409: CONFLICT})
    def partial_update(self, request, pk=None):
        subscription = self.get_object()
        data = ChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        address = None
        if "address" in values:
            address = get_object_or_404(Address.objects.filter(user=request.user), pk=values["address"])
        card, cash = None, "payment_method" in values and values["payment_method"] is None
        if values.get("payment_method"):
            card = get_object_or_404(SavedCard.objects.filter(buyer=request.user, status=SavedCard.Status.ACTIVE),
                                     pk=values["payment_method"])
        services.change_subscription(subscription=subscription, actor=request.user, address=address,
                                     payment_method=card, cash=cash)
        return Response(SubscriptionSerializer(self.get_object(), context={"request": request}).data)

    def _answer(self, request):
        return Response(SubscriptionSerializer(self.get_object(), context={"request": request}).data)

    @extend_schema(request=SkipSerializer, responses={200: SubscriptionSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def skip(self, request, pk=None):
        data = SkipSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.skip_delivery(subscription=self.get_object(), actor=request.user,
                               delivery_date=data.validated_data["date"])
        return self._answer(request)

    @extend_schema(request=None, responses={200: SubscriptionSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def pause(self, request, pk=None):
        services.pause_subscription(subscription=self.get_object(), actor=request.user)
        return self._answer(request)

    @extend_schema(request=None, responses={200: SubscriptionSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        services.resume_subscription(subscription=self.get_object(), actor=request.user)
        return self._answer(request)

    @extend_schema(request=None, responses={200: SubscriptionSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        services.cancel_subscription(subscription=self.get_object(), actor=request.user)
        return self._answer(request)
