"""Every write of pre-sales and group buying: keyword-only arguments, one transaction each.

A pre-order or a place in a buying group ends as an ordinary orders.Order (one ShopOrder, one OrderLine at
the pre-sale or group price) that the farm accepts, packs and hands over like any other. What differs is
when the money moves:

- pre-order by card: the order total is authorised on the card at once (Stripe, manual capture) and captured
  when the farm hands the parcel over (capture_presale_order, wired to logistics' hand-over signal);
- pre-order with Alipay or WeChat Pay: those cannot be authorised and captured later, so the order is paid in
  full at once through the ordinary pay page, and refunded if the harvest fails;
- pre-order cash on delivery: nothing is taken before delivery;
- group place: card only; authorised on joining, captured for every member when the group fills,
  released for every member when the time runs out.

Pre-sale units are not the product's stock (the harvest is not in yet): they are the pre-sale's capacity,
taken with one conditional UPDATE. Group orders take real stock, like a checkout.

Locks, always in this order: the BuyingGroup (or PreSale), then Orders, then their ShopOrders, then
products, then PreOrder / GroupMember rows. Stripe payments are locked Payment-then-Order, as in
orders.payments. While a pre-order or an unfilled group's order is live, orders' own cancel flows refuse it
(orders made with origin presale or group are held by their origin until end_origin_hold, which a group's
fill calls): it is cancelled here, so the authorisation and the units are released with it. Every status
change of a pre-order, a group or a member goes through presales.states.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Address, User
from core import codes
from core.errors import ConflictError
from core.money import quantize
from notifications.services import notify
from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import Order, OrderLine, Payment, ShopOrder
from orders.payments import intents, refunds
from orders.states import move_shop_order
from shops import stock
from shops.cache import bump_catalogue_version
from shops.models import Product
from shops.selectors import can_manage_shop

from . import stripe_holds
from .models import (
    GROUP_CODE_PREFIX,
    MAX_CAPACITY,
    MAX_GROUP_SIZE,
    MAX_HOURS_TO_FILL,
    BuyingGroup,
    GroupDeal,
    GroupMember,
    PreOrder,
    PreSale,
)
from .states import move_group, move_member, move_preorder

log = logging.getLogger(__name__)

OS = Order.Status
SS = ShopOrder.Status
PS = PreOrder.Status
MS = GroupMember.Status
MAX_QUANTITY = order_services.MAX_QUANTITY
MIN_PRICE, MAX_PRICE = Decimal("0.01"), Decimal("100000")
# The farm may name a harvest up to a year ahead, in a window of up to six months.
MAX_LEAD_DAYS = 366
MAX_WINDOW_DAYS = 183
# Parts that have not left the farm: a pre-order or group order may still be released.
RELEASABLE_PARTS = {SS.AWAITING_PAYMENT, SS.NEW, SS.ACCEPTED, SS.PACKED}
SHIPPED_PARTS = {SS.HANDED_OVER, SS.IN_TRANSIT, SS.DELIVERED, SS.COMPLETED}


# --- Small helpers ------------------------------------------------------------------------------------------------

def _text(message, params: dict) -> Callable[[], str]:
    """A notification text rendered later, in the recipient's language, with the values filled in."""
    return lambda: str(message) % params


def _notify(*, recipient: User, kind: str, subject, body, params: dict, link: str = "",
            dedupe_key: str | None = None) -> None:
    notify(recipient=recipient, kind=kind, subject=_text(subject, params), body=_text(body, params), link=link,
           dedupe_key=dedupe_key)


def _notify_managers(shop_id: int, *, dedupe_key: str | None = None, **kwargs) -> None:
    for person in order_selectors.managers_of_shops({shop_id}).get(shop_id, []):
        _notify(recipient=person, dedupe_key=f"{dedupe_key}:{person.pk}" if dedupe_key else None, **kwargs)


def _enqueue(task_name: str, *args) -> None:
    """Hand work to Celery after commit; a broker outage is logged and the beat sweepers pick the work up."""
    from . import tasks

    def send():
        try:
            getattr(tasks, task_name).delay(*args)
        except Exception:
            log.exception("Could not enqueue %s%r; the sweeper will retry it", task_name, args)

    transaction.on_commit(send)


def _require_manager(actor: User, shop) -> None:
    if not can_manage_shop(actor, shop):
        raise PermissionDenied(_("You do not manage this shop."))


def _price(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError({field: [_("Enter an amount such as 12.50.")]})
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({field: [_("Enter an amount with at most two decimal places.")]})
    if amount < MIN_PRICE or amount > MAX_PRICE:
        raise ValidationError({field: [_("Enter an amount between ¥0.01 and ¥100000.")]})
    return quantize(amount)


def _whole(value, field: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({field: [_("Enter a whole number.")]})
    if number < low or number > high:
        raise ValidationError({field: [_("Enter a number between %(low)d and %(high)d.") % {"low": low,
                                                                                          "high": high}]})
    return number


def _check_address(buyer: User, address: Address | None) -> None:
    if address is None or address.user_id != buyer.pk:
        raise ValidationError({"address": [_("Choose one of your delivery addresses.")]})


def _check_product_on_sale(product: Product) -> None:
    if not product.is_active:
        raise ConflictError(_("“%(product)s” is no longer on sale.") % {"product": product.title}, code="not_on_sale")
    if not product.shop.is_open:
        raise ConflictError(_("%(shop)s is not taking orders right now.") % {"shop": product.shop.name},
                            code="shop_closed")


def _check_min_order(product: Product, quantity: int) -> None:
    if quantity < product.min_order:
        raise ValidationError({"quantity": [_("The minimum order of “%(product)s” is %(min)d %(unit)s.") % {
            "product": product.title, "min": product.min_order, "unit": product.get_unit_display()}]})


def _new_order(*, buyer: User, address: Address, product: Product, quantity: int, unit_price: Decimal,
               payment_method: str, origin: str) -> Order:
    """One Order with one ShopOrder and one OrderLine at the given unit price, made by orders' create_order
    (numbered, shipping quoted as at checkout; an online order's part waits for payment).

    The order holds nothing until paid through reserved_until: presales releases it itself (pay_by, hold_until).
    Its origin holds it, so orders' own cancel flows refuse it while it is a pre-order or an unfilled group's.
    """
    return order_services.create_order(buyer=buyer, address=address, payment_method=payment_method,
                                       lines=[(product, quantity, unit_price)], origin=origin)


def _cancel_parts(parts: list[ShopOrder], reason: str, now) -> None:
    for so in parts:
        if so.status == SS.CANCELLED:
            continue
        move_shop_order(so, SS.CANCELLED)
        so.cancelled_at, so.cancel_reason = now, reason[:200]
        so.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])


