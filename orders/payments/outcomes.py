"""What a succeeded payment means for its order: the one place that decides.

orders.payments.intents records Stripe's word on the Payment row and announces a success (payment_succeeded,
connected in OrdersConfig.ready); this module settles it, in the same transaction, with the Payment row locked:

- the order is waiting for payment: it is paid (orders.services.mark_order_paid);
- the order was cancelled (usually: it expired while the buyer was paying): it is revived when every line can
  still be served, otherwise the whole payment is refunded (see _settle_late_payment);
- the order was already paid by another payment: this second payment is refunded in full;
- the amount or currency does not match the order (never expected: Farmgate sets the amount): the money is
  kept on record for staff and nothing ships. An order with produce sold by weight is authorised for its most
  (payment_authorised: it goes to the farms to be weighed, services.hold_for_weighing) and captured for its final
  total, the parts not cancelled with each weighed line at its weighed price (holds.weighed_total_due): that,
  not the estimate, is the amount it must match, and never more than was authorised.
"""
import logging

from django.dispatch import receiver
from django.utils.translation import gettext_lazy

from shops import stock

from .. import services
from ..models import Order, OrderLine, Payment, ShopOrder
from ..states import reopen_for_late_payment, reopen_part_for_late_payment
from . import gateway, holds, refunds
from .intents import payment_authorised, payment_succeeded

log = logging.getLogger(__name__)

LATE_PAYMENT_REFUND = gettext_lazy(
    "Paid after the order was cancelled, and the products are no longer available: refunded in full.")
SECOND_PAYMENT_REFUND = gettext_lazy("The order was already paid; this second payment is returned in full.")


@receiver(payment_succeeded, dispatch_uid="orders.payments.outcomes.settle_payment")
def _on_payment_succeeded(sender, *, payment: Payment, intent: gateway.Intent, **kwargs) -> None:
    settle_payment(payment=payment, intent=intent)


@receiver(payment_authorised, dispatch_uid="orders.payments.outcomes.hold_authorisation")
def _on_payment_authorised(sender, *, payment: Payment, intent: gateway.Intent, **kwargs) -> None:
    order = Order.objects.get(pk=payment.order_id)
    if order.is_weighed and not order.held_by_origin and intent.amount == order.authorised_total:
        services.hold_for_weighing(order=order)


def _expected_amount(order: Order, payment: Payment, intent: gateway.Intent):
    """What the payment must come to, and what Stripe says it took."""
    if not order.is_weighed or order.held_by_origin:
        return order.total, intent.amount_received or intent.amount
    # Captured in part: Stripe reports amount_received (a Stripe-compatible test server may not: the Payment
    # row holds the amount asked for at capture, holds.capture).
    received = intent.amount_received if intent.amount_received is not None else payment.amount
    if received > intent.amount:
        return None, received
    return holds.weighed_total_due(order), received


def settle_payment(*, payment: Payment, intent: gateway.Intent) -> None:
    """Decide what a payment Stripe reports succeeded means for its order (call with the Payment row locked)."""
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    expected, received = _expected_amount(order, payment, intent)
    if received != expected or intent.currency != order.currency:
        # Never expected: Farmgate sets the amount. Keep the money on record for staff, do not ship.
        log.error("PaymentIntent %s amount %s %s does not match order %s total %s", payment.intent_id, received,
                  intent.currency, order.number, expected)
        payment.failure_message = "amount does not match the order total"
        payment.save(update_fields=["failure_message", "updated_at"])
        return
    if order.status == Order.Status.PENDING_PAYMENT:
        services.mark_order_paid(order=order, payment=payment)
    elif order.status == Order.Status.CANCELLED:
        _settle_late_payment(order=order, payment=payment)
    elif order.payments.filter(status=Payment.Status.SUCCEEDED).exclude(pk=payment.pk).exists():
        refunds.refund_whole_payment(payment=payment, reason=SECOND_PAYMENT_REFUND)


def _settle_late_payment(*, order: Order, payment: Payment) -> None:
    """A payment that succeeds after its order was cancelled (usually: it expired while the buyer was paying).

    Policy: the sale is kept when every line can still be served, i.e. each product is still on sale with
    enough stock and its shop still takes orders: the stock is reserved again, the order and its parts
    reopen and are marked paid as if the payment had arrived in time. Otherwise the whole payment is
    refunded at once, the reason is written on the Refund row and the buyer is told. Either way the buyer
    gets the produce or the money back; nothing is lost.
    """
    lines = list(OrderLine.objects.filter(shop_order__order=order).only("product_id", "quantity"))
    needed = stock.units_of(lines)
    # can_serve locks the products in id order, like any reservation, and holds them until reserve below.
    servable = all(line.product_id is not None for line in lines) and stock.can_serve(needed)
    if not servable:
        refunds.refund_whole_payment(payment=payment, reason=LATE_PAYMENT_REFUND)
        return
    stock.reserve(needed, in_cart=False)
    _reopen_for_payment(order)
    services.mark_order_paid(order=order, payment=payment)


def _reopen_for_payment(order: Order) -> None:
    # A cancelled order comes back only because Stripe has taken the buyer's money and the stock is
    # reserved again (see _settle_late_payment); orders.states sanctions this single way back.
    reopen_for_late_payment(order)
    order.cancelled_at = None
    order.cancel_reason = ""
    order.reserved_until = None
    order.save(update_fields=["status", "cancelled_at", "cancel_reason", "reserved_until", "updated_at"])
    for part in order.shop_orders.filter(status=ShopOrder.Status.CANCELLED):
        reopen_part_for_late_payment(part)
        part.cancelled_at, part.cancel_reason = None, ""
        part.save(update_fields=["status", "cancelled_at", "cancel_reason", "updated_at"])
