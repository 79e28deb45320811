"""Cart, checkout, buyer orders and seller orders API. Thin: validate the shape, call a service or selector."""
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import addresses_for
from core.money import quantize
from shops.models import Product

from . import selectors, services
from .models import CartItem, Order, OrderLine, ShopOrder


def money(value) -> str | None:
    return None if value is None else str(quantize(value))


# --- Cart -------------------------------------------------------------------------------------------------------------

class CartItemInSerializer(serializers.Serializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.select_related("shop"))
    quantity = serializers.IntegerField(min_value=1, max_value=services.MAX_QUANTITY, default=1)


class CartItemQuantitySerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=services.MAX_QUANTITY)


class CartItemSerializer(serializers.ModelSerializer):
    title = serializers.CharField(source="product.title", read_only=True)
    shop = serializers.CharField(source="product.shop.slug", read_only=True)
    unit = serializers.CharField(source="product.unit", read_only=True)
    unit_price = serializers.DecimalField(source="product.price", max_digits=10, decimal_places=2, read_only=True)
    line_total = serializers.SerializerMethodField()

    class Meta:
        model = CartItem
        fields = ("id", "product", "title", "shop", "unit", "unit_price", "quantity", "line_total")

    def get_line_total(self, item) -> str:
        return money(item.product.price * item.quantity)


def cart_payload(summary: selectors.CartSummary) -> dict:
    def line(cart_line: selectors.CartLine) -> dict:
        item, product = cart_line.item, cart_line.product
        weighed = {}
        if product.is_weighed:
            weighed = {"price_per_kg": money(product.kg_price), "estimated_weight_kg": str(product.unit_weight_kg),
                       "estimated_total": money(cart_line.line_total), "max_total": money(cart_line.max_total)}
        return {"id": item.pk, "product": product.pk, "title": product.title, "unit": product.unit,
                "unit_price": money(product.price), "quantity": item.quantity, "min_order": product.min_order,
                "stock": product.stock, "line_total": money(cart_line.line_total), "problem": cart_line.problem,
                "pricing": product.pricing, **weighed}

    shops = []
    for group in summary.groups:
        quote = group.shipping
        shops.append({
            "shop": group.shop.slug, "shop_name": group.shop.name, "province": group.shop.village.province,
            "items": [line(cl) for cl in group.lines], "items_total": money(group.items_total),
            "shipping_fee": money(quote.fee) if quote else None, "zone": quote.zone if quote else None,
            "weight_kg": str(quote.weight_kg) if quote else None, "cold_chain": quote.cold_chain if quote else None,
            "total": money(group.total),
        })
    return {"province": summary.province or None, "shops": shops, "count": summary.count,
            "items_total": money(summary.items_total), "shipping_total": money(summary.shipping_total),
            "total": money(summary.total), "currency": "CNY", "can_check_out": not summary.is_empty
            and not summary.has_problems}


CART_RESPONSE = inline_serializer("Cart", {
    "province": serializers.CharField(allow_null=True), "shops": serializers.ListField(child=serializers.DictField()),
    "count": serializers.IntegerField(), "items_total": serializers.CharField(),
    "shipping_total": serializers.CharField(allow_null=True), "total": serializers.CharField(),
    "currency": serializers.CharField(), "can_check_out": serializers.BooleanField()})


