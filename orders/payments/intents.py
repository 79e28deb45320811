"""One PaymentIntent per online-paid Order: start it, confirm it with a card, cancel it, and record what Stripe says.

apply_intent only records Stripe's word on the Payment row (idempotent, out-of-order tolerant). When a payment
becomes SUCCEEDED it sends `payment_succeeded` in the same transaction, and orders.payments.outcomes decides
what that means for the order (connected in OrdersConfig.ready). This module sits below orders.services, so it
announces instead of calling up.
"""
import logging
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import ConflictError

from ..models import Order, Payment
from . import gateway

log = logging.getLogger(__name__)

OPEN_PAYMENT_STATUSES = (Payment.Status.PENDING, Payment.Status.REQUIRES_CAPTURE, Payment.Status.FAILED)

# Sent with sender=Payment, payment=<the locked Payment row>, intent=<gateway.Intent> inside apply_intent's
# transaction when a payment becomes SUCCEEDED. Receivers run in that transaction; an error they raise (a refund
# Stripe refused) rolls the recording back, so the webhook or the reconcile task tries again.
payment_succeeded = Signal()
# Sent the same way when a payment becomes REQUIRES_CAPTURE (a card authorised, to be captured later: a weighed
# order, a pre-order, a group place); outcomes decides what it means.
payment_authorised = Signal()


def card_payments_enabled() -> bool:
    return gateway.is_configured()


def _payment_status(intent: gateway.Intent) -> str:
    if intent.status == "succeeded":
        return Payment.Status.SUCCEEDED
    if intent.status == "requires_capture":
        return Payment.Status.REQUIRES_CAPTURE
    if intent.status == "canceled":
        return Payment.Status.CANCELLED
    if intent.status == "requires_payment_method" and intent.has_payment_error:
        return Payment.Status.FAILED
    return Payment.Status.PENDING


def _failure_message(intent: gateway.Intent) -> str:
    return (intent.error_message or intent.cancellation_reason)[:255]


# --- Starting a payment -----------------------------------------------------------------------------------------------

def _check_payable(order: Order) -> None:
    if order.payment_method != Order.PaymentMethod.STRIPE:
        raise ConflictError(_("This order is paid cash on delivery."), code="not_online_payment")
    if order.status != Order.Status.PENDING_PAYMENT:
        raise ConflictError(_("This order is not waiting for payment."), code="not_payable")
    if order.reserved_until and order.reserved_until <= timezone.now():
        raise ConflictError(_("The time to pay this order has run out."), code="payment_expired")


def _intent_params(order: Order) -> dict[str, Any]:
    if order.is_weighed:
        # Produce sold by weight: the card is authorised for the most the buyer can pay and captured for the
        # weighed total at packing (cards only: Alipay and WeChat Pay cannot be captured later).
        return {"amount": order.authorised_total, "currency": order.currency, "payment_method_types": ["card"],
                "metadata": {"order_number": order.number, "held_by": "weighing"}, "capture": "manual"}
    params: dict[str, Any] = {
        "amount": order.total,
        "currency": order.currency,
        "payment_method_types": list(settings.STRIPE_PAYMENT_METHOD_TYPES),
        "metadata": {"order_number": order.number},
    }
    if "wechat_pay" in params["payment_method_types"]:
        # Stripe needs to know WeChat Pay is confirmed from a web page (it then shows a QR code).
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    return params


