"""Saved cards: a buyer keeps a card at Stripe (a Customer and a SetupIntent) and Farmgate charges it while they are
away (off-session), only with the consent they give when saving it: for their standing orders and pre-orders of
harvests far ahead.

- start_card_setup: the buyer's Stripe customer (made once) and a SetupIntent, recorded as a pending SavedCard;
  Stripe.js (confirmCardSetup) or the API confirms it with the card;
- record_card_setup / sync_card_setups: read a SetupIntent back; once it succeeded the card is attached to the
  customer (Stripe does it; a Stripe-compatible test server may not) and the row keeps its brand, last 4 and expiry;
- remove_card: detached at Stripe; the row stays "removed" for what names it;
- charge_saved_card: an order paid (or authorised) off-session with a saved card, recorded as its Payment; a
  decline or a bank asking for authentication leaves the order waiting for the buyer to pay it themselves.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import ConflictError

from ..models import Order, Payment, PaymentCustomer, SavedCard
from . import gateway
from .intents import apply_intent

log = logging.getLogger(__name__)

# A SetupIntent still pending after this long is forgotten by the list (the buyer gave up).
PENDING_SETUP_DAYS = 1


def _check_buyer(buyer: User) -> None:
    if not buyer.is_authenticated:
        raise ConflictError(_("Sign in to save a card."), code="not_signed_in")
    if not gateway.is_configured():
        raise ConflictError(_("Card payment is not available on this site right now."), code="card_payments_off")


def customer_for(buyer: User) -> str:
    """The buyer's Stripe customer id, created the first time (one per buyer, also under concurrency)."""
    existing = PaymentCustomer.objects.filter(user=buyer).values_list("customer_id", flat=True).first()
    if existing:
        return existing
    customer_id = gateway.create_customer(email=buyer.email or "", name=buyer.get_username(),
                                          metadata={"farmgate_user": str(buyer.pk)},
                                          idempotency_key=f"farmgate-customer-{buyer.pk}")
    try:
        with transaction.atomic():
            PaymentCustomer.objects.create(user=buyer, customer_id=customer_id)
    except IntegrityError:  # made by a parallel request a moment ago (Stripe answered the same key with the same)
        return PaymentCustomer.objects.get(user=buyer).customer_id
    return customer_id


def start_card_setup(*, buyer: User, consent: bool) -> gateway.SetupIntent:
    """A SetupIntent to save a card on the buyer's customer, with the buyer's consent to charges while away."""
    _check_buyer(buyer)
    if consent is not True:
        raise ValidationError({"consent": [_("Tick the box to let Farmgate charge this card for your standing orders "
                                             "and pre-orders while you are away.")]})
    customer = customer_for(buyer)
    setup = gateway.create_setup_intent(customer=customer, metadata={"farmgate_user": str(buyer.pk)})
    SavedCard.objects.create(buyer=buyer, customer_id=customer, setup_intent_id=setup.id,
                             consented_at=timezone.now())
    return setup


@transaction.atomic
def record_card_setup(*, card: SavedCard) -> SavedCard:
    """Read the card's SetupIntent back from Stripe; a succeeded one makes the card usable. Idempotent."""
    card = SavedCard.objects.select_for_update().get(pk=card.pk)
    if card.status != SavedCard.Status.PENDING:
        return card
    setup = gateway.retrieve_setup_intent(card.setup_intent_id)
    if setup.status != "succeeded" or not setup.payment_method:
        if setup.status == "canceled":
            card.status, card.removed_at = SavedCard.Status.REMOVED, timezone.now()
            card.save(update_fields=["status", "removed_at"])
        return card
    method = gateway.retrieve_payment_method(setup.payment_method)
    if method.customer != card.customer_id:
        method = gateway.attach_payment_method(setup.payment_method, customer=card.customer_id)
    # The same card saved twice: keep one row per card.
    SavedCard.objects.filter(buyer=card.buyer, payment_method_id=method.id, status=SavedCard.Status.ACTIVE).exclude(
        pk=card.pk).update(status=SavedCard.Status.REMOVED, removed_at=timezone.now())
    card.payment_method_id = method.id
    card.brand, card.last4, card.exp_month, card.exp_year = method.brand, method.last4, method.exp_month, \
        method.exp_year
    card.status = SavedCard.Status.ACTIVE
    card.save(update_fields=["payment_method_id", "brand", "last4", "exp_month", "exp_year", "status"])
    return card


