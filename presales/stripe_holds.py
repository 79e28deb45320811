"""Card authorisations held for later: Stripe PaymentIntents with capture_method="manual".

A pre-order paid by card, or a place in a buying group, authorises the order total on the buyer's card at
once; the money moves only when it is captured (the farm ships the pre-order, or the group fills), and a
cancelled authorisation (harvest failed, group expired) never reaches the buyer's statement.

Cards only: Alipay and WeChat Pay cannot be authorised and captured later, so pre-orders paid with them go
through the ordinary pay-in-full flow (orders.payments) and are refunded when cancelled.

Each hold is an orders.Payment row like any other, so the orders webhook and reconcile task keep it in step
with Stripe (orders.payments.apply_intent). Stripe failures become orders.payments.PaymentUnavailable (a
ConflictError), never a 500. Rows are locked in the order orders.payments uses: the Payment, then its Order.
"""
import logging

import stripe
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import ConflictError
from core.money import to_minor_units
from orders import payments
from orders.models import Order, Payment

log = logging.getLogger(__name__)

OPEN = (Payment.Status.PENDING, Payment.Status.REQUIRES_CAPTURE, Payment.Status.FAILED)
HOLD_KEY_PREFIX = "farmgate-hold-"


def card_holds_enabled() -> bool:
    return payments.card_payments_enabled()


def _unavailable(exc: stripe.StripeError) -> payments.PaymentUnavailable:
    log.warning("Stripe request for a held payment failed: %s: %s", exc.__class__.__name__, exc)
    if isinstance(exc, stripe.APIConnectionError):
        return payments.PaymentUnavailable(
            _("The payment service cannot be reached right now. Please try again in a minute."))
    return payments.PaymentUnavailable(_("The payment service refused the request. Please try again in a minute."))


def _hold_params(order: Order) -> dict:
    return {
        "amount": to_minor_units(order.total),
        "currency": order.currency.lower(),
        "payment_method_types": ["card"],
        "capture_method": "manual",
        "metadata": {"order_number": order.number, "held_by": "presales"},
    }


def _is_hold(intent) -> bool:
    return intent.get("capture_method") == "manual"


@transaction.atomic
def open_hold(*, order: Order) -> stripe.PaymentIntent:
    """The order's manual-capture PaymentIntent, created when there is none usable.

    The order row stays locked while Stripe answers, so two tabs never make two holds. An intent made
    for paying in full (the orders pay page) or declined last time is cancelled and replaced.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.payment_method != Order.PaymentMethod.STRIPE or order.status != Order.Status.PENDING_PAYMENT:
        raise ConflictError(_("This order is not waiting for a card authorisation."), code="not_authorisable")
    client = payments.stripe_client()
    payment = (order.payments.filter(provider=Payment.Provider.STRIPE, intent_id__isnull=False)
               .exclude(status=Payment.Status.CANCELLED).order_by("-created_at", "-id").first())
    try:
        intent = None
        if payment is not None:
            intent = client.v1.payment_intents.retrieve(payment.intent_id)
            data = intent.to_dict()
            unusable = intent.status in ("requires_payment_method", "requires_confirmation") and (
                data.get("last_payment_error") or not _is_hold(data))
            if unusable:
                intent = client.v1.payment_intents.cancel(intent.id)
            if intent.status == "canceled":
                payments.apply_intent(intent=intent.to_dict())
                intent = None
            elif intent.status in ("requires_capture", "succeeded"):
                payments.apply_intent(intent=intent.to_dict())
        if intent is None:
            attempt = order.payments.filter(provider=Payment.Provider.STRIPE).count() + 1
            key = f"{HOLD_KEY_PREFIX}{order.pk}-{attempt}"
            intent = client.v1.payment_intents.create(params=_hold_params(order), options={"idempotency_key": key})
            Payment.objects.create(order=order, provider=Payment.Provider.STRIPE, intent_id=intent.id,
                                   idempotency_key=key, amount=order.total, currency=order.currency)
    except stripe.StripeError as exc:
        raise _unavailable(exc)
    return intent


def hold_details(*, order: Order) -> dict:
    """What Stripe.js or a mobile SDK needs to authorise the card itself (confirmCardPayment)."""
    intent = open_hold(order=order)
    return {"status": intent.status, "client_secret": intent.client_secret, "payment_intent": intent.id,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY}


def _card_payment_method(client: stripe.StripeClient, token: str) -> str:
    """A card token made by Stripe.js (createToken) as a PaymentMethod; localstripe takes the token's card id."""
    try:
        return client.v1.payment_methods.create(params={"type": "card", "card": {"token": token}}).id
    except stripe.InvalidRequestError:
        return client.v1.tokens.retrieve(token).card.id