def _release_parts_to_shop(parts: list[ShopOrder]) -> list[ShopOrder]:
    moved = []
    for so in parts:
        if so.status == SS.AWAITING_PAYMENT:
            move_shop_order(so, SS.NEW)
            so.save(update_fields=["status", "updated_at"])
            moved.append(so)
    return moved


def _close_order(order: Order, reason: str, now) -> None:
    order.cancelled_at, order.cancel_reason, order.reserved_until = now, reason[:200], None
    order.save(update_fields=["cancelled_at", "cancel_reason", "reserved_until", "updated_at"])
    # Cancelled, or refunded when it had been paid online: the order follows its parts, as orders decides.
    order_services.settle_order(order=order)


def _card_holds_required() -> None:
    if not stripe_holds.card_holds_enabled():
        raise ConflictError(_("Group buying needs card payment, which is not available right now."),
                            code="card_payments_off")


# --- Pre-sales: the farm -------------------------------------------------------------------------------------------

def _check_window(harvest_start, harvest_end, errors: dict) -> None:
    today = timezone.localdate()
    if not isinstance(harvest_start, date):
        errors["harvest_start"] = [_("Enter a date.")]
    elif harvest_start <= today:
        errors["harvest_start"] = [_("The harvest must start in the future.")]
    elif (harvest_start - today).days > MAX_LEAD_DAYS:
        errors["harvest_start"] = [_("Open a pre-sale at most a year before the harvest.")]
    if not isinstance(harvest_end, date):
        errors["harvest_end"] = [_("Enter a date.")]
    elif isinstance(harvest_start, date) and harvest_end < harvest_start:
        errors["harvest_end"] = [_("The harvest cannot end before it starts.")]
    elif isinstance(harvest_start, date) and (harvest_end - harvest_start).days > MAX_WINDOW_DAYS:
        errors["harvest_end"] = [_("Keep the harvest window under six months.")]


@transaction.atomic
def create_presale(*, actor: User, product: Product, harvest_start: date, harvest_end: date, capacity: int,
                   price) -> PreSale:
    """Offer a product for a coming harvest: a window in the future, a capacity in sale units, a price."""
    _require_manager(actor, product.shop)
    errors: dict[str, list[str]] = {}
    _check_window(harvest_start, harvest_end, errors)
    values = {}
    for field, check in (("capacity", lambda: _whole(capacity, "capacity", 1, MAX_CAPACITY)),
                         ("price", lambda: _price(price, "price"))):
        try:
            values[field] = check()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if not product.is_active:
        errors["product"] = [_("This product is not on sale.")]
    if errors:
        raise ValidationError(errors)
    presale = PreSale.objects.create(product=product, harvest_start=harvest_start, harvest_end=harvest_end,
                                     **values)
    bump_catalogue_version()
    return presale


@transaction.atomic
def update_presale(*, presale: PreSale, actor: User, is_open: bool | None = None, capacity=None,
                   price=None) -> PreSale:
    """Stop or resume taking orders, or change the capacity (never below what is sold) or the price of new orders."""
    presale = PreSale.objects.select_for_update().select_related("product__shop").get(pk=presale.pk)
    _require_manager(actor, presale.product.shop)
    if presale.is_cancelled:
        raise ConflictError(_("This pre-sale was cancelled."), code="presale_cancelled")
    fields = []
    if capacity is not None:
        capacity = _whole(capacity, "capacity", 1, MAX_CAPACITY)
        if capacity < presale.units_sold:
            raise ValidationError({"capacity": [_("%(sold)d units are already sold, so the capacity cannot be lower.")
                                                % {"sold": presale.units_sold}]})
        presale.capacity = capacity
        fields.append("capacity")
    if price is not None:
        presale.price = _price(price, "price")
        fields.append("price")
    if is_open is not None:
        presale.is_open = bool(is_open)
        fields.append("is_open")
    if fields:
        presale.save(update_fields=[*fields, "updated_at"])
        bump_catalogue_version()
    return presale


