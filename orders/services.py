"""Every write to carts and orders: keyword-only arguments, one transaction each.

Locks are always taken in the same order, so two writers never wait on each other in a circle:
the cart, then the Order, then its ShopOrders, then products by ascending id. Every status change
goes through orders.states (an illegal one is a ConflictError, HTTP 409).
"""
from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.models import Address, User
from accounts.services import create_address
from core import codes
from core.errors import ConflictError
from core.money import quantize
from notifications.services import Message, Phrase, notify, notify_many
from shops import stock
from shops.models import Product
from shops.selectors import can_manage_shop

from . import events, selectors, shipping
from .models import ZERO, Cart, CartItem, Order, OrderLine, Payment, ShopOrder, weighed_line_max
from .payments import holds, refunds
from .payments.tasks import cancel_open_intents, capture_weighed_order
from .states import move_order, move_shop_order

OS = Order.Status
SS = ShopOrder.Status
MAX_QUANTITY = 100_000
# Where an anonymous visitor's cart token lives in their session.
CART_SESSION_KEY = "orders_cart"
# A seller may cancel their part until it leaves the farm.
SELLER_CANCELLABLE = {SS.NEW, SS.ACCEPTED, SS.PACKED}
BUYER_CANCELLABLE = selectors.BUYER_CANCELLABLE_PARTS


# --- Notifications ----------------------------------------------------------------------------------------------------

SEE_ORDER = gettext_noop("See the order")


def _notify(*, recipient: User, kind: str, subject: Phrase, body: Phrase, link: str = "",
            dedupe_key: str | None = None, channels=("inbox", "email"), link_label: str = SEE_ORDER) -> None:
    """Write a notification in the caller's transaction (delivered after commit by the outbox); its Phrases are
    shown in the reader's language."""
    notify(recipient=recipient, kind=kind, subject=subject, body=body, link=link, channels=channels,
           dedupe_key=dedupe_key, link_label=link_label)


def _shop_messages(order: Order, shop_orders: Iterable[ShopOrder], *, kind: str, subject, body,
                   counts: dict[int, int] | None = None, dedupe: bool = True) -> list[Message]:
    shop_orders = list(shop_orders)
    managers = selectors.managers_of_shops({so.shop_id for so in shop_orders})
    return [
        Message(recipient=person, kind=kind, link=reverse("orders:seller_order", args=[so.pk]),
                link_label=SEE_ORDER,
                subject=Phrase(subject, {"number": order.number, "shop": so.shop.name}),
                body=Phrase(body, {"number": order.number, "shop": so.shop.name, "total": so.total,
                                        "count": counts[so.pk] if counts else so.lines.count()}),
                dedupe_key=f"{kind}:{so.pk}:{person.pk}" if dedupe else None)
        for so in shop_orders for person in managers.get(so.shop_id, [])]


def _notify_shops(order: Order, shop_orders: Iterable[ShopOrder], *, kind: str, subject, body,
                  counts: dict[int, int] | None = None, dedupe: bool = True) -> None:
    notify_many(_shop_messages(order, shop_orders, kind=kind, subject=subject, body=body, counts=counts,
                               dedupe=dedupe))


def _new_order_messages(order: Order, shop_orders: Iterable[ShopOrder], counts: dict[int, int] | None = None,
                        dedupe: bool = True) -> list[Message]:
    """What each shop is told of its new part; the parts are announced (events.shop_orders_announced) with it."""
    shop_orders = list(shop_orders)
    if shop_orders:
        events.shop_orders_announced.send(sender=Order, order=order, shop_orders=shop_orders)
    return _shop_messages(order, shop_orders, kind="shop_order_new", counts=counts, dedupe=dedupe,
                          subject=gettext_lazy("New order %(number)s for %(shop)s"),
                          body=gettext_lazy("Order %(number)s for %(shop)s: %(count)d line(s), ¥%(total)s. "
                                            "Please accept it on your orders page."))


def _notify_new_order_to_shops(order: Order, shop_orders: Iterable[ShopOrder],
                               counts: dict[int, int] | None = None, dedupe: bool = True) -> None:
    notify_many(_new_order_messages(order, shop_orders, counts=counts, dedupe=dedupe))


# --- Cart -------------------------------------------------------------------------------------------------------------

def new_cart_token() -> str:
    """An anonymous cart's key, kept in the visitor's session (survives the key change at sign-in)."""
    return secrets.token_urlsafe(24)


def _get_or_create_cart(*, user: User | None = None, token: str | None = None) -> Cart:
    lookup = {"user": user} if user is not None else {"session_key": token, "user__isnull": True}
    cart = Cart.objects.select_for_update().filter(**lookup).first()
    if cart is not None:
        return cart
    try:
        with transaction.atomic():
            return Cart.objects.create(user=user) if user is not None else Cart.objects.create(session_key=token)
    except IntegrityError:  # created by a parallel request a moment ago
        return Cart.objects.select_for_update().get(**lookup)


@transaction.atomic
def open_cart(*, user: User | None = None, token: str | None = None) -> Cart:
    """The signed-in user's cart, or the anonymous cart of this token; created when missing."""
    if user is None and not token:
        raise ValueError("a cart needs a user or a token")
    return _get_or_create_cart(user=user, token=token)


def _check_quantity(quantity) -> int:
    try:
        quantity = int(quantity)
    except (TypeError, ValueError):
        raise ValidationError({"quantity": [_("Enter a whole number.")]})
    if quantity < 1 or quantity > MAX_QUANTITY:
        raise ValidationError({"quantity": [_("Enter a quantity between 1 and %(max)d.") % {"max": MAX_QUANTITY}]})
    return quantity


def _check_line(product: Product, quantity: int) -> None:
    problem = selectors.line_problem(product, quantity, holds=stock.lot_holds([product.pk]).get(product.pk))
    if problem:
        field = "quantity" if product.is_active and product.shop.is_open else "product"
        raise ValidationError({field: [problem]})


@transaction.atomic
def add_to_cart(*, cart: Cart, product: Product, quantity: int = 1) -> CartItem:
    """Add units of a product; a product already in the cart gets the quantities added up."""
    quantity = _check_quantity(quantity)
    cart = Cart.objects.select_for_update().get(pk=cart.pk)
    item = cart.items.filter(product=product).first()
    total = quantity + (item.quantity if item else 0)
    _check_line(product, total)
    if item is None:
        item = CartItem.objects.create(cart=cart, product=product, quantity=total)
    else:
        item.quantity = total
        item.save(update_fields=["quantity"])
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    return item