def sync_card_setups(*, buyer: User) -> int:
    """Record the buyer's recent SetupIntents that were confirmed elsewhere (Stripe.js, a mobile SDK)."""
    if not buyer.is_authenticated or not gateway.is_configured():
        return 0
    since = timezone.now() - timedelta(days=PENDING_SETUP_DAYS)
    done = 0
    for card in SavedCard.objects.filter(buyer=buyer, status=SavedCard.Status.PENDING, created_at__gte=since):
        try:
            done += record_card_setup(card=card).status == SavedCard.Status.ACTIVE
        except gateway.PaymentUnavailable as exc:
            log.warning("Could not read SetupIntent %s: %s", card.setup_intent_id, exc)
            break
    return done


def usable_cards(buyer: User):
    """The buyer's saved cards that can be charged (the only cards a buyer may read or use: others are a 404)."""
    if not buyer.is_authenticated:
        return SavedCard.objects.none()
    return SavedCard.objects.filter(buyer=buyer, status=SavedCard.Status.ACTIVE)


def remove_card(*, card: SavedCard, buyer: User) -> SavedCard:
    """Forget a saved card: detached at Stripe, so it can no longer be charged. Idempotent."""
    if card.buyer_id != buyer.pk:
        raise SavedCard.DoesNotExist
    if card.status == SavedCard.Status.REMOVED:
        return card
    if card.payment_method_id:
        try:
            gateway.detach_payment_method(card.payment_method_id)
        except gateway.RequestRefused:
            pass  # detached already (the dashboard, a retry)
    with transaction.atomic():
        card = SavedCard.objects.select_for_update().get(pk=card.pk)
        card.status, card.removed_at = SavedCard.Status.REMOVED, timezone.now()
        card.save(update_fields=["status", "removed_at"])
    return card


def charge_saved_card(*, order: Order, card: SavedCard | None, purpose: str, capture: str = "automatic") -> str:
    """Pay an online order with the buyer's saved card while they are away; returns the Payment's status.

    "succeeded" (or "requires_capture" with capture="manual") is done: the payment settles the order as any
    other (orders.payments.outcomes). "failed" means the card was declined, could not be used (removed,
    another buyer's) or the bank wants the buyer to authenticate: the order stays waiting for payment and the
    caller tells the buyer to pay it themselves. Idempotent per order: a second call returns the first result.
    """
    key = f"farmgate-offsession-{order.pk}"
    existing = Payment.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing.status
    amount = order.total if capture == "automatic" else order.authorised_total
    payment = Payment.objects.create(order=order, provider=Payment.Provider.STRIPE, idempotency_key=key,
                                     amount=amount, currency=order.currency)
    if card is None or not card.is_usable or card.buyer_id != order.buyer_id:
        Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.FAILED,
                                                     failure_message="no usable saved card")
        return Payment.Status.FAILED
    try:
        intent = gateway.charge_saved_card(
            amount=amount, currency=order.currency, customer=card.customer_id, payment_method=card.payment_method_id,
            idempotency_key=key, capture=capture,  # type: ignore[arg-type]
            metadata={"order_number": order.number, "held_by": purpose})
    except gateway.CardDeclined as exc:
        fields = {"status": Payment.Status.FAILED, "failure_message": exc.message[:255]}
        if exc.intent_id and not Payment.objects.filter(intent_id=exc.intent_id).exists():
            fields["intent_id"] = exc.intent_id
        Payment.objects.filter(pk=payment.pk).update(**fields)
        return Payment.Status.FAILED
    Payment.objects.filter(pk=payment.pk).update(intent_id=intent.id)
    if intent.status == "requires_action":
        # The bank wants the buyer there: stop this intent, the buyer pays the order on its pay page.
        try:
            intent = gateway.cancel_intent(intent.id)
        except gateway.PaymentUnavailable:
            pass
        Payment.objects.filter(pk=payment.pk).update(status=Payment.Status.FAILED,
                                                     failure_message="authentication required")
        return Payment.Status.FAILED
    recorded = apply_intent(intent=intent)
    return recorded.status if recorded else Payment.Status.PENDING