def authorise(*, order: Order, token: str = "", payment_method: str = "") -> dict:
    """Authorise the order total on a card, confirming on the server with a Stripe.js token or a PaymentMethod id.

    Returns the intent's status: "requires_capture" is done; "requires_action" means the page must run
    3-D Secure (stripe.confirmCardPayment(client_secret)) and then ask again. A decline is CardDeclined (409).
    """
    intent = open_hold(order=order)
    details = {"status": intent.status, "client_secret": intent.client_secret, "payment_intent": intent.id,
               "publishable_key": settings.STRIPE_PUBLISHABLE_KEY}
    if intent.status in ("requires_capture", "succeeded", "processing"):
        return details
    client = payments.stripe_client()
    try:
        method = payment_method or _card_payment_method(client, token)
        client.v1.payment_intents.update(intent.id, params={"payment_method": method})
        confirmed = client.v1.payment_intents.confirm(intent.id)
    except stripe.CardError as exc:
        # Record the decline, so the next attempt starts from a fresh intent.
        try:
            payments.apply_intent(intent=client.v1.payment_intents.retrieve(intent.id).to_dict())
        except stripe.StripeError:
            pass
        raise payments.CardDeclined(exc.user_message or _("Your card was declined."))
    except stripe.StripeError as exc:
        raise _unavailable(exc)
    payments.apply_intent(intent=confirmed.to_dict())
    return {**details, "status": confirmed.status}


def refresh(*, order: Order) -> int:
    """Ask Stripe about the order's open payments and record what it says (after 3-D Secure, a lost webhook)."""
    if not card_holds_enabled():
        return 0
    client = payments.stripe_client()
    seen = 0
    for intent_id in order.payments.filter(provider=Payment.Provider.STRIPE, intent_id__isnull=False,
                                           status__in=OPEN).values_list("intent_id", flat=True):
        try:
            intent = client.v1.payment_intents.retrieve(intent_id)
        except stripe.StripeError as exc:
            raise _unavailable(exc)
        payments.apply_intent(intent=intent.to_dict())
        seen += 1
    return seen


def held_payment(order: Order) -> Payment | None:
    return (order.payments.filter(provider=Payment.Provider.STRIPE, status=Payment.Status.REQUIRES_CAPTURE)
            .order_by("-created_at", "-id").first())


@transaction.atomic
def capture(*, payment: Payment) -> str:
    """Take the authorised money. Idempotent: returns the payment's status after the attempt.

    "succeeded" when the money is in (now or before); "cancelled" when the authorisation no longer exists
    (released, or expired at the card network), so the buyer must pay again.
    """
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.status in (Payment.Status.SUCCEEDED, Payment.Status.CANCELLED):
        return payment.status
    if not payment.intent_id:
        # Recorded without Stripe (demo data): there is no authorisation to take.
        payment.status = Payment.Status.CANCELLED
        payment.save(update_fields=["status", "updated_at"])
        return payment.status
    client = payments.stripe_client()
    try:
        try:
            intent = client.v1.payment_intents.capture(payment.intent_id)
        except stripe.InvalidRequestError:
            # Captured or cancelled already (a retried task, the dashboard): read what it is now.
            intent = client.v1.payment_intents.retrieve(payment.intent_id)
    except stripe.StripeError as exc:
        raise _unavailable(exc)
    recorded = payments.apply_intent(intent=intent.to_dict())
    return recorded.status if recorded else payment.status


def release(*, order: Order) -> list[str]:
    """Cancel every authorisation (and unfinished intent) of the order at Stripe. Idempotent.

    Returns the statuses the order's Stripe payments end in: a "succeeded" one took money already and
    needs a refund instead. PaymentUnavailable when Stripe cannot be reached, so a task retries.
    """
    statuses = []
    payment_ids = list(order.payments.filter(provider=Payment.Provider.STRIPE).values_list("pk", flat=True))
    if not payment_ids:
        return statuses
    for pk in payment_ids:
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(pk=pk)
            if payment.status in OPEN and payment.intent_id:
                client = payments.stripe_client()
                try:
                    try:
                        intent = client.v1.payment_intents.cancel(payment.intent_id)
                    except stripe.InvalidRequestError:
                        intent = client.v1.payment_intents.retrieve(payment.intent_id)
                except stripe.StripeError as exc:
                    raise _unavailable(exc)
                payment = payments.apply_intent(intent=intent.to_dict()) or payment
            elif payment.status in OPEN:
                # Recorded without Stripe (demo data): nothing to cancel there.
                payment.status = Payment.Status.CANCELLED
                payment.save(update_fields=["status", "updated_at"])
            statuses.append(payment.status)
    return statuses
