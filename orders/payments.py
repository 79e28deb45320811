"""Card payments through Stripe: one PaymentIntent per Order, settled by webhook (or the reconcile task), refunds.

Stripe's integer minor units appear only in this module, at the boundary (core.money). Every call goes
through the official library's StripeClient, pointed at STRIPE_API_BASE (Stripe itself, or a local
Stripe-compatible server in tests and demos). Stripe failures become PaymentUnavailable, never a 500.
"""
import logging
from collections import defaultdict
from datetime import timedelta
from functools import lru_cache

import stripe
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.errors import ConflictError
from core.money import from_minor_units, to_minor_units
from notifications.services import notify
from shops.cache import bump_catalogue_version
from shops.models import Product, Shop

from .models import Order, OrderLine, Payment, Refund, ShopOrder
from .states import move_order, reopen_for_late_payment

log = logging.getLogger(__name__)

OPEN_PAYMENT_STATUSES = (Payment.Status.PENDING, Payment.Status.REQUIRES_CAPTURE, Payment.Status.FAILED)
REFUND_STATUSES = {"succeeded": Refund.Status.SUCCEEDED, "failed": Refund.Status.FAILED,
                   "canceled": Refund.Status.FAILED}


LATE_PAYMENT_REFUND = gettext_lazy(
    "Paid after the order was cancelled, and the products are no longer available: refunded in full.")
SECOND_PAYMENT_REFUND = gettext_lazy("The order was already paid; this second payment is returned in full.")