@transaction.atomic
def cancel_presale(*, presale: PreSale, actor: User, reason: str) -> PreSale:
    """The harvest failed: close the pre-sale for good; every buyer is released or refunded and told, one
    Celery task per pre-order (release_for_failed_harvest). A second call changes nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Tell your buyers what happened to the harvest.")]})
    if len(reason) > 200:
        raise ValidationError({"reason": [_("Keep the reason under 200 characters.")]})
    presale = PreSale.objects.select_for_update().select_related("product__shop").get(pk=presale.pk)
    _require_manager(actor, presale.product.shop)
    if presale.is_cancelled:
        return presale
    presale.is_open = False
    presale.cancelled_at = timezone.now()
    presale.cancel_reason = reason
    presale.save(update_fields=["is_open", "cancelled_at", "cancel_reason", "updated_at"])
    for pk in presale.preorders.filter(status__in=PreOrder.LIVE).values_list("pk", flat=True):
        _enqueue("release_for_failed_harvest", pk)
    bump_catalogue_version()
    return presale


# --- Pre-orders: the buyer -----------------------------------------------------------------------------------------

def _presale_problem(presale: PreSale) -> str:
    if presale.is_cancelled:
        return _("This pre-sale was cancelled: %(reason)s") % {"reason": presale.cancel_reason}
    if not presale.is_open:
        return _("This pre-sale is not taking orders right now.")
    if presale.harvest_end < timezone.localdate():
        return _("This harvest is over.")
    return ""


@transaction.atomic
def place_preorder(*, buyer: User, presale: PreSale, address: Address | None, quantity, payment: str) -> PreOrder:
    """Order units of a coming harvest now. Capacity is taken last, with one conditional UPDATE (race-free).

    `payment`: "card" (authorised now on the card, charged when the farm ships: open the hold next),
    "online" (Alipay or WeChat Pay, which cannot be authorised for later: paid in full now on the order's pay
    page) or "cod" (cash on delivery). An order not authorised or paid within ORDER_RESERVATION_MINUTES gives
    its units back.
    """
    _check_address(buyer, address)
    quantity = _whole(quantity, "quantity", 1, MAX_QUANTITY)
    if payment not in PreOrder.Payment.values:
        raise ValidationError({"payment": [_("Choose how to pay.")]})
    online = payment in (PreOrder.Payment.CARD, PreOrder.Payment.ONLINE)
    if online and not intents.card_payments_enabled():
        raise ValidationError({"payment": [_("Online payment is not available right now. Please choose cash on "
                                             "delivery.")]})
    presale = PreSale.objects.select_related("product__shop__village").get(pk=presale.pk)
    product = presale.product
    _check_min_order(product, quantity)
    problem = _presale_problem(presale)
    if problem:
        raise ConflictError(problem, code="presale_closed")
    _check_product_on_sale(product)

    now = timezone.now()
    order = _new_order(buyer=buyer, address=address, product=product, quantity=quantity, unit_price=presale.price,
                       payment_method=Order.PaymentMethod.STRIPE if online else Order.PaymentMethod.COD,
                       origin=Order.Origin.PRESALE)
    preorder = PreOrder.objects.create(
        presale=presale, order=order, buyer=buyer, quantity=quantity, unit_price=presale.price, payment=payment,
        status=PS.PENDING if online else PS.CASH,
        pay_by=now + timedelta(minutes=settings.ORDER_RESERVATION_MINUTES) if online else None)

    params = {"number": order.number, "product": product.title, "total": order.total,
              "start": presale.harvest_start, "end": presale.harvest_end,
              "minutes": settings.ORDER_RESERVATION_MINUTES}
    link = preorder.get_absolute_url()
    bodies = {
        PreOrder.Payment.CARD: gettext_lazy(
            "Pre-order %(number)s for %(product)s (harvest %(start)s to %(end)s): ¥%(total)s. Please authorise your "
            "card within %(minutes)d minutes; it is charged only when the farm ships."),
        PreOrder.Payment.ONLINE: gettext_lazy(
            "Pre-order %(number)s for %(product)s (harvest %(start)s to %(end)s): ¥%(total)s. Please pay within "
            "%(minutes)d minutes; if the harvest fails you are refunded in full."),
        PreOrder.Payment.COD: gettext_lazy(
            "Pre-order %(number)s for %(product)s (harvest %(start)s to %(end)s): ¥%(total)s, paid in cash on "
            "delivery."),
    }
    _notify(recipient=buyer, kind="presale_order_placed", link=link, params=params,
            subject=gettext_lazy("Pre-order %(number)s received"), body=bodies[payment],
            dedupe_key=f"presale_order_placed:{preorder.pk}")
    if not online:
        _tell_shop_about_preorder(preorder, order)

    # Capacity last: the pre-sale row stays locked from this UPDATE to commit, so keep that short.
    taken = PreSale.objects.filter(pk=presale.pk, is_open=True, cancelled_at__isnull=True,
                                   units_sold__lte=F("capacity") - quantity).update(
        units_sold=F("units_sold") + quantity, updated_at=now)
    if not taken:
        left = PreSale.objects.filter(pk=presale.pk).values_list(F("capacity") - F("units_sold"), flat=True).first()
        if not left or left <= 0:
            message = _("Sorry, this pre-sale has just sold out.")
        else:
            message = _("Only %(left)d %(unit)s are left in this pre-sale.") % {"left": left,
                                                                               "unit": product.get_unit_display()}
        raise ConflictError(message, code="sold_out")
    bump_catalogue_version()
    return preorder


def _tell_shop_about_preorder(preorder: PreOrder, order: Order) -> None:
    presale = preorder.presale
    part = order.shop_orders.first()
    params = {"number": order.number, "product": presale.product.title, "quantity": preorder.quantity,
              "start": presale.harvest_start, "end": presale.harvest_end}
    _notify_managers(presale.product.shop_id, kind="presale_order_new", params=params,
                     link=reverse("orders:seller_order", args=[part.pk]) if part else "",
                     subject=gettext_lazy("New pre-order %(number)s"),
                     body=gettext_lazy("%(quantity)d x %(product)s pre-ordered for the harvest of %(start)s to "
                                       "%(end)s. Ship it when the harvest is in."),
                     dedupe_key=f"presale_order_new:{preorder.pk}")


def authorise_card(*, order: Order, token: str = "", payment_method: str = "") -> dict:
    """Authorise the card for a pre-order or a group place (server-side confirm), then record what happened."""
    _check_holdable(order)
    try:
        result = stripe_holds.authorise(order=order, token=token, payment_method=payment_method)
    finally:
        # A decline is recorded too (the next attempt then starts from a fresh intent).
        record_payment_state(order=order)
    return result


def card_hold_details(*, order: Order) -> dict:
    """Stripe.js / mobile SDK details to authorise the card on the device (3-D Secure included)."""
    _check_holdable(order)
    details = stripe_holds.hold_details(order=order)
    record_payment_state(order=order)
    return details


def refresh_payment(*, order: Order) -> None:
    """Ask Stripe again (after the device confirmed, or a lost webhook) and record the outcome."""
    stripe_holds.refresh(order=order)
    record_payment_state(order=order)


def _check_holdable(order: Order) -> None:
    preorder = PreOrder.objects.filter(order_id=order.pk).first()
    member = GroupMember.objects.filter(order_id=order.pk).first() if preorder is None else None
    if preorder is not None:
        if preorder.payment != PreOrder.Payment.CARD or preorder.status != PS.PENDING:
            raise ConflictError(_("This pre-order is not waiting for a card authorisation."),
                                code="not_authorisable")
    elif member is not None:
        if member.status != MS.PENDING:
            raise ConflictError(_("This place is not waiting for a card authorisation."), code="not_authorisable")
    else:
        raise ConflictError(_("This order is not waiting for a card authorisation."), code="not_authorisable")


# --- Following payments (webhooks, server-side confirms, the pay page) --------------------------------------------

def record_payment_state(*, order: Order) -> None:
    """Bring a pre-order or a group place in line with its order's payments. Idempotent, safe to call any time."""
    preorder = PreOrder.objects.filter(order_id=order.pk).only("pk").first()
    if preorder is not None:
        _sync_preorder(preorder.pk)
        return
    member = GroupMember.objects.filter(order_id=order.pk).only("pk", "group_id").first()
    if member is not None:
        _sync_member(member)


