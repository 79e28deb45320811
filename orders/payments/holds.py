"""Card authorisations held for later: an Order's PaymentIntent with manual capture.

The order total is authorised on the buyer's card at once; the money moves only when it is captured, and a
released (cancelled) authorisation never reaches the buyer's statement. Cards only: Alipay and WeChat Pay cannot
be authorised and captured later. Used by presales (pre-orders paid by card, places in buying groups).

Each hold is an orders.Payment row like any other, so the webhook and the reconcile task keep it in step with
Stripe (intents.apply_intent), and a captured hold settles its order like any payment (outcomes). Stripe
failures are gateway.PaymentUnavailable (a ConflictError), never a 500. Rows are locked in the order the rest of
orders.payments uses: the Payment, then its Order.
"""
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from core.errors import ConflictError

from ..models import Order, Payment, ShopOrder
from . import gateway
from .intents import OPEN_PAYMENT_STATUSES, apply_intent, card_payments_enabled

HOLD_KEY_PREFIX = "farmgate-hold-"


def _details(intent: gateway.Intent) -> dict:
    return {"status": intent.status, "client_secret": intent.client_secret, "payment_intent": intent.id,
            "publishable_key": settings.STRIPE_PUBLISHABLE_KEY}


@transaction.atomic
def open_hold(*, order: Order, held_by: str) -> gateway.Intent:
    """The order's manual-capture PaymentIntent, created when there is none usable.

    `held_by` names the app holding the money in the intent's metadata. The order row stays locked while Stripe
    answers, so two tabs never make two holds. An intent made for paying in full (the orders pay page) or
    declined last time is cancelled and replaced.
    """
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.payment_method != Order.PaymentMethod.STRIPE or order.status != Order.Status.PENDING_PAYMENT:
        raise ConflictError(_("This order is not waiting for a card authorisation."), code="not_authorisable")
    payment = (order.payments.filter(provider=Payment.Provider.STRIPE, intent_id__isnull=False)
               .exclude(status=Payment.Status.CANCELLED).order_by("-created_at", "-id").first())
    intent = None
    if payment is not None:
        intent = gateway.retrieve_intent(payment.intent_id)
        unusable = intent.status in ("requires_payment_method", "requires_confirmation") and (
            intent.has_payment_error or not intent.is_manual_capture)
        if unusable:
            intent = gateway.cancel_intent(intent.id)
        if intent.status == "canceled":
            apply_intent(intent=intent)
            intent = None
        elif intent.status in ("requires_capture", "succeeded"):
            apply_intent(intent=intent)
    if intent is None:
        attempt = order.payments.filter(provider=Payment.Provider.STRIPE).count() + 1
        key = f"{HOLD_KEY_PREFIX}{order.pk}-{attempt}"
        intent = gateway.create_intent(amount=order.authorised_total, currency=order.currency, capture="manual",
                                       payment_method_types=["card"], idempotency_key=key,
                                       metadata={"order_number": order.number, "held_by": held_by})
        Payment.objects.create(order=order, provider=Payment.Provider.STRIPE, intent_id=intent.id,
                               idempotency_key=key, amount=order.authorised_total, currency=order.currency)
    return intent


def hold_details(*, order: Order, held_by: str) -> dict:
    """What Stripe.js or a mobile SDK needs to authorise the card itself (confirmCardPayment)."""
    return _details(open_hold(order=order, held_by=held_by))


def authorise(*, order: Order, held_by: str, token: str = "", payment_method: str = "") -> dict:
    """Authorise the order total on a card, confirming on the server with a Stripe.js token or a PaymentMethod id.

    Returns the intent's status: "requires_capture" is done; "requires_action" means the page must run
    3-D Secure (stripe.confirmCardPayment(client_secret)) and then ask again. A decline is CardDeclined (409).
    """
    intent = open_hold(order=order, held_by=held_by)
    details = _details(intent)
    if intent.status in ("requires_capture", "succeeded", "processing"):
        return details
    try:
        method = payment_method or gateway.card_payment_method(token)
        confirmed = gateway.confirm_intent(intent.id, payment_method=method)
    except gateway.CardDeclined:
        # Record the decline, so the next attempt starts from a fresh intent.
        try:
            declined = gateway.retrieve_intent(intent.id)
        except gateway.PaymentUnavailable:
            declined = None
        if declined is not None:
            apply_intent(intent=declined)
        raise
    apply_intent(intent=confirmed)
    return {**details, "status": confirmed.status}