class PaymentUnavailable(ConflictError):
    """Stripe could not be reached or refused a request for a reason that is not the buyer's.

    A ConflictError, so a caller that already shows conflicts (409, a page message) never turns it into a 500;
    the pay API answers 502 for it.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, code="payment_provider_error")


class CardDeclined(ConflictError):
    def __init__(self, message: str) -> None:
        super().__init__(message, code="card_declined")


def card_payments_enabled() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


@lru_cache(maxsize=4)
def _client_for(api_key: str, api_base: str, timeout: int) -> stripe.StripeClient:
    return stripe.StripeClient(
        api_key,
        base_addresses={"api": api_base},
        http_client=stripe.RequestsClient(timeout=timeout),
        # The library retries only safe cases and sends an idempotency key with each POST retry.
        max_network_retries=2,
    )


def stripe_client() -> stripe.StripeClient:
    """The official Stripe client, configured from settings (read on each call, so a test can repoint it)."""
    if not card_payments_enabled():
        raise ConflictError(_("Card payment is not available on this site. Please choose cash on delivery."),
                            code="card_payments_off")
    return _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT_SECONDS)


def _provider_error(exc: stripe.StripeError) -> PaymentUnavailable:
    log.warning("Stripe request failed: %s: %s", exc.__class__.__name__, exc)
    if isinstance(exc, stripe.APIConnectionError):
        return PaymentUnavailable(_("The payment service cannot be reached right now. Please try again in a minute."))
    return PaymentUnavailable(_("The payment service refused the request. Please try again in a minute."))


def _payment_status(intent: dict) -> str:
    status = intent.get("status")
    if status == "succeeded":
        return Payment.Status.SUCCEEDED
    if status == "requires_capture":
        return Payment.Status.REQUIRES_CAPTURE
    if status == "canceled":
        return Payment.Status.CANCELLED
    if status == "requires_payment_method" and intent.get("last_payment_error"):
        return Payment.Status.FAILED
    return Payment.Status.PENDING


def _failure_message(intent: dict) -> str:
    error = intent.get("last_payment_error") or {}
    message = error.get("message") or intent.get("cancellation_reason") or ""
    return str(message)[:255]


# --- Starting a payment ---------------------------------------------------------------------------------------------

def _check_payable(order: Order) -> None:
    if order.payment_method != Order.PaymentMethod.STRIPE:
        raise ConflictError(_("This order is paid cash on delivery."), code="not_online_payment")
    if order.status != Order.Status.PENDING_PAYMENT:
        raise ConflictError(_("This order is not waiting for payment."), code="not_payable")
    if order.reserved_until and order.reserved_until <= timezone.now():
        raise ConflictError(_("The time to pay this order has run out."), code="payment_expired")


def _intent_params(order: Order) -> dict:
    params = {
        "amount": to_minor_units(order.total),
        "currency": order.currency.lower(),
        "payment_method_types": list(settings.STRIPE_PAYMENT_METHOD_TYPES),
        "metadata": {"order_number": order.number},
    }
    if "wechat_pay" in params["payment_method_types"]:
        # Stripe needs to know WeChat Pay is confirmed from a web page (it then shows a QR code).
        params["payment_method_options"] = {"wechat_pay": {"client": "web"}}
    return params


@transaction.atomic
def _open_intent(order: Order) -> stripe.PaymentIntent:
    """The order's current PaymentIntent, created when there is none (see start_payment)."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    _check_payable(order)
    client = stripe_client()
    payment = (order.payments.filter(provider=Payment.Provider.STRIPE, intent_id__isnull=False)
               .exclude(status=Payment.Status.CANCELLED).order_by("-created_at", "-id").first())
    try:
        intent = None
        if payment is not None:
            intent = client.v1.payment_intents.retrieve(payment.intent_id)
            declined = intent.status == "requires_payment_method" and intent.to_dict().get("last_payment_error")
            if declined:
                intent = client.v1.payment_intents.cancel(intent.id)
            if intent.status == "canceled":
                payment.status = Payment.Status.CANCELLED
                payment.failure_message = _failure_message(intent.to_dict())
                payment.save(update_fields=["status", "failure_message", "updated_at"])
                intent = None
            elif intent.status == "succeeded":
                apply_intent(intent=intent.to_dict())  # its webhook is late or lost: settle it now
        if intent is None:
            attempt = order.payments.filter(provider=Payment.Provider.STRIPE).count() + 1
            key = f"farmgate-order-{order.pk}-intent-{attempt}"
            intent = client.v1.payment_intents.create(params=_intent_params(order), options={"idempotency_key": key})
            Payment.objects.create(order=order, provider=Payment.Provider.STRIPE, intent_id=intent.id,
                                   idempotency_key=key, amount=order.total, currency=order.currency)
    except stripe.StripeError as exc:
        raise _provider_error(exc)
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
    all, the webhook settles it (see _settle_late_payment). Call it after the caller's transaction commits."""
    if not card_payments_enabled():
        return 0
    cancelled = 0
    for payment in order.payments.filter(provider=Payment.Provider.STRIPE, intent_id__isnull=False,
                                         status__in=OPEN_PAYMENT_STATUSES):
        try:
            intent = stripe_client().v1.payment_intents.cancel(payment.intent_id)
        except stripe.StripeError as exc:
            log.warning("Could not cancel %s of order %s: %s", payment.intent_id, order.number, exc)
            continue
        apply_intent(intent=intent.to_dict())
        cancelled += 1
    return cancelled


def _card_payment_method(client: stripe.StripeClient, token: str) -> str:
    """A card token made by Stripe.js (stripe.createToken) turned into the intent's payment method.

    Stripe converts tokens with PaymentMethod.create(card={"token"}). A Stripe-compatible test server
    (localstripe) cannot, but takes the token's card id instead, so that is the fallback.
    """
    try:
        return client.v1.payment_methods.create(params={"type": "card", "card": {"token": token}}).id
    except stripe.InvalidRequestError:
        return client.v1.tokens.retrieve(token).card.id


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
    client = stripe_client()
    try:
        method = _card_payment_method(client, token)
        client.v1.payment_intents.update(intent.id, params={"payment_method": method})
        confirmed = client.v1.payment_intents.confirm(intent.id)
    except stripe.CardError as exc:
        raise CardDeclined(exc.user_message or _("Your card was declined."))
    except stripe.StripeError as exc:
        raise _provider_error(exc)
    return {"status": confirmed.status, "client_secret": intent.client_secret, "payment_intent": intent.id}