@transaction.atomic
def _sync_preorder(preorder_pk: int) -> None:
    preorder = PreOrder.objects.select_related("presale__product").get(pk=preorder_pk)
    order = Order.objects.select_for_update().get(pk=preorder.order_id)
    preorder = PreOrder.objects.select_for_update().select_related("presale__product").get(pk=preorder_pk)
    held = stripe_holds.held_payment(order) is not None
    if preorder.status == PS.PENDING:
        if order.status == OS.PAID:
            # Paid in full (Alipay, WeChat Pay, or a card on the pay page): orders has told the farm already.
            move_preorder(preorder, PS.PAID)
        elif order.payment_method == Order.PaymentMethod.COD and order.status == OS.PENDING_PAYMENT:
            # The buyer switched to cash on the pay page; orders has sent the part to the farm.
            move_preorder(preorder, PS.CASH)
            preorder.payment = PreOrder.Payment.COD
        elif held and order.status == OS.PENDING_PAYMENT:
            move_preorder(preorder, PS.AUTHORISED)
            parts = list(order.shop_orders.select_for_update().order_by("id"))
            _release_parts_to_shop(parts)
            params = {"number": order.number, "total": order.total, "product": preorder.presale.product.title}
            _notify(recipient=order.buyer, kind="presale_card_authorised", link=preorder.get_absolute_url(),
                    params=params, subject=gettext_lazy("Card authorised for pre-order %(number)s"),
                    body=gettext_lazy("¥%(total)s is reserved on your card for %(product)s. You are charged only "
                                      "when the farm ships; if the harvest fails, the reservation is released."),
                    dedupe_key=f"presale_card_authorised:{preorder.pk}")
            _tell_shop_about_preorder(preorder, order)
        else:
            return
        preorder.pay_by = None
    elif preorder.status in (PS.AUTHORISED, PS.PAYMENT_DUE) and order.status in (OS.PAID, OS.COMPLETED):
        move_preorder(preorder, PS.PAID)
    else:
        return
    preorder.save(update_fields=["status", "payment", "pay_by", "updated_at"])


@transaction.atomic
def _sync_member(member: GroupMember) -> None:
    group = BuyingGroup.objects.select_for_update().get(pk=member.group_id)
    member = GroupMember.objects.select_for_update().select_related("order").get(pk=member.pk)
    order = member.order
    secured = order.status == OS.PAID or stripe_holds.held_payment(order) is not None
    if member.status == MS.PENDING and secured and group.status == BuyingGroup.Status.OPEN:
        move_member(member, MS.AUTHORISED)
        member.hold_until = None
        member.save(update_fields=["status", "hold_until"])
        params = {"code": group.code, "left": group.size - group.members.filter(status=MS.AUTHORISED).count(),
                  "total": order.total}
        if not _fill_if_complete(group):
            _notify(recipient=order.buyer, kind="group_card_authorised", link=group.get_absolute_url(),
                    params=params, subject=gettext_lazy("You are in group %(code)s"),
                    body=gettext_lazy("¥%(total)s is reserved on your card. %(left)d more buyer(s) needed; share "
                                      "the link so the group fills in time. If it does not, the reservation is "
                                      "released."),
                    dedupe_key=f"group_card_authorised:{member.pk}")
    elif member.status == MS.RELEASED and stripe_holds.held_payment(order) is not None:
        # An authorisation that arrived after the place was given up: release it too.
        _enqueue("release_order_hold", order.pk)


def _fill_if_complete(group: BuyingGroup) -> bool:
    """The group row is locked by the caller. Every place taken and authorised: the group fills."""
    members = list(group.members.filter(status__in=GroupMember.HELD).select_related("order", "buyer").order_by("id"))
    if group.places_taken < group.size or len(members) < group.size or any(
            m.status != MS.AUTHORISED for m in members):
        return False
    now = timezone.now()
    move_group(group, BuyingGroup.Status.FILLED)
    group.filled_at = now
    group.save(update_fields=["status", "filled_at"])
    for member in members:
        # Confirmed: from now on the order is an ordinary order that orders' own flows may cancel.
        order_services.end_origin_hold(order=member.order)
        move_member(member, MS.CONFIRMED)
    GroupMember.objects.bulk_update(members, ["status"])
    product = group.deal.product
    for member in members:
        params = {"code": group.code, "product": product.title, "number": member.order.number,
                  "total": member.order.total, "size": group.size}
        _notify(recipient=member.buyer, kind="group_filled", link=group.get_absolute_url(), params=params,
                subject=gettext_lazy("Group %(code)s is complete"),
                body=gettext_lazy("All %(size)d places for %(product)s are taken: your order %(number)s is confirmed "
                                  "at the group price and ¥%(total)s is charged to your card."),
                dedupe_key=f"group_filled:{member.pk}")
        _enqueue("confirm_group_member", member.pk)
    bump_catalogue_version()
    return True


# --- Capture, release ----------------------------------------------------------------------------------------------