@transaction.atomic
def update_cart_item(*, item: CartItem, quantity: int) -> CartItem:
    quantity = _check_quantity(quantity)
    item = CartItem.objects.select_for_update().select_related("product__shop").get(pk=item.pk)
    _check_line(item.product, quantity)
    item.quantity = quantity
    item.save(update_fields=["quantity"])
    return item


@transaction.atomic
def remove_cart_item(*, item: CartItem) -> None:
    CartItem.objects.filter(pk=item.pk).delete()


@dataclass(frozen=True)
class CartMerge:
    """What sign-in did to the cart the visitor was filling: enough to tell them, and to undo it."""

    cart: Cart
    before: dict[int, int]  # the visitor's cart just before sign-in: product id -> units
    added: list[tuple[str, int]] = field(default_factory=list)  # lines from the saved cart: (title, units)
    raised: list[tuple[str, int, int]] = field(default_factory=list)  # (title, units before, units after)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.raised)


@transaction.atomic
def merge_carts(*, user: User, token: str | None) -> CartMerge | None:
    """At sign-in: the anonymous cart's lines join the user's cart, quantities added up and capped by stock.

    Returns what changed from the visitor's point of view (lines of the saved cart they did not have,
    quantities raised), or None when there was no anonymous cart.
    """
    anonymous = Cart.objects.select_for_update().filter(session_key=token, user__isnull=True).first() if token else None
    if anonymous is None:
        return None
    cart = _get_or_create_cart(user=user)
    existing = {item.product_id: item for item in cart.items.select_for_update().select_related("product")}
    visitor = list(anonymous.items.select_related("product"))
    before = {item.product_id: item.quantity for item in visitor}
    raised: list[tuple[str, int, int]] = []
    for item in visitor:
        mine = existing.get(item.product_id)
        quantity = min(item.quantity + (mine.quantity if mine else 0), item.product.stock)
        if quantity < 1:
            continue  # sold out: nothing to carry over
        if mine is None:
            CartItem.objects.create(cart=cart, product=item.product, quantity=quantity)
        else:
            if mine.quantity != quantity:
                mine.quantity = quantity
                mine.save(update_fields=["quantity"])
            if quantity > item.quantity:
                raised.append((item.product.title, item.quantity, quantity))
    # Told only when both carts had lines: a visitor's cart joining an empty one changes nothing they see.
    added = [(item.product.title, item.quantity) for pid, item in existing.items() if pid not in before] if before \
        else []
    anonymous.delete()
    return CartMerge(cart=cart, before=before, added=added, raised=raised if before else [])


@transaction.atomic
def restore_cart(*, user: User, lines: Mapping[int, int]) -> Cart:
    """Put the user's cart back to exactly these lines (product id -> units): the undo of a merge.
    Products deleted since are left out; anything else that changed shows as a problem on the cart page."""
    cart = _get_or_create_cart(user=user)
    cart.items.all().delete()
    wanted = {int(pid): int(qty) for pid, qty in lines.items() if int(qty) > 0}
    products = Product.objects.in_bulk(list(wanted))
    CartItem.objects.bulk_create([CartItem(cart=cart, product=products[pk], quantity=quantity)
                                  for pk, quantity in wanted.items() if pk in products])
    Cart.objects.filter(pk=cart.pk).update(updated_at=timezone.now())
    return cart


@dataclass(frozen=True)
class BuyAgain:
    """What "buy again" put in the cart, and what it could not, with the reason in the buyer's words."""

    added: list[str]
    refused: list[tuple[str, str]]  # (title, why)


def buy_again(*, buyer: User, order: Order) -> BuyAgain:
    """Put the products of a past order back in the buyer's cart, in the quantities bought then.

    Each product goes through the cart's own checks (on sale, open shop, minimum, stock, the pre-harvest
    rule); one that fails is left out and named with its reason, the others are added.
    """
    if order.buyer_id != buyer.pk:
        raise PermissionDenied("not this buyer's order")
    cart = open_cart(user=buyer)
    wanted: dict[int, int] = defaultdict(int)
    titles: dict[int, str] = {}
    refused: list[tuple[str, str]] = []
    for line in OrderLine.objects.filter(shop_order__order=order).order_by("id"):
        if line.product_id is None:
            refused.append((line.title, _("This product is no longer sold.")))
            continue
        wanted[line.product_id] += line.quantity
        titles.setdefault(line.product_id, line.title)
    products = Product.objects.select_related("shop").in_bulk(list(wanted))
    added: list[str] = []
    for product_id, quantity in wanted.items():
        product = products.get(product_id)
        if product is None:
            refused.append((titles[product_id], _("This product is no longer sold.")))
            continue
        try:
            add_to_cart(cart=cart, product=product, quantity=quantity)
        except ValidationError as exc:
            refused.append((product.title, " ".join(exc.messages)))
        else:
            added.append(product.title)
    return BuyAgain(added=added, refused=refused)


# --- Checkout ---------------------------------------------------------------------------------------------------------

def card_payments_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def available_payment_methods() -> list[str]:
    methods = [Order.PaymentMethod.STRIPE] if card_payments_enabled() else []
    return [*methods, Order.PaymentMethod.COD]


def _new_order_number() -> str:
    """Date then five random characters and a check character: 2611297K3QX9, easy to read out on the phone."""
    return f"{timezone.localdate():%y%m%d}{codes.new_code('', 5)}"


def _check_address(buyer: User, address: Address | None) -> None:
    if address is None or address.user_id != buyer.pk:
        raise ValidationError({"address": [_("Choose one of your delivery addresses.")]})


def _check_payment_method(payment_method: str) -> None:
    if payment_method not in Order.PaymentMethod.values:
        raise ValidationError({"payment_method": [_("Choose online payment or cash on delivery.")]})
    if payment_method not in available_payment_methods():
        raise ValidationError({"payment_method": [_("Online payment is not available right now. "
                                                    "Please choose cash on delivery.")]})


def _save_with_new_number(order: Order) -> None:
    for _attempt in range(5):
        order.number = _new_order_number()
        try:
            with transaction.atomic():
                order.save()
            return
        except IntegrityError:
            if not Order.objects.filter(number=order.number).exists():
                raise
    raise ConflictError(_("Please try again."), code="order_number")


