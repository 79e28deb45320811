"""Card holds of pre-orders and group places, and following their payments (webhooks, server-side confirms,
the pay page): a hold that succeeds moves its pre-order or place on; one that fails releases it."""
from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ConflictError
from orders import services as order_services
from orders.models import Order
from shops.cache import product_page_changed

from .. import stripe_holds
from ..models import (
    BuyingGroup,
    GroupMember,
    PreOrder,
)
from ..states import move_group, move_member, move_preorder
from .common import MS, OS, PS, _enqueue, _notify, _notify_managers, _release_parts_to_shop


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
    product_page_changed(product.pk)  # the group is full
    return True