def capture_presale_order(*, order: Order) -> PreOrder:
    """Charge a card pre-order once its farm has shipped it (the ShopOrder handed over). Idempotent.

    Called by the `presales.capture_presale_order` task, which logistics' hand-over triggers through its
    tracking_events_recorded signal. If the authorisation is gone (released, or lapsed at the card network),
    the pre-order becomes "payment due": the buyer is asked to pay on the order's pay page and the farm is told.
    """
    preorder = PreOrder.objects.filter(order_id=order.pk).select_related("order", "presale__product").first()
    if preorder is None:
        raise ConflictError(_("This order is not a pre-order."), code="not_a_preorder")
    if preorder.status != PS.AUTHORISED:
        return preorder
    order = preorder.order
    if not order.shop_orders.filter(status__in=SHIPPED_PARTS).exists():
        raise ConflictError(_("Pre-order %(number)s has not been shipped yet.") % {"number": order.number},
                            code="not_shipped")
    payment = stripe_holds.held_payment(order)
    status = stripe_holds.capture(payment=payment) if payment is not None else Payment.Status.CANCELLED
    if status == Payment.Status.SUCCEEDED:
        _sync_preorder(preorder.pk)
    else:
        _payment_due(preorder)
    preorder.refresh_from_db()
    return preorder


@transaction.atomic
def _payment_due(preorder: PreOrder) -> None:
    Order.objects.select_for_update().filter(pk=preorder.order_id).first()
    preorder = PreOrder.objects.select_for_update().select_related("order__buyer", "presale__product").get(
        pk=preorder.pk)
    if preorder.status != PS.AUTHORISED:
        return
    move_preorder(preorder, PS.PAYMENT_DUE)
    preorder.save(update_fields=["status", "updated_at"])
    order = preorder.order
    params = {"number": order.number, "total": order.total, "product": preorder.presale.product.title}
    _notify(recipient=order.buyer, kind="presale_payment_due", link=reverse("orders:pay", args=[order.number]),
            params=params, subject=gettext_lazy("Please pay for pre-order %(number)s"),
            body=gettext_lazy("Your %(product)s is on its way, but the reservation on your card has lapsed, so "
                              "the charge of ¥%(total)s did not go through. Please pay on the order's page."),
            dedupe_key=f"presale_payment_due:{preorder.pk}")
    _notify_managers(preorder.presale.product.shop_id, kind="presale_payment_due_shop", params=params,
                     subject=gettext_lazy("Pre-order %(number)s: card charge failed"),
                     body=gettext_lazy("The card reservation for pre-order %(number)s (¥%(total)s) had lapsed when "
                                       "you shipped it. The buyer has been asked to pay online."),
                     dedupe_key=f"presale_payment_due_shop:{preorder.pk}")


def release_preorder(*, preorder: PreOrder, reason: str) -> PreOrder:
    """Cancel a pre-order that has not left the farm: its card authorisation is released (or an up-front payment
    refunded), its order cancelled, its units given back to the pre-sale, and the buyer told. Idempotent.

    Stripe first (its calls cannot be rolled back; each is idempotent here), then one transaction for the rows.
    """
    preorder = PreOrder.objects.select_related("order").get(pk=preorder.pk)
    if not preorder.is_live:
        return preorder
    order = preorder.order
    parts = list(order.shop_orders.all())
    if any(so.status not in RELEASABLE_PARTS | {SS.CANCELLED} for so in parts):
        raise ConflictError(_("Pre-order %(number)s has already left the farm, so it can no longer be cancelled.")
                            % {"number": order.number}, code="already_shipped")
    if order.payments.filter(provider=Payment.Provider.STRIPE).exists():
        stripe_holds.release(order=order)
    return _release_preorder_rows(preorder.pk, reason)


@transaction.atomic
def _release_preorder_rows(preorder_pk: int, reason: str) -> PreOrder:
    preorder = PreOrder.objects.get(pk=preorder_pk)
    order = Order.objects.select_for_update().select_related("buyer").get(pk=preorder.order_id)
    parts = list(order.shop_orders.select_for_update().order_by("id"))
    preorder = PreOrder.objects.select_for_update().select_related("presale__product").get(pk=preorder_pk)
    if not preorder.is_live:
        return preorder
    if any(so.status not in RELEASABLE_PARTS | {SS.CANCELLED} for so in parts):
        raise ConflictError(_("Pre-order %(number)s has already left the farm, so it can no longer be cancelled.")
                            % {"number": order.number}, code="already_shipped")
    now = timezone.now()
    shop_was_told = any(so.status != SS.AWAITING_PAYMENT for so in parts)
    _cancel_parts(parts, reason, now)
    refunded = Decimal("0.00")
    if order.status in (OS.PAID, OS.COMPLETED):
        for so in parts:
            refund = refunds.refund_shop_order(shop_order=so, reason=reason)
            if refund is not None:
                refunded += refund.amount
    _close_order(order, reason, now)
    PreSale.objects.filter(pk=preorder.presale_id).update(units_sold=F("units_sold") - preorder.quantity,
                                                          updated_at=now)
    was_held = preorder.status == PS.AUTHORISED
    move_preorder(preorder, PS.CANCELLED)
    preorder.cancelled_at, preorder.cancel_reason, preorder.pay_by = now, reason[:200], None
    preorder.save(update_fields=["status", "cancelled_at", "cancel_reason", "pay_by", "updated_at"])

    product = preorder.presale.product
    params = {"number": order.number, "product": product.title, "reason": reason, "total": order.total,
              "refunded": refunded}
    if refunded:
        body = gettext_lazy("Pre-order %(number)s for %(product)s is cancelled: %(reason)s. ¥%(refunded)s is "
                            "refunded to the way you paid.")
    elif was_held:
        body = gettext_lazy("Pre-order %(number)s for %(product)s is cancelled: %(reason)s. The ¥%(total)s reserved "
                            "on your card is released; you are not charged.")
    else:
        body = gettext_lazy("Pre-order %(number)s for %(product)s is cancelled: %(reason)s.")
    _notify(recipient=order.buyer, kind="presale_order_cancelled", link=preorder.get_absolute_url(), params=params,
            subject=gettext_lazy("Pre-order %(number)s is cancelled"), body=body,
            dedupe_key=f"presale_order_cancelled:{preorder.pk}")
    if shop_was_told:
        _notify_managers(product.shop_id, kind="presale_order_cancelled_shop", params=params,
                         subject=gettext_lazy("Pre-order %(number)s is cancelled"),
                         body=gettext_lazy("Pre-order %(number)s for %(product)s is cancelled: %(reason)s. Nothing "
                                           "needs to be sent."),
                         dedupe_key=f"presale_order_cancelled_shop:{preorder.pk}")
    bump_catalogue_version()
    return preorder