@transaction.atomic
def create_order(*, buyer: User, address: Address, payment_method: str,
                 lines: Iterable[tuple[Product, int, Decimal]], origin: str = Order.Origin.CHECKOUT,
                 reserved_until=None, rates=None) -> Order:
    """The one way an Order is made: one ShopOrder per shop with its OrderLines, under a fresh order number.

    `lines` are (product, quantity, unit price), with each product's shop and village loaded. Each shop's
    part is quoted for shipping as at checkout (`rates`: shipping.current_rates(), loaded when not given).
    The order waits for payment; an online order's parts wait with it (they reach the shops when it is
    paid), a cash-on-delivery order's parts reach the shops at once. An order that presales makes (origin
    presale or group) is held by it: orders' own cancel and expiry flows refuse it (see _refuse_if_held).
    No stock is taken here: the caller reserves it in the same transaction (shops.stock.reserve), or holds
    other units (a pre-sale's capacity).
    """
    if origin not in Order.Origin.values:
        raise ValueError(f"unknown order origin {origin!r}")
    by_shop: dict[int, list[tuple[Product, int, Decimal]]] = defaultdict(list)
    for product, quantity, unit_price in lines:
        by_shop[product.shop_id].append((product, quantity, unit_price))
    if not by_shop:
        raise ValueError("an order needs at least one line")
    online = payment_method == Order.PaymentMethod.STRIPE
    rates = rates if rates is not None else shipping.current_rates()
    parts: list[ShopOrder] = []
    headroom = ZERO  # what the weighed lines may come to above their estimate
    weighed = any(product.is_weighed for shop_lines in by_shop.values() for product, _q, _p in shop_lines)
    for shop_id in sorted(by_shop):
        shop_lines = by_shop[shop_id]
        shop = shop_lines[0][0].shop
        quote = shipping.quote(origin_province=shop.village.province, destination_province=address.province,
                               lines=[(product, quantity) for product, quantity, _price in shop_lines], rates=rates)
        items_total = sum((quantize(price * quantity) for _product, quantity, price in shop_lines), ZERO)
        headroom += sum((weighed_line_max(quantize(price * quantity)) - quantize(price * quantity)
                         for product, quantity, price in shop_lines if product.is_weighed), ZERO)
        parts.append(ShopOrder(shop=shop, status=SS.AWAITING_PAYMENT if online else SS.NEW,
                               items_total=items_total, shipping_fee=quote.fee, total=items_total + quote.fee,
                               weight_kg=quote.weight_kg, cold_chain=quote.cold_chain))
    order = Order(
        buyer=buyer, payment_method=payment_method, status=OS.PENDING_PAYMENT, origin=origin,
        held_by_origin=origin in (Order.Origin.PRESALE, Order.Origin.GROUP),
        recipient=address.name, phone=address.phone, province=address.province, city=address.city,
        district=address.district, address_line=address.line, postal_code=address.postal_code,
        currency=settings.CURRENCY, reserved_until=reserved_until,
        items_total=sum((so.items_total for so in parts), ZERO),
        shipping_total=sum((so.shipping_fee for so in parts), ZERO),
    )
    order.total = order.items_total + order.shipping_total
    order.max_total = order.total + headroom if weighed else None
    _save_with_new_number(order)
    for so in parts:
        so.order = order
    ShopOrder.objects.bulk_create(parts)
    lines_of = {so.pk: [
        OrderLine(shop_order=so, product=product, title=product.title, unit=product.unit,
                  unit_weight_kg=product.unit_weight_kg, unit_price=price, quantity=quantity,
                  line_total=quantize(price * quantity), **_weighed_fields(product, quantity, price))
        for product, quantity, price in by_shop[so.shop_id]] for so in parts}
    OrderLine.objects.bulk_create([line for so in parts for line in lines_of[so.pk]])
    _hold_rows(order, parts, lines_of)
    return order


def _hold_rows(order: Order, parts: list[ShopOrder], lines_of: dict[int, list[OrderLine]]) -> None:
    """Keep the rows just written on the order as if prefetched (`order.shop_orders.all()`, `so.lines.all()`,
    in id order), so that the notifications and the checkout's answer read them without reading them back."""
    _hold(order, "shop_orders", parts)
    for so in parts:
        _hold(so, "lines", lines_of[so.pk])


def _hold(instance, related: str, rows: list) -> None:
    # What prefetch_related leaves behind: the related manager's queryset with its result filled in. Any
    # filter on it (`order.shop_orders.filter(...)`) is a new query, as after a prefetch.
    queryset = getattr(instance, related).get_queryset()
    queryset._result_cache, queryset._prefetch_done = rows, True
    instance._prefetched_objects_cache = {**getattr(instance, "_prefetched_objects_cache", {}), related: queryset}


def _weighed_fields(product: Product, quantity: int, price: Decimal) -> dict:
    if not product.is_weighed:
        return {}
    estimate = quantize(price * quantity)
    # The price per kg the estimate was made from (a pre-sale's own unit price scales it alike).
    per_kg = product.kg_price if price == product.price else quantize(price / product.unit_weight_kg)
    return {"price_per_kg": per_kg, "estimated_total": estimate, "max_total": weighed_line_max(estimate)}


@transaction.atomic
def place_order(*, buyer: User, address: Address, payment_method: str) -> Order:
    """Check the buyer's cart out: one Order, one ShopOrder per shop, stock reserved, cart emptied.

    Any line that can no longer be served (off sale, shop closed, below the minimum, not enough stock)
    is a ConflictError naming the product, and nothing is saved.
    """
    _check_address(buyer, address)
    _check_payment_method(payment_method)
    cart = Cart.objects.select_for_update().filter(user=buyer).first()
    items = list(selectors.cart_items(cart))
    if not items:
        raise ValidationError({"cart": [_("Your cart is empty.")]})

    needed: dict[int, int] = defaultdict(int)
    for item in items:
        needed[item.product_id] += item.quantity
    for item in items:
        problem = selectors.line_problem(item.product, item.quantity, check_stock=False,
                                         holds=stock.sale_hold_of(item))
        if problem:
            raise ConflictError(problem, code="not_available")
        # Fail fast on what is already known to be short; the reservation below is what guarantees it.
        problem = selectors.line_problem(item.product, needed[item.product_id])
        if problem:
            raise ConflictError(problem, code="out_of_stock")

    online = payment_method == Order.PaymentMethod.STRIPE
    reserved_until = timezone.now() + timedelta(minutes=settings.ORDER_RESERVATION_MINUTES) if online else None
    order = create_order(buyer=buyer, address=address, payment_method=payment_method, reserved_until=reserved_until,
                         lines=[(i.product, i.quantity, i.product.price) for i in items])
    cart.items.all().delete()

    params = {"number": order.number, "total": order.total, "minutes": settings.ORDER_RESERVATION_MINUTES}
    messages: list[Message] = []
    if online:
        body = gettext_lazy("Thank you! Order %(number)s comes to ¥%(total)s. Please pay within %(minutes)d "
                            "minutes; after that the order is cancelled and the produce released.")
    else:
        body = gettext_lazy("Thank you! Order %(number)s comes to ¥%(total)s, paid in cash on delivery. "
                            "The farms are preparing it.")
        lines_per_shop: dict[int, int] = defaultdict(int)
        for item in items:
            lines_per_shop[item.product.shop_id] += 1
        shop_orders = list(order.shop_orders.all())  # held by create_order: no read back
        # A brand-new order cannot have been announced before: no de-duplication lookups needed.
        messages = _new_order_messages(order, shop_orders, dedupe=False,
                                       counts={so.pk: lines_per_shop[so.shop_id] for so in shop_orders})
    # The buyer's and every shop's notifications: one INSERT, one broker message after commit.
    notify_many([*messages, Message(
        recipient=buyer, kind="order_placed", link=order.get_absolute_url(), link_label=SEE_ORDER,
        subject=Phrase(gettext_lazy("Order %(number)s received"), params), body=Phrase(body, params))])

    # Stock last: each product row stays locked from its UPDATE until commit, so taking it at the very
    # end keeps that window (and the queue of buyers of a popular product behind it) as short as it can be.
    # A product that sells out here leaves the cached catalogue lists after commit (shops.stock).
    stock.reserve(needed, in_cart=True)
    return order