# --- Settling: what Stripe says about an intent ---------------------------------------------------------------------

def _adopt_intent(intent: dict) -> Payment | None:
    """An intent Farmgate has no row for (its row was lost with a failed transaction): find the order by metadata."""
    number = (intent.get("metadata") or {}).get("order_number")
    order = Order.objects.filter(number=number, payment_method=Order.PaymentMethod.STRIPE).first() if number else None
    if order is None:
        log.info("Ignoring PaymentIntent %s: no Farmgate order", intent.get("id"))
        return None
    return Payment.objects.create(
        order=order, provider=Payment.Provider.STRIPE, intent_id=intent["id"],
        idempotency_key=f"adopted-{intent['id']}"[:80], amount=from_minor_units(intent["amount"]),
        currency=str(intent.get("currency", "cny")).upper())


@transaction.atomic
def apply_intent(*, intent: dict) -> Payment | None:
    """Record what Stripe says about a PaymentIntent (from a webhook event or a fresh retrieve); idempotent.

    Out-of-order tolerant: success and cancellation are final, so a stale "failed" arriving after them
    changes nothing, while a success arriving after a failure still pays the order.
    """
    payment = Payment.objects.select_for_update().filter(intent_id=intent["id"]).first()
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
    payment.status = status
    payment.failure_message = "" if status == Payment.Status.SUCCEEDED else _failure_message(intent)
    payment.save(update_fields=["status", "failure_message", "updated_at"])
    if status == Payment.Status.SUCCEEDED:
        _settle(payment=payment, intent=intent)
    return payment


def _settle(*, payment: Payment, intent: dict) -> None:
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    received = intent.get("amount_received") or intent.get("amount")
    if received != to_minor_units(order.total) or str(intent.get("currency", "")).upper() != order.currency:
        # Never expected: Farmgate sets the amount. Keep the money on record for staff, do not ship.
        log.error("PaymentIntent %s amount %s %s does not match order %s total %s", payment.intent_id, received,
                  intent.get("currency"), order.number, order.total)
        payment.failure_message = "amount does not match the order total"
        payment.save(update_fields=["failure_message", "updated_at"])
        return
    if order.status == Order.Status.PENDING_PAYMENT:
        from . import services

        services.mark_order_paid(order=order, payment=payment)
    elif order.status == Order.Status.CANCELLED:
        _settle_late_payment(order=order, payment=payment)
    elif order.payments.filter(status=Payment.Status.SUCCEEDED).exclude(pk=payment.pk).exists():
        _refund_whole_payment(payment=payment, reason=SECOND_PAYMENT_REFUND)


def _settle_late_payment(*, order: Order, payment: Payment) -> None:
    """A payment that succeeds after its order was cancelled (usually: it expired while the buyer was paying).

    Policy: the sale is kept when every line can still be served, i.e. each product is still on sale with
    enough stock and its shop still takes orders: the stock is reserved again, the order and its parts
    reopen and are marked paid as if the payment had arrived in time. Otherwise the whole payment is
    refunded at once, the reason is written on the Refund row and the buyer is told. Either way the buyer
    gets the produce or the money back; nothing is lost.
    """
    needed: dict[int, int] = defaultdict(int)
    servable = True
    for line in OrderLine.objects.filter(shop_order__order=order).only("product_id", "quantity"):
        if line.product_id is None:
            servable = False
        else:
            needed[line.product_id] += line.quantity
    # Locked in id order, like any other reservation, so two reservations never wait on each other.
    products = {p.pk: p for p in Product.objects.select_for_update().filter(pk__in=needed).order_by("pk")}
    servable = servable and bool(needed) and all(
        pid in products and products[pid].is_active and products[pid].stock >= qty for pid, qty in needed.items())
    if servable and Shop.objects.filter(products__in=list(needed), is_open=False).exists():
        servable = False
    if not servable:
        _refund_whole_payment(payment=payment, reason=LATE_PAYMENT_REFUND)
        return
    for pid in sorted(needed):
        Product.objects.filter(pk=pid).update(stock=F("stock") - needed[pid])
    # Stock shown in cached catalogue lists has changed.
    transaction.on_commit(bump_catalogue_version)
    _reopen_for_payment(order)
    from . import services

    services.mark_order_paid(order=order, payment=payment)


