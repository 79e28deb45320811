"""Group buying: the farm's deals, buyers starting, joining and leaving groups, filling and expiry."""
from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Address, User
from core import codes
from core.errors import ConflictError
from orders import services as order_services
from orders.models import Order, OrderLine, Payment
from orders.payments import refunds
from shops import stock
from shops.cache import product_page_changed
from shops.models import Product

from .. import stripe_holds
from ..models import (
    GROUP_CODE_PREFIX,
    MAX_GROUP_SIZE,
    MAX_HOURS_TO_FILL,
    BuyingGroup,
    GroupDeal,
    GroupMember,
)
from ..selectors import OFFERS
from ..states import move_group, move_member
from .common import (
    MAX_QUANTITY,
    MS,
    OS,
    RELEASABLE_PARTS,
    SS,
    _cancel_parts,
    _card_holds_required,
    _check_address,
    _check_min_order,
    _check_product_on_sale,
    _close_order,
    _enqueue,
    _new_order,
    _notify,
    _price,
    _require_manager,
    _whole,
    log,
)
from .holds import refresh_payment

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
    product_page_changed(product.pk, OFFERS)
    return deal


@transaction.atomic
def update_group_deal(*, deal: GroupDeal, actor: User, is_active: bool) -> GroupDeal:
    """Stop (or resume) offering new groups; groups already open run to their end."""
    deal = GroupDeal.objects.select_for_update().select_related("product__shop").get(pk=deal.pk)
    _require_manager(actor, deal.product.shop)
    deal.is_active = bool(is_active)
    deal.save(update_fields=["is_active", "updated_at"])
    product_page_changed(deal.product_id, OFFERS)
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
    product_page_changed(product.pk)  # the group's places
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
    product_page_changed(group.deal.product_id)
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
                product_page_changed(group.deal.product_id)
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
                product_page_changed(group.deal.product_id)
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
    if not order_services.open_payment_window(order=order):
        return
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