@transaction.atomic
def place_order_at_new_address(*, buyer: User, address_fields: dict, payment_method: str) -> Order:
    """Checkout with an address typed on the checkout page: saved only if the order is placed."""
    address = create_address(user=buyer, **address_fields)
    return place_order(buyer=buyer, address=address, payment_method=payment_method)


# --- Payment ----------------------------------------------------------------------------------------------------------

def _lock(order: Order) -> Order:
    return Order.objects.select_for_update().get(pk=order.pk)


@transaction.atomic
def mark_order_paid(*, order: Order, payment: Payment | None = None) -> Order:
    """The payment is in: the order is paid, waiting parts go to the shops. Idempotent.

    A second call on a paid (or later) order changes nothing; an order already cancelled is a
    ConflictError (the payments side refunds or revives it).
    """
    order = _lock(order)
    if payment is not None and payment.order_id != order.pk:
        raise ValueError("payment of another order")
    if order.status in (OS.PAID, OS.COMPLETED, OS.REFUNDED):
        return order
    if order.status == OS.CANCELLED:
        raise ConflictError(_("Order %(number)s was cancelled before the payment arrived.") % {
            "number": order.number}, code="order_cancelled")
    move_order(order, OS.PAID)
    order.paid_at = timezone.now()
    order.reserved_until = None
    order.save(update_fields=["status", "paid_at", "reserved_until", "updated_at"])
    released = []
    for so in order.shop_orders.select_for_update().select_related("shop").order_by("id"):
        if so.status == SS.AWAITING_PAYMENT:
            move_shop_order(so, SS.NEW)
            so.save(update_fields=["status", "updated_at"])
            released.append(so)
    params = {"number": order.number, "total": order.total}
    _notify(recipient=order.buyer, kind="order_paid", link=order.get_absolute_url(),
            subject=Phrase(gettext_lazy("Order %(number)s is paid"), params),
            body=Phrase(gettext_lazy("We have received ¥%(total)s for order %(number)s. Thank you!"), params),
            dedupe_key=f"order_paid:{order.pk}")
    _notify_new_order_to_shops(order, released)
    events.order_paid.send(sender=Order, order=order, payment=payment)
    _settle(order)
    return order


def announce_order_to_shops(*, order: Order) -> None:
    """Tell each shop about its new part that is already theirs to prepare (a cash-on-delivery order that another
    app made through create_order, e.g. a standing order). Card orders reach the shops when paid. De-duplicated."""
    parts = list(order.shop_orders.filter(status=SS.NEW).select_related("shop").order_by("id"))
    _notify_new_order_to_shops(order, parts)


@transaction.atomic
def record_cash_payment(*, order: Order, agent: User) -> Payment:
    """The agent (or courier) took the cash for a cash-on-delivery order. A repeat returns the first record."""
    if not (agent.is_authenticated and (agent.role == User.Role.AGENT or agent.is_staff)):
        raise PermissionDenied(_("Only a village agent records cash payments."))
    order = _lock(order)
    if order.payment_method != Order.PaymentMethod.COD:
        raise ConflictError(_("Order %(number)s is paid online, not in cash.") % {"number": order.number},
                            code="not_cash_on_delivery")
    existing = order.payments.filter(provider=Payment.Provider.CASH, status=Payment.Status.SUCCEEDED).first()
    if existing is not None:
        return existing
    if order.status != OS.PENDING_PAYMENT:
        raise ConflictError(_("Order %(number)s is not waiting for payment.") % {"number": order.number},
                            code="not_payable")
    if order.is_weighed and not weighing_complete(order):
        raise ConflictError(_("Order %(number)s is not weighed yet: the farm weighs it when packing, then the "
                              "final amount is known.") % {"number": order.number}, code="not_weighed")
    amount = sum((so.total for so in order.shop_orders.exclude(status=SS.CANCELLED)), ZERO)
    payment = Payment.objects.create(order=order, provider=Payment.Provider.CASH, status=Payment.Status.SUCCEEDED,
                                     amount=amount, currency=order.currency, collected_by=agent,
                                     idempotency_key=f"cash-{order.number}")
    mark_order_paid(order=order, payment=payment)
    return payment


@transaction.atomic
def switch_to_cash_on_delivery(*, order: Order) -> Order:
    """The buyer gives up paying online: the order becomes cash on delivery and goes to the shops at once."""
    order = _lock(order)
    if order.payment_method == Order.PaymentMethod.COD:
        return order
    if order.status != OS.PENDING_PAYMENT:
        raise ConflictError(_("This order is not waiting for payment."), code="not_payable")
    if order.payments.filter(status__in=[Payment.Status.SUCCEEDED, Payment.Status.REQUIRES_CAPTURE]).exists():
        raise ConflictError(_("This order is already paid online."), code="already_paid")
    order.payment_method = Order.PaymentMethod.COD
    order.reserved_until = None
    order.save(update_fields=["payment_method", "reserved_until", "updated_at"])
    released = []
    for so in order.shop_orders.select_for_update().select_related("shop").order_by("id"):
        if so.status == SS.AWAITING_PAYMENT:
            move_shop_order(so, SS.NEW)
            so.save(update_fields=["status", "updated_at"])
            released.append(so)
    _notify_new_order_to_shops(order, released)
    return order


def _stop_card_payment_after_commit(order: Order) -> None:
    """An unpaid online order that ends must not stay payable at Stripe; a task cancels its intent."""
    if order.payment_method != Order.PaymentMethod.STRIPE:
        return

    def enqueue() -> None:
        cancel_open_intents.delay(order.pk)

    # robust: a broker outage must not break the caller; a late payment is still settled by the webhook.
    transaction.on_commit(enqueue, robust=True)


