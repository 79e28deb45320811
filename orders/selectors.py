"""Reads for carts and orders, scoped to the user: the one place that says whose orders a user may see."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Address, User
from core.money import quantize
from shops import stock
from shops.models import Product, Shop, ShopMember
from shops.selectors import shops_managed_by

from . import shipping
from .models import ZERO, Cart, CartItem, Order, OrderLine, ShopOrder, weighed_line_max

# --- Cart ---------------------------------------------------------------------------------------------------------


def line_problem(product: Product, quantity: int, *, check_stock: bool = True,
                 holds: stock.LotHolds | stock.SaleHold | None = None) -> str:
    """Why this quantity of a product cannot be ordered now, in words for the buyer; "" when it can.

    `holds` is the product under the pre-harvest rule (`shops.stock`: a cart line's annotation, or lot_holds).
    """
    if not product.is_active:
        return _("“%(product)s” is no longer on sale.") % {"product": product.title}
    if not product.shop.is_open:
        return _("%(shop)s is not taking orders right now.") % {"shop": product.shop.name}
    held = stock.phi_problem(product, holds)
    if held:
        return held
    if quantity < product.min_order:
        return _("The minimum order of “%(product)s” is %(min)d %(unit)s.") % {
            "product": product.title, "min": product.min_order, "unit": product.get_unit_display()}
    if check_stock and quantity > product.stock:
        if product.stock <= 0:
            return _("“%(product)s” is sold out.") % {"product": product.title}
        return _("Only %(stock)d %(unit)s of “%(product)s” left.") % {
            "stock": product.stock, "unit": product.get_unit_display(), "product": product.title}
    return ""


def cart_for_user(user: User) -> Cart | None:
    if not user.is_authenticated:
        return None
    return Cart.objects.filter(user=user).first()


def cart_for_token(token: str | None) -> Cart | None:
    if not token:
        return None
    return Cart.objects.filter(session_key=token, user__isnull=True).first()


def cart_items(cart: Cart | None) -> QuerySet[CartItem]:
    """The cart's lines with product, shop and village, and whether the pre-harvest rule holds the product
    (`shops.stock.sale_hold_of(item)`), in one query."""
    if cart is None:
        return CartItem.objects.none()
    return (cart.items.select_related("product", "product__shop", "product__shop__village")
            .annotate(**stock.sale_hold_annotations("product")).order_by("added_at", "id"))


def cart_item_count(cart: Cart | None) -> int:
    return 0 if cart is None else cart.items.count()


@dataclass
class CartLine:
    item: CartItem
    line_total: Decimal
    problem: str

    @property
    def product(self) -> Product:
        return self.item.product

    @property
    def is_weighed(self) -> bool:
        return self.product.is_weighed

    @property
    def max_total(self) -> Decimal:
        """Sold by weight: the most the line can cost (line_total is then the estimate)."""
        return weighed_line_max(quantize(self.line_total)) if self.is_weighed else self.line_total


@dataclass
class CartGroup:
    """One shop's lines: they become one ShopOrder with one shipping fee."""

    shop: Shop
    lines: list[CartLine] = field(default_factory=list)
    items_total: Decimal = ZERO
    shipping: shipping.ShippingQuote | None = None

    @property
    def shipping_fee(self) -> Decimal | None:
        return self.shipping.fee if self.shipping else None

    @property
    def total(self) -> Decimal:
        return self.items_total + (self.shipping.fee if self.shipping else ZERO)


@dataclass
class CartSummary:
    groups: list[CartGroup]
    province: str = ""

    @property
    def lines(self) -> list[CartLine]:
        return [line for group in self.groups for line in group.lines]

    @property
    def is_empty(self) -> bool:
        return not self.groups

    @property
    def has_problems(self) -> bool:
        return any(line.problem for line in self.lines)

    @property
    def items_total(self) -> Decimal:
        return sum((g.items_total for g in self.groups), ZERO)

    @property
    def shipping_total(self) -> Decimal | None:
        if not self.province:
            return None
        return sum((g.shipping.fee for g in self.groups if g.shipping), ZERO)

    @property
    def total(self) -> Decimal:
        return self.items_total + (self.shipping_total or ZERO)

    @property
    def has_weighed(self) -> bool:
        return any(line.is_weighed for line in self.lines)

    @property
    def max_total(self) -> Decimal:
        """The most the buyer can pay: the weighed lines at their most, the rest as they are."""
        return self.total + sum((line.max_total - line.line_total for line in self.lines if line.is_weighed), ZERO)

    @property
    def count(self) -> int:
        return sum(line.item.quantity for line in self.lines)


def cart_summary(cart: Cart | None, *, province: str = "") -> CartSummary:
    """The cart grouped by shop with subtotals, and shipping fees when the delivery province is known.

    Three queries whatever the size: the lines (with product, shop, village and the pre-harvest rule),
    and the rates once.
    """
    groups: dict[int, CartGroup] = {}
    for item in cart_items(cart):
        product = item.product
        group = groups.setdefault(product.shop_id, CartGroup(shop=product.shop))
        line_total = product.price * item.quantity
        group.lines.append(CartLine(item=item, line_total=line_total, problem=line_problem(
            product, item.quantity, holds=stock.sale_hold_of(item))))
        group.items_total += line_total
    if province and groups:
        rates = shipping.current_rates()
        for group in groups.values():
            group.shipping = shipping.quote(
                origin_province=group.shop.village.province, destination_province=province,
                lines=[(line.product, line.item.quantity) for line in group.lines], rates=rates)
    return CartSummary(groups=list(groups.values()), province=province)


def default_address(user: User) -> Address | None:
    if not user.is_authenticated:
        return None
    return Address.objects.filter(user=user).order_by("-is_default", "-created_at", "-id").first()


# --- Buyer's orders ---------------------------------------------------------------------------------------------------

# A buyer may cancel the whole order until a shop has accepted its part.
BUYER_CANCELLABLE_PARTS = {ShopOrder.Status.AWAITING_PAYMENT, ShopOrder.Status.NEW, ShopOrder.Status.CANCELLED}


def buyer_can_cancel(order: Order, parts) -> bool:
    """Whether the buyer may cancel: unpaid, or paid online (refunded at once), and no shop has started."""
    unpaid = order.status == Order.Status.PENDING_PAYMENT
    paid_online = order.status == Order.Status.PAID and order.payment_method == Order.PaymentMethod.STRIPE
    return (unpaid or paid_online) and all(so.status in BUYER_CANCELLABLE_PARTS for so in parts)



def orders_for_buyer(user: User) -> QuerySet[Order]:
    """The only orders a user may read or change as a buyer: their own (others are a 404)."""
    if not user.is_authenticated:
        return Order.objects.none()
    return Order.objects.filter(buyer=user)


def order_list_for_buyer(user: User) -> QuerySet[Order]:
    return orders_for_buyer(user).prefetch_related(
        Prefetch("shop_orders", queryset=ShopOrder.objects.select_related("shop").order_by("id")))


def order_detail_for_buyer(user: User) -> QuerySet[Order]:
    return orders_for_buyer(user).prefetch_related(
        # parcel and review (logistics) feed the delivery-code include of the order page, in the same query.
        # parcel__shipment: the carrier and its tracking number, shown to the buyer.
        Prefetch("shop_orders", queryset=ShopOrder.objects.select_related("shop", "shop__village", "parcel",
                                                                          "parcel__shipment", "review")
                 .order_by("id")
                 .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("id")))))