def cancel_preorder(*, preorder: PreOrder, actor: User, reason: str = "") -> PreOrder:
    """The buyer cancels, possible until the farm accepts the order (as for any order)."""
    if preorder.buyer_id != actor.pk:
        raise PermissionDenied(_("This is not your order."))
    if not preorder.is_live:
        raise ConflictError(_("This pre-order is already cancelled."), code="already_cancelled")
    if preorder.order.shop_orders.exclude(status__in=order_services.BUYER_CANCELLABLE).exists():
        raise ConflictError(_("The farm has already started on this pre-order, so it can no longer be cancelled. "
                              "Please contact the farm."), code="already_accepted")
    reason = (reason or "").strip()[:200] or _("Cancelled by the buyer.")
    return release_preorder(preorder=preorder, reason=reason)


def seller_cancel_preorder(*, preorder: PreOrder, actor: User, reason: str) -> PreOrder:
    """The farm cancels one pre-order (until it ships), telling the buyer why."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Tell the buyer why you cancel.")]})
    if len(reason) > 200:
        raise ValidationError({"reason": [_("Keep the reason under 200 characters.")]})
    _require_manager(actor, preorder.presale.product.shop)
    if not preorder.is_live:
        raise ConflictError(_("This pre-order is already cancelled."), code="already_cancelled")
    return release_preorder(preorder=preorder, reason=reason)


def release_for_failed_harvest(*, preorder: PreOrder) -> PreOrder:
    """Task body after cancel_presale: release one buyer, with the farm's reason."""
    preorder = PreOrder.objects.select_related("presale").get(pk=preorder.pk)
    if not preorder.presale.is_cancelled:
        return preorder
    reason = _("The harvest failed: %(reason)s") % {"reason": preorder.presale.cancel_reason}
    return release_preorder(preorder=preorder, reason=reason)


def release_unpaid_preorders(*, now=None, limit: int = 200) -> int:
    """Beat: give back the units of pre-orders not authorised or paid in time, and finish releasing the buyers of
    cancelled pre-sales whose task was lost. Stripe is asked first, so an authorisation that did arrive is kept."""
    now = now or timezone.now()
    released = 0
    due = list(PreOrder.objects.filter(status=PS.PENDING, pay_by__lte=now).order_by("pay_by", "id")
               .values_list("pk", flat=True)[:limit])
    stale = list(PreOrder.objects.filter(status__in=PreOrder.LIVE, presale__cancelled_at__lte=now - timedelta(
        minutes=5)).exclude(order__shop_orders__status__in=SHIPPED_PARTS).order_by("id")
        .values_list("pk", flat=True)[:limit])
    for pk in dict.fromkeys(due + stale):
        preorder = PreOrder.objects.select_related("order", "presale").get(pk=pk)
        try:
            if pk in due:
                refresh_payment(order=preorder.order)
                preorder.refresh_from_db(fields=["status"])
                if preorder.status != PS.PENDING:
                    continue
                release_preorder(preorder=preorder, reason=_("The time to pay ran out."))
            else:
                release_for_failed_harvest(preorder=preorder)
        except ConflictError as exc:  # Stripe unreachable (retried next run), or shipped meanwhile
            log.warning("Pre-order %s not released now: %s", pk, exc.message)
            continue
        released += 1
    return released


# --- Group deals: the farm -----------------------------------------------------------------------------------------

@transaction.atomic
def create_group_deal(*, actor: User, product: Product, group_size, group_price, hours_to_fill) -> GroupDeal:
    """Offer a group price for groups of N buyers (N >= 2) who join within a time limit; it must beat the price."""
    _require_manager(actor, product.shop)
    errors: dict[str, list[str]] = {}
    values = {}
    for field, check in (("group_size", lambda: _whole(group_size, "group_size", 2, MAX_GROUP_SIZE)),
                         ("group_price", lambda: _price(group_price, "group_price")),
                         ("hours_to_fill", lambda: _whole(hours_to_fill, "hours_to_fill", 1, MAX_HOURS_TO_FILL))):
        try:
            values[field] = check()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if "group_price" in values and values["group_price"] >= product.price:
        errors["group_price"] = [_("The group price must be lower than the normal price (¥%(price)s).")
                                 % {"price": product.price}]
    if not product.is_active:
        errors["product"] = [_("This product is not on sale.")]
    if errors:
        raise ValidationError(errors)
    deal = GroupDeal.objects.create(product=product, **values)
    bump_catalogue_version()
    return deal


@transaction.atomic
def update_group_deal(*, deal: GroupDeal, actor: User, is_active: bool) -> GroupDeal:
    """Stop (or resume) offering new groups; groups already open run to their end."""
    deal = GroupDeal.objects.select_for_update().select_related("product__shop").get(pk=deal.pk)
    _require_manager(actor, deal.product.shop)
    deal.is_active = bool(is_active)
    deal.save(update_fields=["is_active", "updated_at"])
    bump_catalogue_version()
    return deal


# --- Groups: the buyers --------------------------------------------------------------------------------------------

def _new_group_code() -> str:
    return codes.new_code(GROUP_CODE_PREFIX, 7)


def parse_group_code(raw: str) -> str:
    """The canonical share code, or "" when it cannot be one (typos are caught by the check character)."""
    code = codes.normalise((raw or "")[:32], GROUP_CODE_PREFIX)
    return code if codes.is_valid(code, GROUP_CODE_PREFIX) else ""


def _check_member_input(*, buyer: User, address: Address | None, quantity, product: Product) -> int:
    _check_address(buyer, address)
    quantity = _whole(quantity if quantity not in (None, "") else product.min_order, "quantity", 1, MAX_QUANTITY)
    _check_min_order(product, quantity)
    return quantity