# --- Expiry -----------------------------------------------------------------------------------------------------------

def _expire_locked(order: Order) -> bool:
    if order.status != OS.PENDING_PAYMENT or order.payment_method != Order.PaymentMethod.STRIPE:
        return False
    parts = list(order.shop_orders.select_for_update().order_by("id"))
    stock.release(stock.units_of(OrderLine.objects.filter(shop_order__order=order).only("product_id", "quantity")))
    now = timezone.now()
    reason = _("The time to pay ran out.")
    for so in parts:
        if so.status != SS.CANCELLED:
            move_shop_order(so, SS.CANCELLED)
            _refuse_if_held(order)
            so.cancelled_at, so.cancel_reason = now, reason
            so.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    move_order(order, OS.CANCELLED)
    order.cancelled_at, order.cancel_reason, order.reserved_until = now, reason, None
    order.save(update_fields=["status", "cancelled_at", "cancel_reason", "reserved_until", "updated_at"])
    params = {"number": order.number}
    _notify(recipient=order.buyer, kind="order_expired", link=order.get_absolute_url(),
            subject=Phrase(gettext_lazy("Order %(number)s has expired"), params),
            body=Phrase(gettext_lazy("The time to pay order %(number)s ran out, so it is cancelled and the "
                                          "produce released. You can order again at any time."), params),
            dedupe_key=f"order_expired:{order.pk}")
    _stop_card_payment_after_commit(order)
    return True


@transaction.atomic
def expire_order(*, order: Order) -> Order:
    """Cancel an unpaid online order and give its stock back. Idempotent: anything else is left as it is."""
    order = _lock(order)
    _expire_locked(order)
    return order


def orders_to_expire(*, now=None):
    now = now or timezone.now()
    return Order.objects.filter(status=OS.PENDING_PAYMENT, payment_method=Order.PaymentMethod.STRIPE,
                                reserved_until__lte=now)


def expire_unpaid_orders(*, now=None, limit: int = 500) -> int:
    """Expire online orders unpaid past their reservation; returns how many. Safe to run on many workers.

    Each order in its own short transaction, locked with SKIP LOCKED: an order being paid (or expired by
    another worker) right now is skipped rather than waited for, and re-checked under the lock.
    """
    now = now or timezone.now()
    expired = 0
    for pk in list(orders_to_expire(now=now).order_by("reserved_until", "id").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            order = orders_to_expire(now=now).select_for_update(skip_locked=True).filter(pk=pk).first()
            if order is not None and _expire_locked(order):
                expired += 1
    return expired


# --- Cancelling, accepting, completing ----------------------------------------------------------------------------

def _settle(order: Order) -> None:
    """Derive the Order's status from its parts (the order row is locked by the caller).

    Every part cancelled: the order is cancelled, or refunded when it was paid online. Every part that
    is not cancelled completed: the paid order is completed (a cash order completes once the cash is in).
    """
    order.refresh_from_db(fields=["status"])  # a refund may have moved it already
    if order.status in (OS.CANCELLED, OS.REFUNDED):
        return
    statuses = list(order.shop_orders.values_list("status", flat=True))
    live = [s for s in statuses if s != SS.CANCELLED]
    if not live:
        paid_online = order.status == OS.PAID and order.payment_method == Order.PaymentMethod.STRIPE
        move_order(order, OS.REFUNDED if paid_online else OS.CANCELLED)
        order.cancelled_at = order.cancelled_at or timezone.now()
        order.reserved_until = None
        order.save(update_fields=["status", "cancelled_at", "reserved_until", "updated_at"])
    elif order.status == OS.PAID and all(s == SS.COMPLETED for s in live):
        move_order(order, OS.COMPLETED)
        order.save(update_fields=["status", "updated_at"])


def _refund(shop_order: ShopOrder, reason: str):
    """Return the money paid for a cancelled part (None for cash or an unpaid order)."""
    return refunds.refund_shop_order(shop_order=shop_order, reason=reason)


def _refuse_if_held(order: Order) -> None:
    """A pre-order, or an order still waiting for its buying group, is cancelled by presales (which releases
    the card hold, the pre-sale's units or the group place with it), never by orders' own cancel flows."""
    if not order.held_by_origin:
        return
    if order.origin == Order.Origin.PRESALE:
        raise ConflictError(_("This is a pre-order for a coming harvest: please cancel it on its pre-order page, "
                              "so that the card reservation and the pre-sale's units are released with it."),
                            code="presale_order")
    raise ConflictError(_("This order is waiting for its buying group to fill: leave the group on its page "
                          "instead."), code="group_order")


@transaction.atomic
def end_origin_hold(*, order: Order) -> Order:
    """The app that made a held order hands it to orders' own flows (its buying group has filled): from now on
    the buyer, the shop and expiry may cancel it like any other order. Idempotent."""
    Order.objects.filter(pk=order.pk, held_by_origin=True).update(held_by_origin=False, updated_at=timezone.now())
    order.held_by_origin = False
    return order


# --- For the app that made a held order (presales): it releases its own orders through these ----------------------

def cancel_parts_of_held_order(*, shop_orders: Iterable[ShopOrder], reason: str) -> None:
    """Cancel the parts of an order its origin holds (a released pre-order or group place), through the state
    table. Stock and money are the caller's to give back: it knows what it took (pre-sale capacity, a card hold).
    Parts already cancelled are left as they are."""
    now = timezone.now()
    for so in shop_orders:
        if so.status == SS.CANCELLED:
            continue
        move_shop_order(so, SS.CANCELLED)
        so.cancelled_at, so.cancel_reason = now, reason[:200]
        so.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])


def release_parts_to_shops(*, shop_orders: Iterable[ShopOrder]) -> list[ShopOrder]:
    """Parts whose payment is settled some other way (a captured card hold) go to their shops as new orders."""
    moved = []
    for so in shop_orders:
        if so.status == SS.AWAITING_PAYMENT:
            move_shop_order(so, SS.NEW)
            so.save(update_fields=["status", "updated_at"])
            moved.append(so)
    return moved


def close_order(*, order: Order, reason: str) -> Order:
    """Record why an order made by another app ended, then let its status follow its parts (cancelled, or
    refunded when it had been paid online)."""
    order.cancelled_at, order.cancel_reason, order.reserved_until = timezone.now(), reason[:200], None
    order.save(update_fields=["cancelled_at", "cancel_reason", "reserved_until", "updated_at"])
    return settle_order(order=order)