# --- Seller's shop orders ---------------------------------------------------------------------------------------------


def shop_orders_for_seller(user: User) -> QuerySet[ShopOrder]:
    """ShopOrders of the shops the user owns or manages, once paid or cash on delivery.

    Parts still waiting for an online payment are left out: the buyer may never pay, and the shop
    hears about the order when they do.
    """
    return (ShopOrder.objects.filter(shop__in=shops_managed_by(user))
            .exclude(status=ShopOrder.Status.AWAITING_PAYMENT)
            .select_related("order", "shop")
            .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("id")))
            .order_by("-created_at", "-id"))


def reaches_seller(shop_order: ShopOrder) -> bool:
    """Whether the shop sees this part on its order pages (the rule of shop_orders_for_seller, for one row)."""
    return shop_order.status != ShopOrder.Status.AWAITING_PAYMENT


def managers_of_shops(shop_ids) -> dict[int, list[User]]:
    """Each shop's owner and managers, who hear about its orders (two queries)."""
    people: dict[int, dict[int, User]] = defaultdict(dict)
    for shop in Shop.objects.filter(pk__in=list(shop_ids)).select_related("owner"):
        people[shop.pk][shop.owner_id] = shop.owner
    for member in (ShopMember.objects.filter(shop_id__in=list(shop_ids), role=ShopMember.Role.MANAGER)
                   .select_related("user")):
        people[member.shop_id][member.user_id] = member.user
    return {shop_id: list(users.values()) for shop_id, users in people.items()}
