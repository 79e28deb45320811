"""Refunds at Stripe: one shop's part of a paid order, a whole payment, and Stripe's reports about refunds.

Each Refund row carries Stripe's refund id, so a refund reported again (charge.refunded repeats the whole list,
charge.refund.updated follows a status change) is updated, never counted twice. ShopOrder.refunded_amount follows
the refunds that have not failed; the Order becomes "refunded" when its payment has been given back in full.
"""
from django.db import transaction
from django.db.models import F, Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.money import to_minor_units
from notifications.services import Phrase, notify

from ..events import refund_recorded
from ..models import Order, Payment, Refund, ShopOrder
from ..states import move_order
from . import gateway

REFUND_STATUSES = {"succeeded": Refund.Status.SUCCEEDED, "failed": Refund.Status.FAILED,
                   "canceled": Refund.Status.FAILED}


def _refund_status(stripe_status: str | None) -> str:
    return REFUND_STATUSES.get(stripe_status or "", Refund.Status.PENDING)


def _refunded_total(payment: Payment):
    return payment.refunds.exclude(status=Refund.Status.FAILED).aggregate(s=Sum("amount"))["s"] or 0


def _mark_refunded_if_complete(*, payment: Payment) -> None:
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    if order.status in (Order.Status.PAID, Order.Status.COMPLETED) and _refunded_total(payment) >= payment.amount:
        move_order(order, Order.Status.REFUNDED)
        order.save(update_fields=["status", "updated_at"])


def refund_whole_payment(*, payment: Payment, reason) -> Refund | None:
    """Return a whole payment (reason: a lazy translatable text, told to the buyer in their language).

    Call inside a transaction holding the Payment row. None when it was returned already.
    """
    if payment.refunds.filter(shop_order__isnull=True).exclude(status=Refund.Status.FAILED).exists():
        return None  # already returned
    given = gateway.refund(intent_id=payment.intent_id, metadata={"order_number": payment.order.number},
                           idempotency_key=f"farmgate-payment-{payment.pk}-refund-all")
    refund = Refund.objects.create(payment=payment, amount=given.amount, stripe_refund_id=given.id,
                                   status=_refund_status(given.status), reason=str(reason)[:200])
    refund_recorded.send(sender=Refund, refund=refund, previous_status=None)
    order = payment.order
    notify(recipient=order.buyer, kind="payment_refunded", link=order.get_absolute_url(),
           dedupe_key=f"refund-{refund.pk}",
           link_label=gettext_noop("See the order"),
           subject=Phrase(gettext_noop("Order %(number)s: your payment is refunded"), {"number": order.number}),
           body=Phrase(gettext_noop("We have refunded ¥%(amount)s to your card. %(reason)s"), {
               "amount": refund.amount, "reason": reason}))
    return refund


@transaction.atomic
def refund_shop_order(*, shop_order: ShopOrder, reason: str) -> Refund | None:
    """Give back what the buyer paid for one shop's part (items + shipping) after it is cancelled.

    Returns None when there is nothing to refund online: a cash-on-delivery order, an order not paid yet,
    or a part already refunded. When every part is refunded the Order becomes "refunded".
    """
    shop_order = ShopOrder.objects.select_for_update().select_related("order").get(pk=shop_order.pk)
    order = shop_order.order
    if order.payment_method != Order.PaymentMethod.STRIPE:
        return None
    payment = (Payment.objects.select_for_update()
               .filter(order=order, provider=Payment.Provider.STRIPE, status=Payment.Status.SUCCEEDED).first())
    if payment is None:
        return None
    amount = shop_order.total - shop_order.refunded_amount
    if amount <= 0:
        return None
    # The key names the amount in cents, as it always has: Stripe answers a repeated key with the first refund.
    given = gateway.refund(
        intent_id=payment.intent_id, amount=amount,
        metadata={"order_number": order.number, "shop_order": str(shop_order.pk)},
        idempotency_key=f"farmgate-shop-order-{shop_order.pk}-refund-{to_minor_units(amount)}")
    refund = Refund.objects.create(payment=payment, shop_order=shop_order, amount=given.amount,
                                   stripe_refund_id=given.id, status=_refund_status(given.status),
                                   reason=(reason or "")[:200])
    if refund.status != Refund.Status.FAILED:
        ShopOrder.objects.filter(pk=shop_order.pk).update(refunded_amount=F("refunded_amount") + refund.amount)
    refund_recorded.send(sender=Refund, refund=refund, previous_status=None)
    _mark_refunded_if_complete(payment=payment)
    return refund


def _record_refund(*, payment: Payment, reported: gateway.IntentRefund) -> Refund:
    status = _refund_status(reported.status)
    refund = Refund.objects.select_for_update().filter(stripe_refund_id=reported.id).first()
    if refund is None:
        # Made elsewhere (the Stripe dashboard) or its row was lost: link it to its part when the metadata says.
        part = str(reported.metadata.get("shop_order") or "")
        shop_order = (ShopOrder.objects.filter(pk=int(part), order_id=payment.order_id).first()
                      if part.isdigit() else None)
        refund = Refund.objects.create(payment=payment, shop_order=shop_order, amount=reported.amount,
                                       stripe_refund_id=reported.id, status=status,
                                       reason=_("Refunded through Stripe."))
        change = refund.amount if status != Refund.Status.FAILED else 0
        previous, announce = None, True
    else:
        was_counted, is_counted = refund.status != Refund.Status.FAILED, status != Refund.Status.FAILED
        change = refund.amount * (int(is_counted) - int(was_counted))
        previous, announce = refund.status, refund.status != status
        if refund.status != status:
            refund.status = status
            refund.save(update_fields=["status"])
    if change and refund.shop_order_id:
        ShopOrder.objects.filter(pk=refund.shop_order_id).update(refunded_amount=F("refunded_amount") + change)
    if announce:
        refund_recorded.send(sender=Refund, refund=refund, previous_status=previous)
    return refund


@transaction.atomic
def record_charge_refunds(*, charge: dict) -> list[Refund]:
    """charge.refunded: create or update a Refund row per Stripe refund id; idempotent."""
    payment = Payment.objects.select_for_update().filter(intent_id=charge.get("payment_intent") or "").first()
    if payment is None:
        return []
    listed = (charge.get("refunds") or {}).get("data")
    if listed is None:  # recent API versions leave the list out of the event
        reported = gateway.list_refunds(payment.intent_id)
    else:
        reported = [gateway.IntentRefund.from_data(r) for r in listed if r.get("id")]
    recorded = [_record_refund(payment=payment, reported=r) for r in reported if r.id]
    _mark_refunded_if_complete(payment=payment)
    return recorded


@transaction.atomic
def record_refund_update(*, refund: dict) -> Refund | None:
    """charge.refund.updated: a refund changed status (e.g. failed days later)."""
    payment = Payment.objects.select_for_update().filter(intent_id=refund.get("payment_intent") or "").first()
    if payment is None:
        return None
    return _record_refund(payment=payment, reported=gateway.IntentRefund.from_data(refund))