def open_payment_window(*, order: Order) -> bool:
    """Give an unpaid order the usual time to be paid from now (its card hold lapsed); False if it already has
    a window or is no longer waiting for payment. Call with the order locked."""
    if order.status != OS.PENDING_PAYMENT or order.reserved_until is not None:
        return False
    order.reserved_until = timezone.now() + timedelta(minutes=settings.ORDER_RESERVATION_MINUTES)
    order.save(update_fields=["reserved_until", "updated_at"])
    return True


def _cancel_part(order: Order, so: ShopOrder, reason: str, now) -> None:
    move_shop_order(so, SS.CANCELLED)
    _refuse_if_held(order)  # checked where the part would be cancelled, after the other refusals
    so.cancelled_at, so.cancel_reason = now, reason[:200]
    so.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
    stock.release(stock.units_of(so.lines.all()))
    if order.status == OS.PAID:
        _refund(so, reason)
        events.paid_part_cancelled.send(sender=ShopOrder, shop_order=so, order=order)


@transaction.atomic
def cancel_order(*, order: Order, actor: User, reason: str = "") -> Order:
    """The buyer cancels the whole order, possible until a shop has accepted its part; paid parts are refunded."""
    order = _lock(order)
    if order.buyer_id != actor.pk:
        raise PermissionDenied(_("This is not your order."))
    if order.status not in (OS.PENDING_PAYMENT, OS.PAID):
        raise ConflictError(_("Order %(number)s cannot be cancelled any more.") % {"number": order.number},
                            code="illegal_transition")
    parts = list(order.shop_orders.select_for_update().select_related("shop").order_by("id"))
    if any(so.status not in BUYER_CANCELLABLE for so in parts):
        raise ConflictError(_("A farm has already started on this order, so it can no longer be cancelled. "
                              "Please contact the farm."), code="already_accepted")
    if not selectors.buyer_can_cancel(order, parts):
        # Paid in cash: the money is with the village agent and goes back by hand, not by a click.
        raise ConflictError(_("This order is paid in cash; please contact the farm to cancel it."),
                            code="paid_in_cash")
    reason = (reason or "").strip() or _("Cancelled by the buyer.")
    now = timezone.now()
    was_paid = order.status == OS.PAID
    if not was_paid:
        _stop_card_payment_after_commit(order)
    open_parts = [so for so in parts if so.status != SS.CANCELLED]
    for so in open_parts:
        _cancel_part(order, so, reason, now)
    order.cancel_reason = reason[:200]
    order.cancelled_at = now
    order.save(update_fields=["cancel_reason", "cancelled_at", "updated_at"])
    _settle(order)
    params = {"number": order.number, "total": order.total}
    _notify(recipient=order.buyer, kind="order_cancelled", link=order.get_absolute_url(),
            subject=Phrase(gettext_lazy("Order %(number)s is cancelled"), params),
            body=Phrase(gettext_lazy("Your order %(number)s is cancelled. Any payment is refunded to the way "
                                          "you paid.") if was_paid else
                             gettext_lazy("Your order %(number)s is cancelled."), params),
            dedupe_key=f"order_cancelled:{order.pk}")
    if was_paid or order.payment_method == Order.PaymentMethod.COD:
        # The shops had been told about it: tell them it is off.
        _notify_shops(order, open_parts, kind="shop_order_cancelled",
                      subject=gettext_lazy("Order %(number)s was cancelled by the buyer"),
                      body=gettext_lazy("The buyer cancelled order %(number)s for %(shop)s before it was accepted. "
                                        "Nothing needs to be sent."))
    return order


def _lock_part(shop_order: ShopOrder) -> tuple[Order, ShopOrder]:
    order = Order.objects.select_for_update().get(pk=shop_order.order_id)
    so = ShopOrder.objects.select_for_update().select_related("shop").get(pk=shop_order.pk)
    return order, so


@transaction.atomic
def accept_shop_order(*, shop_order: ShopOrder, actor: User) -> ShopOrder:
    order, so = _lock_part(shop_order)
    if not can_manage_shop(actor, so.shop):
        raise PermissionDenied(_("You do not manage this shop."))
    move_shop_order(so, SS.ACCEPTED)
    so.accepted_at = timezone.now()
    so.save(update_fields=["status", "accepted_at", "updated_at"])
    return so


# --- Fulfilment: the moves logistics makes (it checks who may make them) ----------------------------------------------

def _move_parts(shop_orders: Iterable[ShopOrder], target: str, *, already: Iterable[str] = ()) -> list[ShopOrder]:
    """Move parts to `target` through the table, in place and in one UPDATE; returns those that moved.

    Their Orders, then the parts, are locked in id order (a caller that holds them already waits for nothing)
    and each part's status is read under the lock. A part at a status in `already` stays as it is; one part
    that cannot move refuses them all (ConflictError naming its status).
    """
    parts = list({so.pk: so for so in shop_orders}.values())
    if not parts:
        return []
    list(Order.objects.select_for_update().filter(pk__in=sorted({so.order_id for so in parts})).order_by("pk")
         .values_list("pk", flat=True))
    current = dict(ShopOrder.objects.select_for_update().filter(pk__in=[so.pk for so in parts]).order_by("pk")
                   .values_list("pk", "status"))
    now = timezone.now()
    moved = []
    for so in parts:
        so.status = current[so.pk]
        if so.status in already:
            continue
        move_shop_order(so, target)
        so.updated_at = now
        moved.append(so)
    ShopOrder.objects.bulk_update(moved, ["status", "updated_at"])
    return moved


@transaction.atomic
def mark_packed(*, shop_order: ShopOrder) -> ShopOrder:
    """accepted -> packed. A packed part stays packed (the farm may pack it again to correct a lot)."""
    _move_parts([shop_order], SS.PACKED, already={SS.PACKED})
    return shop_order


# --- Produce sold by weight -------------------------------------------------------------------------------------------

# A weight above this many times the line's estimate is a typing mistake (grams for kg), not produce.
ABSURD_WEIGHT_FACTOR = 100
KG = Decimal("0.001")


def _parse_weight(raw) -> Decimal | None:
    try:
        weight = Decimal(str(raw).strip().replace(",", "."))
    except (ArithmeticError, ValueError, TypeError):
        return None
    return weight if weight.is_finite() else None


def _payment_taken(order: Order) -> bool:
    return order.status != OS.PENDING_PAYMENT or order.payments.filter(status=Payment.Status.SUCCEEDED).exists()