def refresh(*, order: Order) -> int:
    """Ask Stripe about the order's open payments and record what it says (after 3-D Secure, a lost webhook)."""
    if not card_payments_enabled():
        return 0
    seen = 0
    for intent_id in order.payments.filter(provider=Payment.Provider.STRIPE, intent_id__isnull=False,
                                           status__in=OPEN_PAYMENT_STATUSES).values_list("intent_id", flat=True):
        apply_intent(intent=gateway.retrieve_intent(intent_id))
        seen += 1
    return seen


def held_payment(order: Order) -> Payment | None:
    return (order.payments.filter(provider=Payment.Provider.STRIPE, status=Payment.Status.REQUIRES_CAPTURE)
            .order_by("-created_at", "-id").first())


@transaction.atomic
def capture(*, payment: Payment, amount: Decimal | None = None) -> str:
    """Take the authorised money (all of it, or `amount` of it: the rest is released). Idempotent: returns the
    payment's status after the attempt.

    "succeeded" when the money is in (now or before); "cancelled" when the authorisation no longer exists
    (released, or expired at the card network), so the buyer must pay again. With `amount`, the Payment row
    records the amount taken (Stripe's intent keeps the amount authorised).
    """
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if amount is not None and payment.status == Payment.Status.REQUIRES_CAPTURE:
        if amount <= 0 or amount > payment.amount:
            raise ValueError(f"cannot capture {amount} of an authorisation of {payment.amount}")
        payment.amount = amount
        payment.save(update_fields=["amount", "updated_at"])
    if payment.status in (Payment.Status.SUCCEEDED, Payment.Status.CANCELLED):
        return payment.status
    if not payment.intent_id:
        # Recorded without Stripe (demo data): there is no authorisation to take.
        payment.status = Payment.Status.CANCELLED
        payment.save(update_fields=["status", "updated_at"])
        return payment.status
    try:
        intent = gateway.capture_intent(payment.intent_id, amount=amount)
    except gateway.RequestRefused:
        # Captured or cancelled already (a retried task, the dashboard): read what it is now.
        intent = gateway.retrieve_intent(payment.intent_id)
    recorded = apply_intent(intent=intent)
    return recorded.status if recorded else payment.status


def weighed_total_due(order: Order) -> Decimal:
    """A weighed order's final total: the weighed lines at their weighed price, the parts not cancelled."""
    return sum((so.total for so in order.shop_orders.exclude(status=ShopOrder.Status.CANCELLED)), Decimal("0.00"))


def capture_weighed(*, order: Order) -> str:
    """Every weighed line is weighed: capture the final total of the order's authorisation and release the rest
    (nothing left to take: release it all). Idempotent; returns the payment's status ("" when none is held)."""
    payment = held_payment(order)
    if payment is None:
        return ""
    due = min(weighed_total_due(order), payment.amount)
    if due <= 0:
        release(order=order)
        return Payment.Status.CANCELLED
    return capture(payment=payment, amount=due)


def release(*, order: Order) -> list[str]:
    """Cancel every authorisation (and unfinished intent) of the order at Stripe. Idempotent.

    Returns the statuses the order's Stripe payments end in: a "succeeded" one took money already and
    needs a refund instead. PaymentUnavailable when Stripe cannot be reached, so a task retries.
    """
    statuses = []
    payment_ids = list(order.payments.filter(provider=Payment.Provider.STRIPE).values_list("pk", flat=True))
    for pk in payment_ids:
        with transaction.atomic():
            payment = Payment.objects.select_for_update().get(pk=pk)
            if payment.status in OPEN_PAYMENT_STATUSES and payment.intent_id:
                try:
                    intent = gateway.cancel_intent(payment.intent_id)
                except gateway.RequestRefused:
                    intent = gateway.retrieve_intent(payment.intent_id)
                payment = apply_intent(intent=intent) or payment
            elif payment.status in OPEN_PAYMENT_STATUSES:
                # Recorded without Stripe (demo data): nothing to cancel there.
                payment.status = Payment.Status.CANCELLED
                payment.save(update_fields=["status", "updated_at"])
            statuses.append(payment.status)
    return statuses