class CartView(APIView):
    """Your cart grouped by shop, with shipping per shop to ?address= (default: your default address)."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(parameters=[OpenApiParameter("address", int, description="Quote shipping to this address"),
                               OpenApiParameter("province", str, description="Or to this province")],
                   responses={200: CART_RESPONSE})
    def get(self, request):
        province = request.query_params.get("province", "").strip()[:30]
        if not province:
            address_id = request.query_params.get("address")
            if address_id:
                if not address_id.isdigit():
                    raise ValidationError({"address": [_("Choose one of your delivery addresses.")]})
                address = get_object_or_404(addresses_for(request.user), pk=int(address_id))
            else:
                address = selectors.default_address(request.user)
            province = address.province if address else ""
        summary = selectors.cart_summary(selectors.cart_for_user(request.user), province=province)
        return Response(cart_payload(summary))


class CartItemViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Lines of your cart: adding a product already there adds the quantities up."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = CartItemSerializer
    http_method_names = ["post", "patch", "delete", "options"]

    def get_queryset(self):
        if not self.request.user.is_authenticated:  # the schema generator asks without a user
            return CartItem.objects.none()
        return CartItem.objects.filter(cart__user=self.request.user).select_related("product", "product__shop")

    @extend_schema(request=CartItemInSerializer, responses={201: CartItemSerializer})
    def create(self, request, *args, **kwargs):
        data = CartItemInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cart = services.open_cart(user=request.user)
        item = services.add_to_cart(cart=cart, **data.validated_data)
        return Response(CartItemSerializer(self.get_queryset().get(pk=item.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CartItemQuantitySerializer, responses={200: CartItemSerializer})
    def partial_update(self, request, *args, **kwargs):
        item = self.get_object()
        data = CartItemQuantitySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.update_cart_item(item=item, quantity=data.validated_data["quantity"])
        return Response(CartItemSerializer(self.get_queryset().get(pk=item.pk)).data)

    def perform_destroy(self, instance):
        services.remove_cart_item(item=instance)


# --- Orders -----------------------------------------------------------------------------------------------------------

class OrderLineSerializer(serializers.ModelSerializer):
    pricing = serializers.SerializerMethodField()
    final_total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True, allow_null=True,
                                           help_text="Sold by weight: the weighed price (null until weighed).")

    class Meta:
        model = OrderLine
        fields = ("id", "product", "title", "unit", "unit_weight_kg", "unit_price", "quantity", "line_total", "lot",
                  "pricing", "price_per_kg", "estimated_total", "max_total", "weight_kg", "final_total")

    def get_pricing(self, line) -> str:
        return "weight" if line.is_weighed else "unit"


class BuyerShopOrderSerializer(serializers.ModelSerializer):
    shop = serializers.CharField(source="shop.slug")
    shop_name = serializers.CharField(source="shop.name")
    # The shop's phone, shown to a buyer only once they have ordered from it.
    contact_phone = serializers.CharField(source="shop.contact_phone")
    lines = OrderLineSerializer(many=True)

    class Meta:
        model = ShopOrder
        fields = ("id", "shop", "shop_name", "contact_phone", "status", "lines", "items_total", "shipping_fee",
                  "total", "weight_kg", "cold_chain", "refunded_amount", "cancel_reason", "accepted_at",
                  "cancelled_at")


class OrderSerializer(serializers.ModelSerializer):
    shop_orders = BuyerShopOrderSerializer(many=True)
    address = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = ("id", "number", "status", "payment_method", "items_total", "shipping_total", "total", "currency",
                  "address", "shop_orders", "reserved_until", "paid_at", "cancelled_at", "cancel_reason",
                  "created_at", "origin", "max_total")

    def get_address(self, order) -> dict:
        return {"name": order.recipient, "phone": order.phone, "province": order.province, "city": order.city,
                "district": order.district, "line": order.address_line, "postal_code": order.postal_code}


class OrderCreateSerializer(serializers.Serializer):
    address = serializers.IntegerField(help_text="The id of one of your addresses")
    payment_method = serializers.ChoiceField(choices=Order.PaymentMethod.choices)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class RequiredReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)


CONFLICT = OpenApiResponse(description="Conflict: out of stock or an illegal status change "
                                       "({\"detail\", \"code\"})")


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Your orders. POST checks your cart out (stock is reserved here); another buyer's order is a 404."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = OrderSerializer

    def get_queryset(self):
        return selectors.order_detail_for_buyer(self.request.user)

    @extend_schema(request=OrderCreateSerializer, responses={201: OrderSerializer, 409: CONFLICT})
    def create(self, request):
        data = OrderCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        address = addresses_for(request.user).filter(pk=data.validated_data["address"]).first()
        if address is None:
            raise ValidationError({"address": [_("Choose one of your delivery addresses.")]})
        order = services.place_order(buyer=request.user, address=address,
                                     payment_method=data.validated_data["payment_method"])
        # The order as the service wrote it (its parts and lines are held on it): nothing is read back.
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses={200: OrderSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        order = self.get_object()
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.cancel_order(order=order, actor=request.user, reason=data.validated_data["reason"])
        return Response(OrderSerializer(self.get_queryset().get(pk=order.pk)).data)


# --- Seller -----------------------------------------------------------------------------------------------------------

class SellerShopOrderSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    shop = serializers.CharField(source="shop.slug")
    payment_method = serializers.CharField(source="order.payment_method")
    # Where it goes, without the buyer's name, phone or street.
    destination = serializers.SerializerMethodField()
    lines = OrderLineSerializer(many=True)

    class Meta:
        model = ShopOrder
        fields = ("id", "order", "shop", "status", "payment_method", "destination", "lines", "items_total",
                  "shipping_fee", "total", "weight_kg", "cold_chain", "cancel_reason", "created_at", "accepted_at",
                  "cancelled_at")

    def get_destination(self, so) -> dict:
        return {"province": so.order.province, "city": so.order.city}


class SellerOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """ShopOrders of the shops you own or manage; ?status= filters. Parts not yet paid online are not listed."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = SellerShopOrderSerializer

    def get_queryset(self):
        queryset = selectors.shop_orders_for_seller(self.request.user)
        wanted = self.request.query_params.get("status") if self.action == "list" else None
        if wanted:
            if wanted not in ShopOrder.Status.values:
                raise ValidationError({"status": [_("Unknown status.")]})
            queryset = queryset.filter(status=wanted)
        return queryset

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=ShopOrder.Status.values)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def _fresh(self, pk: int) -> dict:
        return SellerShopOrderSerializer(selectors.shop_orders_for_seller(self.request.user).get(pk=pk)).data

    @extend_schema(request=None, responses={200: SellerShopOrderSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        shop_order = self.get_object()
        services.accept_shop_order(shop_order=shop_order, actor=request.user)
        return Response(self._fresh(shop_order.pk))

    @extend_schema(request=RequiredReasonSerializer, responses={200: SellerShopOrderSerializer, 409: CONFLICT})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        shop_order = self.get_object()
        data = RequiredReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.cancel_shop_order(shop_order=shop_order, actor=request.user, reason=data.validated_data["reason"])
        return Response(self._fresh(shop_order.pk))