@transaction.atomic
def record_weights(*, shop_order: ShopOrder, weights: Mapping[int, object]) -> ShopOrder:
    """The farm weighs each weighed line of its part at packing: line total = weight x price per kg, never above
    the line's most (the farm absorbs any overweight); the part's and order's totals follow.

    `weights` maps an OrderLine id to its real weight in kg. Every weighed line needs one and no other line may
    have one; a weight must be above zero and at most ABSURD_WEIGHT_FACTOR times the estimate. Any mistake is a
    ValidationError keyed `weight_<line id>` (or `lines`) and nothing is saved. Once every weighed line of the order is
    weighed, a card authorisation is captured for the final total (after commit); a cash order's agent collects
    the final total. Weights can be corrected (packing again) until the money is taken.
    """
    order = Order.objects.select_for_update().get(pk=shop_order.order_id)  # the order row first, as everywhere
    so = ShopOrder.objects.select_for_update().select_related("shop").get(pk=shop_order.pk)
    lines = list(OrderLine.objects.select_for_update().filter(shop_order=so).order_by("id"))
    by_id = {line.pk: line for line in lines}
    errors: dict[str, list[str]] = defaultdict(list)
    given: dict[int, object] = {}
    for key, raw in weights.items():
        if raw in (None, ""):
            continue
        if not str(key).isdigit() or int(key) not in by_id:
            errors["lines"].append(_("Line %(line)s is not in this order.") % {"line": key})
            continue
        given[int(key)] = raw
    changed = []
    for line in lines:
        raw = given.get(line.pk)
        if not line.is_weighed:
            if raw is not None:
                errors[f"weight_{line.pk}"].append(_("“%(title)s” is not sold by weight: leave its weight empty.")
                                                 % {"title": line.title})
            continue
        if raw is None:
            errors[f"weight_{line.pk}"].append(_("Enter the weight of “%(title)s” in kg.") % {"title": line.title})
            continue
        weight = _parse_weight(raw)
        limit = line.estimated_weight_kg * ABSURD_WEIGHT_FACTOR
        if weight is None:
            errors[f"weight_{line.pk}"].append(_("Enter the weight as a number of kg, such as 1.25."))
        elif weight <= 0:
            errors[f"weight_{line.pk}"].append(_("The weight must be more than 0 kg."))
        elif weight > limit:
            errors[f"weight_{line.pk}"].append(
                _("%(weight)s kg is far more than the %(estimate)s kg expected for “%(title)s”: please check the "
                  "weight (in kg, not grams).") % {"weight": weight, "estimate": line.estimated_weight_kg.normalize(),
                                                   "title": line.title})
        else:
            weight = weight.quantize(KG)
            total = min(quantize(weight * line.price_per_kg), line.max_total)
            if (line.weight_kg, line.line_total) != (weight, total):
                line.weight_kg, line.line_total = weight, total
                changed.append(line)
    if errors:
        raise ValidationError(dict(errors))
    if not changed:
        return so
    if _payment_taken(order):
        raise ConflictError(_("Order %(number)s is paid already, so its weights can no longer change.")
                            % {"number": order.number}, code="already_paid")
    OrderLine.objects.bulk_update(changed, ["weight_kg", "line_total"])
    so.items_total = sum((line.line_total for line in lines), ZERO)
    so.total = so.items_total + so.shipping_fee
    so.save(update_fields=["items_total", "total", "updated_at"])
    parts = list(order.shop_orders.all())
    order.items_total = sum((part.items_total for part in parts), ZERO)
    order.total = order.items_total + order.shipping_total
    order.save(update_fields=["items_total", "total", "updated_at"])
    weighed = [line for line in lines if line.is_weighed]
    params = {"number": order.number, "shop": so.shop.name, "total": so.total,
              "lines": "; ".join(f"{line.title} {line.weight_kg.normalize()} kg ¥{line.line_total}"
                                 for line in weighed)}
    _notify(recipient=order.buyer, kind="order_weighed", link=order.get_absolute_url(),
            subject=Phrase(gettext_lazy("Order %(number)s is weighed"), params),
            body=Phrase(gettext_lazy("%(shop)s weighed your order %(number)s: %(lines)s. This part comes to "
                                          "¥%(total)s; you pay the weighed price, never more than the most shown "
                                          "at checkout."), params),
            dedupe_key=f"order_weighed:{so.pk}:{so.total}")
    _take_weighed_payment_when_ready(order)
    return so


def weighing_complete(order: Order) -> bool:
    """Every weighed line of the order's live parts has its weight."""
    return not OrderLine.objects.filter(shop_order__order=order, price_per_kg__isnull=False,
                                        weight_kg__isnull=True).exclude(shop_order__status=SS.CANCELLED).exists()


def _take_weighed_payment_when_ready(order: Order) -> None:
    """A weighed card order: once every live weighed line is weighed, capture the final total (after commit);
    with every part cancelled, release the authorisation."""
    if not order.is_weighed or order.payment_method != Order.PaymentMethod.STRIPE:
        return
    if order.held_by_origin:
        return
    if order.status == OS.CANCELLED:
        _stop_card_payment_after_commit(order)
        return
    if order.status != OS.PENDING_PAYMENT:
        return
    if not order.shop_orders.exclude(status=SS.CANCELLED).exists():
        _stop_card_payment_after_commit(order)
        return
    if not order.payments.filter(status=Payment.Status.REQUIRES_CAPTURE).exists() or not weighing_complete(order):
        return
    transaction.on_commit(lambda: capture_weighed_order.delay(order.pk), robust=True)


@transaction.atomic
def hold_for_weighing(*, order: Order) -> Order:
    """The card of a weighed order is authorised for its most: the order goes to the farms (who weigh it at
    packing) and waits, without expiring, for the final total to be captured. Idempotent."""
    order = _lock(order)
    if not order.is_weighed or order.status != OS.PENDING_PAYMENT or order.held_by_origin:
        return order
    if order.payment_method != Order.PaymentMethod.STRIPE:
        return order
    renewed = order.reserved_until is not None and not order.shop_orders.filter(status=SS.AWAITING_PAYMENT).exists()
    order.reserved_until = None
    order.save(update_fields=["reserved_until", "updated_at"])
    released = []
    for so in order.shop_orders.select_for_update().select_related("shop").order_by("id"):
        if so.status == SS.AWAITING_PAYMENT:
            move_shop_order(so, SS.NEW)
            so.save(update_fields=["status", "updated_at"])
            released.append(so)
    params = {"number": order.number, "estimate": order.total, "most": order.max_total}
    if released:
        _notify(recipient=order.buyer, kind="order_authorised", link=order.get_absolute_url(),
                subject=Phrase(gettext_lazy("Order %(number)s: card authorised"), params),
                body=Phrase(gettext_lazy("Your card is authorised for at most ¥%(most)s (estimate ¥%(estimate)s)."
                                              " The farm weighs your produce when packing and only the weighed total "
                                              "is charged; the rest is released."), params),
                dedupe_key=f"order_authorised:{order.pk}")
        _notify_new_order_to_shops(order, released)
    elif renewed:
        _notify(recipient=order.buyer, kind="order_authorised", link=order.get_absolute_url(),
                subject=Phrase(gettext_lazy("Order %(number)s: card authorised again"), params),
                body=Phrase(gettext_lazy("Thank you: your card is authorised again for at most ¥%(most)s."),
                                 params))
    _take_weighed_payment_when_ready(order)
    return order