@transaction.atomic
def _open_intent(order: Order) -> gateway.Intent:
    """The order's current PaymentIntent, created when there is none (see start_payment)."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    _check_payable(order)
    payment = (order.payments.filter(provider=Payment.Provider.STRIPE, intent_id__isnull=False)
               .exclude(status=Payment.Status.CANCELLED).order_by("-created_at", "-id").first())
    intent = None
    if payment is not None:
        intent = gateway.retrieve_intent(payment.intent_id)
        if intent.status == "requires_payment_method" and intent.has_payment_error:
            intent = gateway.cancel_intent(intent.id)
        if intent.status == "canceled":
            payment.status = Payment.Status.CANCELLED
            payment.failure_message = _failure_message(intent)
            payment.save(update_fields=["status", "failure_message", "updated_at"])
            intent = None
        elif intent.status == "succeeded":
            apply_intent(intent=intent)  # its webhook is late or lost: settle it now
    if intent is None:
        attempt = order.payments.filter(provider=Payment.Provider.STRIPE).count() + 1
        key = f"farmgate-order-{order.pk}-intent-{attempt}"
        intent = gateway.create_intent(**_intent_params(order), idempotency_key=key)
        Payment.objects.create(order=order, provider=Payment.Provider.STRIPE, intent_id=intent.id,
                               idempotency_key=key, amount=order.authorised_total, currency=order.currency)
    return intent


def start_payment(*, order: Order) -> dict:
    """Create, or reuse, the one PaymentIntent of an online-paid Order; returns what Stripe.js needs.

    The order row stays locked while Stripe answers, so two tabs (or a retry) never make two intents;
    the idempotency key, derived from the order, makes Stripe itself return the first intent when a
    request is repeated after a timeout. An intent whose last attempt was declined is cancelled and
    replaced, so the next card starts clean (local Stripe-compatible servers cannot retry a declined intent);
    one found already succeeded is settled at once.
    """
    intent = _open_intent(order)
    return {"client_secret": intent.client_secret, "payment_intent": intent.id,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY}


def cancel_open_intents(*, order: Order) -> int:
    """Best effort: cancel the order's unfinished PaymentIntents at Stripe, so a card can no longer pay an
    order that switched to cash on delivery or expired. A failure is only logged: if the money arrives after
    all, the webhook settles it (see orders.payments.outcomes). Call it after the caller's transaction commits."""
    if not card_payments_enabled():
        return 0
    cancelled = 0
    for payment in order.payments.filter(provider=Payment.Provider.STRIPE, intent_id__isnull=False,
                                         status__in=OPEN_PAYMENT_STATUSES):
        try:
            intent = gateway.cancel_intent(payment.intent_id)
        except (gateway.PaymentUnavailable, gateway.CardDeclined) as exc:
            log.warning("Could not cancel %s of order %s: %s", payment.intent_id, order.number, exc)
            continue
        apply_intent(intent=intent)
        cancelled += 1
    return cancelled


def pay_with_card_token(*, order: Order, token: str) -> dict:
    """Confirm the order's PaymentIntent on the server with a card token from the pay page.

    Returns the intent's status and client secret: "requires_action" means Stripe.js must authenticate
    the card (3-D Secure) with stripe.confirmCardPayment(client_secret). The order becomes paid when
    Stripe's webhook (or the reconcile task) reports the success, not here.
    """
    token = (token or "").strip()
    if not token.startswith("tok_") or len(token) > 255:
        raise ValidationError({"token": [_("The card details could not be read. Please enter them again.")]})
    intent = _open_intent(order)
    if intent.status in ("succeeded", "processing", "requires_capture"):
        return {"status": intent.status, "client_secret": intent.client_secret, "payment_intent": intent.id}
    confirmed = gateway.confirm_intent(intent.id, payment_method=gateway.card_payment_method(token))
    return {"status": confirmed.status, "client_secret": intent.client_secret, "payment_intent": intent.id}


# --- Recording what Stripe says about an intent -----------------------------------------------------------------------

def _adopt_intent(intent: gateway.Intent) -> Payment | None:
    """An intent Farmgate has no row for (its row was lost with a failed transaction): find the order by metadata."""
    number = intent.metadata.get("order_number")
    order = Order.objects.filter(number=number, payment_method=Order.PaymentMethod.STRIPE).first() if number else None
    if order is None:
        log.info("Ignoring PaymentIntent %s: no Farmgate order", intent.id)
        return None
    return Payment.objects.create(
        order=order, provider=Payment.Provider.STRIPE, intent_id=intent.id,
        idempotency_key=f"adopted-{intent.id}"[:80], amount=intent.amount, currency=intent.currency or "CNY")


@transaction.atomic
def apply_intent(*, intent: gateway.Intent | Mapping[str, Any]) -> Payment | None:
    """Record what Stripe says about a PaymentIntent (a webhook event's object, or a fresh answer); idempotent.

    Out-of-order tolerant: success and cancellation are final, so a stale "failed" arriving after them
    changes nothing, while a success arriving after a failure still pays the order (payment_succeeded).
    """
    if not isinstance(intent, gateway.Intent):
        intent = gateway.Intent.from_data(intent)
    payment = Payment.objects.select_for_update().filter(intent_id=intent.id).first()
    if payment is None:
        payment = _adopt_intent(intent)
        if payment is None:
            return None
    status = _payment_status(intent)
    if payment.status == Payment.Status.SUCCEEDED or (
            payment.status == Payment.Status.CANCELLED and status != Payment.Status.SUCCEEDED):
        return payment
    if status == Payment.Status.PENDING and payment.status == Payment.Status.FAILED:
        return payment  # a stale "processing" snapshot must not hide the recorded failure
    newly_authorised = status == Payment.Status.REQUIRES_CAPTURE and payment.status != status
    payment.status = status
    payment.failure_message = "" if status == Payment.Status.SUCCEEDED else _failure_message(intent)
    payment.save(update_fields=["status", "failure_message", "updated_at"])
    if status == Payment.Status.SUCCEEDED:
        payment_succeeded.send(sender=Payment, payment=payment, intent=intent)
    elif newly_authorised:
        payment_authorised.send(sender=Payment, payment=payment, intent=intent)
    return payment