def _join_locked(*, group: BuyingGroup, buyer: User, address: Address, quantity: int) -> GroupMember:
    """Take a place in a group whose row the caller holds locked (so the last place is taken once)."""
    now = timezone.now()
    if group.status != BuyingGroup.Status.OPEN or group.expires_at <= now:
        raise ConflictError(_("This group has closed."), code="group_closed")
    if group.members.filter(buyer=buyer, status__in=GroupMember.LIVE).exists():
        raise ConflictError(_("You are already in this group."), code="already_member")
    if group.places_taken >= group.size:
        raise ConflictError(_("This group is full."), code="group_full")
    product = group.deal.product
    _check_product_on_sale(product)
    order = _new_order(buyer=buyer, address=address, product=product, quantity=quantity, unit_price=group.price,
                       payment_method=Order.PaymentMethod.STRIPE, origin=Order.Origin.GROUP)
    try:
        with transaction.atomic():
            member = GroupMember.objects.create(
                group=group, buyer=buyer, order=order, quantity=quantity, status=MS.PENDING,
                hold_until=now + timedelta(minutes=settings.ORDER_RESERVATION_MINUTES))
    except IntegrityError:  # the unique live place per buyer, should the lock ever be bypassed
        raise ConflictError(_("You are already in this group."), code="already_member")
    group.places_taken += 1  # the row is locked: no one else changes it before commit
    group.save(update_fields=["places_taken"])
    params = {"code": group.code, "product": product.title, "total": order.total,
              "minutes": settings.ORDER_RESERVATION_MINUTES}
    _notify(recipient=buyer, kind="group_joined", link=group.get_absolute_url(), params=params,
            subject=gettext_lazy("You joined group %(code)s"),
            body=gettext_lazy("Your place in the group for %(product)s is held for %(minutes)d minutes: authorise "
                              "¥%(total)s on your card to keep it. You are charged only if the group fills."),
            dedupe_key=f"group_joined:{member.pk}")
    # Stock last, as at checkout: the product row stays locked until commit.
    stock.reserve({product.pk: quantity}, in_cart=False)
    bump_catalogue_version()
    return member


@transaction.atomic
def start_group(*, deal: GroupDeal, buyer: User, address: Address | None, quantity=None) -> GroupMember:
    """Open a new group of a deal and take its first place; share its link (/groups/<code>/) to fill it."""
    deal = GroupDeal.objects.select_related("product__shop__village").get(pk=deal.pk)
    product = deal.product
    quantity = _check_member_input(buyer=buyer, address=address, quantity=quantity, product=product)
    _card_holds_required()
    if not deal.is_active:
        raise ConflictError(_("This group offer has ended."), code="deal_ended")
    if deal.group_price >= product.price:
        raise ConflictError(_("This group offer is no longer cheaper than the normal price."), code="deal_ended")
    _check_product_on_sale(product)
    group = BuyingGroup(deal=deal, size=deal.group_size, price=deal.group_price, started_by=buyer,
                        expires_at=timezone.now() + timedelta(hours=deal.hours_to_fill))
    for _attempt in range(5):
        group.code = _new_group_code()
        try:
            with transaction.atomic():
                group.save()
            break
        except IntegrityError:
            if not BuyingGroup.objects.filter(code=group.code).exists():
                raise
    else:
        raise ConflictError(_("Please try again."), code="group_code")
    group = BuyingGroup.objects.select_for_update().select_related("deal__product__shop__village").get(pk=group.pk)
    return _join_locked(group=group, buyer=buyer, address=address, quantity=quantity)


@transaction.atomic
def join_group(*, group: BuyingGroup, buyer: User, address: Address | None, quantity=None) -> GroupMember:
    """Take a place in a group through its share link. Under the group's row lock: the last place is taken once,
    a join at the deadline is refused, and a buyer holds at most one place (409 for each)."""
    product = GroupDeal.objects.select_related("product__shop__village").get(pk=group.deal_id).product
    quantity = _check_member_input(buyer=buyer, address=address, quantity=quantity, product=product)
    _card_holds_required()
    group = BuyingGroup.objects.select_for_update().select_related("deal__product__shop__village").get(pk=group.pk)
    return _join_locked(group=group, buyer=buyer, address=address, quantity=quantity)


def _release_member_locked(group: BuyingGroup, member: GroupMember, reason: str, now, *, kind: str,
                           subject, body) -> bool:
    """Give a held place up (group row locked by the caller): order cancelled, stock back, authorisation released
    after commit, buyer told. False when the order has left the farm (paid in full and shipped): it stands."""
    order = Order.objects.select_for_update().select_related("buyer").get(pk=member.order_id)
    parts = list(order.shop_orders.select_for_update().order_by("id"))
    member = GroupMember.objects.select_for_update().get(pk=member.pk)
    if member.status not in GroupMember.HELD:
        return False
    if any(so.status not in RELEASABLE_PARTS | {SS.CANCELLED} for so in parts):
        log.warning("Group order %s has shipped; its place is kept", order.number)
        move_member(member, MS.CONFIRMED)
        member.save(update_fields=["status"])
        order_services.end_origin_hold(order=order)
        return False
    _cancel_parts(parts, reason, now)
    stock.release(stock.units_of(OrderLine.objects.filter(shop_order__order=order).only("product_id", "quantity")))
    if order.status in (OS.PAID, OS.COMPLETED):  # paid in full on the ordinary pay page: give it back
        for so in parts:
            refunds.refund_shop_order(shop_order=so, reason=reason)
    _close_order(order, reason, now)
    move_member(member, MS.RELEASED)
    member.released_at, member.release_reason, member.hold_until = now, reason[:200], None
    member.save(update_fields=["status", "released_at", "release_reason", "hold_until"])
    _enqueue("release_order_hold", order.pk)
    params = {"code": group.code, "product": group.deal.product.title, "number": order.number,
              "total": order.total, "reason": reason}
    _notify(recipient=order.buyer, kind=kind, link=group.get_absolute_url(), params=params, subject=subject,
            body=body, dedupe_key=f"{kind}:{member.pk}")
    return True