def weighed_orders_to_renew(*, now=None):
    """Weighed card orders whose authorisation is older than WEIGHED_CAPTURE_DAYS and still not captured (cards
    drop an authorisation after about 7 days)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.WEIGHED_CAPTURE_DAYS)
    return Order.objects.filter(
        status=OS.PENDING_PAYMENT, payment_method=Order.PaymentMethod.STRIPE, max_total__isnull=False,
        held_by_origin=False, reserved_until__isnull=True,
        payments__status=Payment.Status.REQUIRES_CAPTURE, payments__created_at__lte=cutoff).distinct()


def renew_weighed_authorisation(*, order: Order, now=None) -> bool:
    """An authorisation about to lapse: release it and ask the buyer to authorise again within
    WEIGHED_REAUTHORISE_HOURS (with a link to the pay page); if they do not, the order expires as usual (stock
    released, the buyer told). Returns whether the order was asked for a new authorisation."""
    now = now or timezone.now()
    holds.release(order=order)  # at Stripe, payment by payment, before the order is touched
    with transaction.atomic():
        order = _lock(order)
        if order.status != OS.PENDING_PAYMENT or order.reserved_until is not None:
            return False
        if order.payments.filter(status__in=[Payment.Status.REQUIRES_CAPTURE, Payment.Status.SUCCEEDED]).exists():
            return False
        order.reserved_until = now + timedelta(hours=settings.WEIGHED_REAUTHORISE_HOURS)
        order.save(update_fields=["reserved_until", "updated_at"])
        params = {"number": order.number, "most": order.max_total, "hours": settings.WEIGHED_REAUTHORISE_HOURS}
        _notify(recipient=order.buyer, kind="order_reauthorise", channels=("inbox", "email", "sms"),
                link=reverse("orders:pay", args=[order.number]),
                subject=Phrase(gettext_lazy("Order %(number)s: please authorise your card again"), params),
                body=Phrase(gettext_lazy("Your produce is not weighed yet and the card authorisation for order "
                                              "%(number)s is about to lapse. Please authorise up to ¥%(most)s again "
                                              "within %(hours)d hours, or the order is cancelled."), params),
                dedupe_key=f"order_reauthorise:{order.pk}:{now:%Y%m%d}")
    return True


def renew_weighed_authorisations(*, now=None, limit: int = 200) -> int:
    renewed = 0
    for order in list(weighed_orders_to_renew(now=now).order_by("id")[:limit]):
        renewed += renew_weighed_authorisation(order=order, now=now)
    return renewed


@transaction.atomic
def mark_handed_over(*, shop_order: ShopOrder) -> ShopOrder:
    """packed -> handed_over: the farm brought the parcel to its village station."""
    _move_parts([shop_order], SS.HANDED_OVER)
    return shop_order


@transaction.atomic
def mark_in_transit(*, shop_orders: Iterable[ShopOrder]) -> list[ShopOrder]:
    """handed_over -> in_transit for a departing shipment's parts; those already in transit stay."""
    return _move_parts(shop_orders, SS.IN_TRANSIT, already={SS.IN_TRANSIT})


@transaction.atomic
def mark_delivered(*, shop_orders: Iterable[ShopOrder]) -> list[ShopOrder]:
    """handed_over or in_transit -> delivered; parts already delivered or completed stay. Completing a delivered
    part (the buyer's confirmation, or automatically) is complete_shop_order."""
    return _move_parts(shop_orders, SS.DELIVERED, already={SS.DELIVERED, SS.COMPLETED})


@transaction.atomic
def cancel_shop_order(*, shop_order: ShopOrder, actor: User, reason: str) -> ShopOrder:
    """A shop cancels its part with a reason: stock back, paid part refunded, the order follows its parts."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Tell the buyer why you cancel.")]})
    if len(reason) > 200:
        raise ValidationError({"reason": [_("Keep the reason under 200 characters.")]})
    order, so = _lock_part(shop_order)
    if not can_manage_shop(actor, so.shop):
        raise PermissionDenied(_("You do not manage this shop."))
    if so.status == SS.AWAITING_PAYMENT:
        raise ConflictError(_("This order is still waiting for the buyer's payment; if it is not paid in time it "
                              "is cancelled by itself."), code="awaiting_payment")
    if so.status not in SELLER_CANCELLABLE:
        # Handed over or later: the table refuses it, with a message naming the current status.
        move_shop_order(so, SS.CANCELLED)
    was_paid = order.status == OS.PAID
    _cancel_part(order, so, reason, timezone.now())
    _settle(order)
    # A weighed order waiting on this part's weights: the other parts may be complete now (or none is left).
    _take_weighed_payment_when_ready(order)
    params = {"number": order.number, "shop": so.shop.name, "reason": reason, "total": so.total}
    if was_paid and order.payment_method == Order.PaymentMethod.STRIPE:
        body = gettext_lazy("%(shop)s cancelled its part of order %(number)s. Reason: %(reason)s. "
                            "¥%(total)s is refunded to the way you paid.")
    else:
        body = gettext_lazy("%(shop)s cancelled its part of order %(number)s. Reason: %(reason)s.")
    _notify(recipient=order.buyer, kind="order_cancelled", link=order.get_absolute_url(),
            subject=Phrase(gettext_lazy("%(shop)s cancelled part of order %(number)s"), params),
            body=Phrase(body, params), dedupe_key=f"shop_order_cancelled:{so.pk}")
    return so


@transaction.atomic
def complete_shop_order(*, shop_order: ShopOrder) -> ShopOrder:
    """A delivered part is done (confirmed by the buyer or automatically); the order completes with its last part."""
    order, so = _lock_part(shop_order)
    if so.status == SS.COMPLETED:
        return so
    move_shop_order(so, SS.COMPLETED)
    so.save(update_fields=["status", "updated_at"])
    events.shop_order_completed.send(sender=ShopOrder, shop_order=so)
    _settle(order)
    return so


@transaction.atomic
def settle_order(*, order: Order) -> Order:
    """Bring the Order's status in line with its parts, after another app moved a part."""
    order = _lock(order)
    _settle(order)
    return order