def _reopen_for_payment(order: Order) -> None:
    # A cancelled order comes back only because Stripe has taken the buyer's money and the stock is
    # reserved again (see _settle_late_payment); orders.states sanctions this single way back.
    reopen_for_late_payment(order)
    order.cancelled_at = None
    order.cancel_reason = ""
    order.reserved_until = None
    order.save(update_fields=["status", "cancelled_at", "cancel_reason", "reserved_until", "updated_at"])
    order.shop_orders.filter(status=ShopOrder.Status.CANCELLED).update(
        status=ShopOrder.Status.AWAITING_PAYMENT, cancelled_at=None, cancel_reason="", updated_at=timezone.now())


# --- Refunds ---------------------------------------------------------------------------------------------------------

def _refund_status(stripe_status: str | None) -> str:
    return REFUND_STATUSES.get(stripe_status or "", Refund.Status.PENDING)


def _refunded_total(payment: Payment):
    return payment.refunds.exclude(status=Refund.Status.FAILED).aggregate(s=Sum("amount"))["s"] or 0


def _mark_refunded_if_complete(*, payment: Payment) -> None:
    order = Order.objects.select_for_update().get(pk=payment.order_id)
    if order.status in (Order.Status.PAID, Order.Status.COMPLETED) and _refunded_total(payment) >= payment.amount:
        move_order(order, Order.Status.REFUNDED)
        order.save(update_fields=["status", "updated_at"])


def _refund_whole_payment(*, payment: Payment, reason) -> Refund | None:
    """Return a whole payment (reason: a lazy translatable text, told to the buyer in their language)."""
    if payment.refunds.filter(shop_order__isnull=True).exclude(status=Refund.Status.FAILED).exists():
        return None  # already returned
    try:
        data = stripe_client().v1.refunds.create(
            params={"payment_intent": payment.intent_id, "metadata": {"order_number": payment.order.number}},
            options={"idempotency_key": f"farmgate-payment-{payment.pk}-refund-all"})
    except stripe.StripeError as exc:
        raise _provider_error(exc)
    refund = Refund.objects.create(payment=payment, amount=from_minor_units(data.amount), stripe_refund_id=data.id,
                                   status=_refund_status(data.status), reason=str(reason)[:200])
    order = payment.order
    notify(recipient=order.buyer, kind="payment_refunded", link=order.get_absolute_url(),
           dedupe_key=f"refund-{refund.pk}",
           subject=lambda: _("Order %(number)s: your payment is refunded") % {"number": order.number},
           body=lambda: _("We have refunded ¥%(amount)s to your card. %(reason)s") % {
               "amount": refund.amount, "reason": str(reason)})
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
    try:
        data = stripe_client().v1.refunds.create(
            params={"payment_intent": payment.intent_id, "amount": to_minor_units(amount),
                    "metadata": {"order_number": order.number, "shop_order": str(shop_order.pk)}},
            options={"idempotency_key": f"farmgate-shop-order-{shop_order.pk}-refund-{to_minor_units(amount)}"})
    except stripe.StripeError as exc:
        raise _provider_error(exc)
    refund = Refund.objects.create(payment=payment, shop_order=shop_order, amount=from_minor_units(data.amount),
                                   stripe_refund_id=data.id, status=_refund_status(data.status),
                                   reason=(reason or "")[:200])
    if refund.status != Refund.Status.FAILED:
        ShopOrder.objects.filter(pk=shop_order.pk).update(refunded_amount=F("refunded_amount") + refund.amount)
    _mark_refunded_if_complete(payment=payment)
    return refund