@transaction.atomic
def leave_group(*, member: GroupMember, actor: User) -> GroupMember:
    """A member gives their place up before the group fills; the card authorisation is released."""
    if member.buyer_id != actor.pk:
        raise PermissionDenied(_("This is not your place."))
    group = BuyingGroup.objects.select_for_update().select_related("deal__product").get(pk=member.group_id)
    member = GroupMember.objects.get(pk=member.pk)
    if member.status not in GroupMember.HELD or group.status != BuyingGroup.Status.OPEN:
        raise ConflictError(_("You can no longer leave this group."), code="cannot_leave")
    if _release_member_locked(group, member, _("You left the group."), timezone.now(), kind="group_left",
                              subject=gettext_lazy("You left group %(code)s"),
                              body=gettext_lazy("Your order %(number)s is cancelled and the ¥%(total)s reserved on "
                                                "your card is released.")):
        group.places_taken -= 1
        group.save(update_fields=["places_taken"])
    bump_catalogue_version()
    return GroupMember.objects.get(pk=member.pk)


def _fail_group_locked(group: BuyingGroup, now) -> None:
    move_group(group, BuyingGroup.Status.FAILED)
    group.failed_at = now
    group.save(update_fields=["status", "failed_at"])
    for member in group.members.filter(status__in=GroupMember.HELD).order_by("id"):
        _release_member_locked(
            group, member, _("The group did not fill in time."), now, kind="group_failed",
            subject=gettext_lazy("Group %(code)s did not fill"),
            body=gettext_lazy("Not enough buyers joined the group for %(product)s in time. Your order %(number)s is "
                              "cancelled and the ¥%(total)s reserved on your card is released; you are not charged."))


def expire_groups(*, now=None, limit: int = 200) -> int:
    """Beat: fail every open group past its deadline (every place released), and give back places whose card was
    not authorised in time. Each group in its own short transaction, locked with SKIP LOCKED: a group being
    joined right now is looked at again next run. Returns how many groups failed."""
    now = now or timezone.now()
    failed = 0
    for pk in list(BuyingGroup.objects.filter(status=BuyingGroup.Status.OPEN, expires_at__lte=now)
                   .order_by("expires_at", "id").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            group = (BuyingGroup.objects.select_for_update(skip_locked=True).select_related("deal__product")
                     .filter(pk=pk, status=BuyingGroup.Status.OPEN, expires_at__lte=now).first())
            if group is not None:
                _fail_group_locked(group, now)
                bump_catalogue_version()
                failed += 1
    lapsed = (GroupMember.objects.filter(status=MS.PENDING, hold_until__lte=now, group__status=BuyingGroup.Status.OPEN)
              .select_related("order").order_by("hold_until", "id")[:limit])
    for member in list(lapsed):
        try:
            refresh_payment(order=member.order)  # an authorisation that did arrive keeps the place
        except ConflictError as exc:
            log.warning("Group place %s not checked now: %s", member.pk, exc.message)
            continue
        with transaction.atomic():
            group = (BuyingGroup.objects.select_for_update(skip_locked=True).select_related("deal__product")
                     .filter(pk=member.group_id, status=BuyingGroup.Status.OPEN).first())
            if group is None:
                continue
            fresh = GroupMember.objects.get(pk=member.pk)
            if fresh.status != MS.PENDING or fresh.hold_until is None or fresh.hold_until > now:
                continue
            if _release_member_locked(group, fresh, _("The card was not authorised in time."), now,
                                      kind="group_place_lapsed",
                                      subject=gettext_lazy("Your place in group %(code)s was released"),
                                      body=gettext_lazy("Your card was not authorised in time, so order %(number)s "
                                                        "is cancelled. You may join again while the group is "
                                                        "open.")):
                group.places_taken -= 1
                group.save(update_fields=["places_taken"])
                bump_catalogue_version()
    return failed


def confirm_group_member(*, member: GroupMember) -> GroupMember:
    """Task body after a group fills: capture the member's authorisation (orders then marks the order paid and
    sends it to the farm). Idempotent. If the authorisation is gone, the buyer is asked to pay on the order's
    pay page within ORDER_RESERVATION_MINUTES, after which orders' expiry cancels it and returns the stock."""
    member = GroupMember.objects.select_related("order", "group__deal__product").get(pk=member.pk)
    if member.status != MS.CONFIRMED or member.order.status != OS.PENDING_PAYMENT:
        return member
    payment = stripe_holds.held_payment(member.order)
    status = stripe_holds.capture(payment=payment) if payment is not None else Payment.Status.CANCELLED
    if status != Payment.Status.SUCCEEDED:
        _group_payment_due(member)
    return GroupMember.objects.select_related("order").get(pk=member.pk)


@transaction.atomic
def _group_payment_due(member: GroupMember) -> None:
    order = Order.objects.select_for_update().select_related("buyer").get(pk=member.order_id)
    if order.status != OS.PENDING_PAYMENT or order.reserved_until is not None:
        return
    order.reserved_until = timezone.now() + timedelta(minutes=settings.ORDER_RESERVATION_MINUTES)
    order.save(update_fields=["reserved_until", "updated_at"])
    params = {"number": order.number, "total": order.total, "minutes": settings.ORDER_RESERVATION_MINUTES,
              "product": member.group.deal.product.title}
    _notify(recipient=order.buyer, kind="group_payment_due", link=reverse("orders:pay", args=[order.number]),
            params=params, subject=gettext_lazy("Please pay for order %(number)s"),
            body=gettext_lazy("Your group for %(product)s is complete, but the reservation on your card has lapsed. "
                              "Please pay ¥%(total)s within %(minutes)d minutes to keep the group price."),
            dedupe_key=f"group_payment_due:{member.pk}")


def release_order_hold(*, order: Order) -> list[str]:
    """Task body: cancel the card authorisation of a released pre-order or group place at Stripe. Idempotent."""
    if not order.payments.filter(provider=Payment.Provider.STRIPE).exists():
        return []
    return stripe_holds.release(order=order)