def _record_refund(*, payment: Payment, data: dict) -> Refund:
    status = _refund_status(data.get("status"))
    refund = Refund.objects.select_for_update().filter(stripe_refund_id=data["id"]).first()
    if refund is None:
        # Made elsewhere (the Stripe dashboard) or its row was lost: link it to its part when the metadata says.
        part = str((data.get("metadata") or {}).get("shop_order") or "")
        shop_order = (ShopOrder.objects.filter(pk=int(part), order_id=payment.order_id).first()
                      if part.isdigit() else None)
        refund = Refund.objects.create(payment=payment, shop_order=shop_order, amount=from_minor_units(data["amount"]),
                                       stripe_refund_id=data["id"], status=status,
                                       reason=_("Refunded through Stripe."))
        change = refund.amount if status != Refund.Status.FAILED else 0
    else:
        was_counted, is_counted = refund.status != Refund.Status.FAILED, status != Refund.Status.FAILED
        change = refund.amount * (int(is_counted) - int(was_counted))
        if refund.status != status:
            refund.status = status
            refund.save(update_fields=["status"])
    if change and refund.shop_order_id:
        ShopOrder.objects.filter(pk=refund.shop_order_id).update(refunded_amount=F("refunded_amount") + change)
    return refund


@transaction.atomic
def record_charge_refunds(*, charge: dict) -> list[Refund]:
    """charge.refunded: create or update a Refund row per Stripe refund id; idempotent."""
    payment = Payment.objects.select_for_update().filter(intent_id=charge.get("payment_intent") or "").first()
    if payment is None:
        return []
    refunds = (charge.get("refunds") or {}).get("data")
    if refunds is None:  # recent API versions leave the list out of the event
        try:
            listed = stripe_client().v1.refunds.list(params={"payment_intent": payment.intent_id, "limit": 100})
        except stripe.StripeError as exc:
            raise _provider_error(exc)
        refunds = [r.to_dict() for r in listed.data]
    recorded = [_record_refund(payment=payment, data=r) for r in refunds if r.get("id")]
    _mark_refunded_if_complete(payment=payment)
    return recorded


@transaction.atomic
def record_refund_update(*, refund: dict) -> Refund | None:
    """charge.refund.updated: a refund changed status (e.g. failed days later)."""
    payment = Payment.objects.select_for_update().filter(intent_id=refund.get("payment_intent") or "").first()
    if payment is None:
        return None
    return _record_refund(payment=payment, data=refund)


# --- Reconcile: a lost webhook loses no sale --------------------------------------------------------------------------

def payments_to_reconcile(*, now=None):
    """Open Stripe payments older than ORDER_PAYMENT_RECONCILE_MINUTES on orders still waiting for payment,
    or cancelled within the last day (a success whose webhook was lost is then settled as a late payment)."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.ORDER_PAYMENT_RECONCILE_MINUTES)
    # Authorised holds (pre-sales, groups) wait for capture by design, often for days: not lost webhooks.
    return (Payment.objects.filter(provider=Payment.Provider.STRIPE, intent_id__isnull=False,
                                   status__in=OPEN_PAYMENT_STATUSES, created_at__lte=cutoff)
            .exclude(status=Payment.Status.REQUIRES_CAPTURE)
            .filter(Q(order__status=Order.Status.PENDING_PAYMENT)
                    | Q(order__status=Order.Status.CANCELLED, order__cancelled_at__gte=now - timedelta(days=1)))
            .order_by("created_at", "id"))


def reconcile_payments(*, now=None, limit: int = 200) -> int:
    """Ask Stripe about each payment still open and apply what it says, as a webhook would. Returns the count."""
    if not card_payments_enabled():
        return 0
    client = stripe_client()
    checked = 0
    for intent_id in payments_to_reconcile(now=now).values_list("intent_id", flat=True)[:limit]:
        try:
            intent = client.v1.payment_intents.retrieve(intent_id)
        except stripe.StripeError as exc:
            log.warning("Reconcile could not read %s: %s", intent_id, exc)
            continue
        apply_intent(intent=intent.to_dict())
        checked += 1
    return checked
