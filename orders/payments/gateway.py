"""The one door to Stripe: the only module in the project that imports `stripe`.

A thin, typed wrapper over the official library's StripeClient, pointed at STRIPE_API_BASE (Stripe itself, or a
local Stripe-compatible server such as localstripe in tests and demos). What it promises its callers:

- Money crosses this boundary as Decimal in the order's currency; Stripe's integer minor units exist only inside
  this module (core.money.to_minor_units / from_minor_units), in both directions, webhook payloads included.
- Answers are small frozen dataclasses (Intent, IntentRefund, SetupIntent, SavedCard) holding what Farmgate reads;
  `Intent.from_data` and `IntentRefund.from_data` read the same shapes out of webhook events.
- Every StripeError becomes a domain error, all ConflictErrors (never a 500): CardDeclined when the card said no,
  RequestRefused when Stripe refused the request itself (400/404: e.g. capturing an intent cancelled meanwhile),
  PaymentUnavailable for everything else (unreachable, rate-limited, misconfigured). RequestRefused is a
  PaymentUnavailable, so a caller that does not care about the difference catches only the latter.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

import stripe
from django.conf import settings
from django.utils.translation import gettext as _

from core.errors import ConflictError
from core.money import from_minor_units, to_minor_units

log = logging.getLogger(__name__)

CaptureMethod = Literal["automatic", "manual"]


# --- Errors -----------------------------------------------------------------------------------------------------------

class PaymentUnavailable(ConflictError):
    """Stripe could not be reached or refused a request for a reason that is not the buyer's.

    A ConflictError, so a caller that already shows conflicts (409, a page message) never turns it into a 500;
    the pay API answers 502 for it.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message, code="payment_provider_error")


class RequestRefused(PaymentUnavailable):
    """Stripe understood the request and refused it (an invalid request: the intent is in another state, or
    unknown). Callers that can read the current state instead (capture, cancel) catch this one."""


class CardDeclined(ConflictError):
    """The card said no. `intent_id`: the PaymentIntent of an off-session charge that failed, when Stripe said."""

    def __init__(self, message: str, *, intent_id: str = "", authentication_required: bool = False) -> None:
        super().__init__(message, code="card_declined")
        self.intent_id = intent_id
        self.authentication_required = authentication_required


def _domain_error(exc: stripe.StripeError) -> ConflictError:
    if isinstance(exc, stripe.CardError):
        return CardDeclined(exc.user_message or _("Your card was declined."))
    log.warning("Stripe request failed: %s: %s", exc.__class__.__name__, exc)
    if isinstance(exc, stripe.APIConnectionError):
        return PaymentUnavailable(_("The payment service cannot be reached right now. Please try again in a minute."))
    message = _("The payment service refused the request. Please try again in a minute.")
    if isinstance(exc, stripe.InvalidRequestError):
        return RequestRefused(message)
    return PaymentUnavailable(message)


@contextmanager
def _stripe_errors() -> Iterator[None]:
    try:
        yield
    except stripe.StripeError as exc:
        raise _domain_error(exc)


# --- What Stripe answers ----------------------------------------------------------------------------------------------

def _money(minor_units: Any) -> Decimal:
    return from_minor_units(int(minor_units))


@dataclass(frozen=True)
class Intent:
    """A PaymentIntent as Farmgate reads it."""

    id: str
    status: str  # Stripe's: requires_payment_method, requires_action, processing, requires_capture, succeeded ...
    amount: Decimal
    amount_received: Decimal | None
    currency: str  # upper case, as Order.currency
    capture_method: str
    client_secret: str
    metadata: dict[str, str] = field(default_factory=dict)
    has_payment_error: bool = False  # the last attempt failed (declined, authentication failed)
    error_message: str = ""
    cancellation_reason: str = ""

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Intent:
        """From Stripe's JSON (an API answer or an event's object); KeyError/TypeError/ValueError if malformed."""
        error = data.get("last_payment_error") or {}
        if not isinstance(error, Mapping):
            raise TypeError("last_payment_error is not an object")
        received = data.get("amount_received")
        return cls(
            id=str(data["id"]), status=str(data.get("status") or ""), amount=_money(data["amount"]),
            amount_received=None if received is None else _money(received),
            currency=str(data.get("currency") or "").upper(), capture_method=str(data.get("capture_method") or ""),
            client_secret=str(data.get("client_secret") or ""), metadata=dict(data.get("metadata") or {}),
            has_payment_error=bool(error), error_message=str(error.get("message") or ""),
            cancellation_reason=str(data.get("cancellation_reason") or ""))

    @property
    def is_manual_capture(self) -> bool:
        return self.capture_method == "manual"


@dataclass(frozen=True)
class IntentRefund:
    """A Refund of a PaymentIntent as Farmgate reads it."""

    id: str
    status: str  # Stripe's: pending, requires_action, succeeded, failed, canceled
    amount: Decimal
    payment_intent: str
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> IntentRefund:
        return cls(id=str(data["id"]), status=str(data.get("status") or ""), amount=_money(data["amount"]),
                   payment_intent=str(data.get("payment_intent") or ""), metadata=dict(data.get("metadata") or {}))


@dataclass(frozen=True)
class SetupIntent:
    """Saving a card for later: the page confirms it with Stripe.js (confirmCardSetup(client_secret))."""

    id: str
    status: str
    client_secret: str
    customer: str
    payment_method: str = ""  # the card, once confirmed


@dataclass(frozen=True)
class SavedCard:
    """A card PaymentMethod kept on a Stripe customer."""

    id: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    customer: str  # "" once detached


def _intent(obj: stripe.PaymentIntent) -> Intent:
    return Intent.from_data(obj.to_dict())


def _saved_card(obj: stripe.PaymentMethod) -> SavedCard:
    data = obj.to_dict()
    card = data.get("card") or {}
    return SavedCard(id=str(data["id"]), brand=str(card.get("brand") or ""), last4=str(card.get("last4") or ""),
                     exp_month=int(card.get("exp_month") or 0), exp_year=int(card.get("exp_year") or 0),
                     customer=str(data.get("customer") or ""))


# --- The client -------------------------------------------------------------------------------------------------------

def is_configured() -> bool:
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
    """The official client, configured from settings (read on each call, so a test can repoint it).

    Farmgate's own code calls the typed functions below; tests use the raw client to play the buyer's browser
    or the Stripe dashboard.
    """
    if not is_configured():
        raise ConflictError(_("Card payment is not available on this site. Please choose cash on delivery."),
                            code="card_payments_off")
    return _client_for(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE, settings.STRIPE_TIMEOUT_SECONDS)


# --- PaymentIntents ---------------------------------------------------------------------------------------------------

def create_intent(*, amount: Decimal, currency: str, idempotency_key: str, metadata: Mapping[str, str],
                  payment_method_types: Sequence[str] = ("card",), capture: CaptureMethod = "automatic",
                  payment_method_options: Mapping[str, Any] | None = None) -> Intent:
    """A new PaymentIntent for `amount`; with capture="manual" the card is only authorised (see capture_intent)."""
    params: dict[str, Any] = {"amount": to_minor_units(amount), "currency": currency.lower(),
                              "payment_method_types": list(payment_method_types), "metadata": dict(metadata)}
    if capture == "manual":
        params["capture_method"] = "manual"  # automatic is Stripe's default: not sent
    if payment_method_options:
        params["payment_method_options"] = dict(payment_method_options)
    with _stripe_errors():
        return _intent(stripe_client().v1.payment_intents.create(
            params=params, options={"idempotency_key": idempotency_key}))


def retrieve_intent(intent_id: str) -> Intent:
    with _stripe_errors():
        return _intent(stripe_client().v1.payment_intents.retrieve(intent_id))


def confirm_intent(intent_id: str, *, payment_method: str = "") -> Intent:
    """Confirm on the server, with `payment_method` set first when given (Stripe-compatible test servers take no
    payment method in the confirm call itself). A decline is CardDeclined; "requires_action" means the page must
    authenticate the card (3-D Secure)."""
    client = stripe_client()
    with _stripe_errors():
        if payment_method:
            client.v1.payment_intents.update(intent_id, params={"payment_method": payment_method})
        return _intent(client.v1.payment_intents.confirm(intent_id))


def cancel_intent(intent_id: str) -> Intent:
    with _stripe_errors():
        return _intent(stripe_client().v1.payment_intents.cancel(intent_id))


def capture_intent(intent_id: str, *, amount: Decimal | None = None) -> Intent:
    """Take authorised money: all of it, or `amount` (at most the authorised amount; the rest is released)."""
    params = {} if amount is None else {"amount_to_capture": to_minor_units(amount)}
    with _stripe_errors():
        return _intent(stripe_client().v1.payment_intents.capture(intent_id, params=params))


def card_payment_method(token: str) -> str:
    """A card token made by Stripe.js (stripe.createToken) as a PaymentMethod id for an intent.

    Stripe converts tokens with PaymentMethod.create(card={"token"}). A Stripe-compatible test server
    (localstripe) cannot, but takes the token's card id instead, so that is the fallback.
    """
    client = stripe_client()
    with _stripe_errors():
        try:
            return client.v1.payment_methods.create(params={"type": "card", "card": {"token": token}}).id
        except stripe.InvalidRequestError:
            return client.v1.tokens.retrieve(token).card.id


# --- Refunds ----------------------------------------------------------------------------------------------------------

def refund(*, intent_id: str, idempotency_key: str, amount: Decimal | None = None,
           metadata: Mapping[str, str] | None = None) -> IntentRefund:
    """Give back the whole payment, or `amount` of it."""
    params: dict[str, Any] = {"payment_intent": intent_id}
    if amount is not None:
        params["amount"] = to_minor_units(amount)
    if metadata:
        params["metadata"] = dict(metadata)
    with _stripe_errors():
        created = stripe_client().v1.refunds.create(params=params, options={"idempotency_key": idempotency_key})
    return IntentRefund.from_data(created.to_dict())


def list_refunds(intent_id: str) -> list[IntentRefund]:
    with _stripe_errors():
        listed = stripe_client().v1.refunds.list(params={"payment_intent": intent_id, "limit": 100})
    return [IntentRefund.from_data(r.to_dict()) for r in listed.data]


# --- Webhooks ---------------------------------------------------------------------------------------------------------

def construct_event(*, payload: bytes, signature: str, secret: str) -> dict[str, Any] | None:
    """The event (plain JSON) when `secret` signed this exact payload within Stripe's tolerance, else None."""
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature, secret,
                                              stripe.Webhook.DEFAULT_TOLERANCE)
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError):
        return None
    return event if isinstance(event, dict) else None


# --- Customers and saved cards ----------------------------------------------------------------------------------------

def create_customer(*, email: str = "", name: str = "", metadata: Mapping[str, str] | None = None,
                    idempotency_key: str | None = None) -> str:
    """A Stripe customer to keep cards on; returns its id."""
    params: dict[str, Any] = {key: value for key, value in (("email", email), ("name", name)) if value}
    if metadata:
        params["metadata"] = dict(metadata)
    options = {"idempotency_key": idempotency_key} if idempotency_key else {}
    with _stripe_errors():
        return stripe_client().v1.customers.create(params=params, options=options).id


def create_setup_intent(*, customer: str, usage: Literal["off_session", "on_session"] = "off_session",
                        metadata: Mapping[str, str] | None = None) -> SetupIntent:
    """Save a card on `customer` without charging it (cards only); the page confirms it with Stripe.js."""
    params: dict[str, Any] = {"customer": customer, "usage": usage, "payment_method_types": ["card"]}
    if metadata:
        params["metadata"] = dict(metadata)
    with _stripe_errors():
        created = stripe_client().v1.setup_intents.create(params=params)
    return SetupIntent(id=created.id, status=created.status, client_secret=created.client_secret or "",
                       customer=customer)


def list_saved_cards(customer: str) -> list[SavedCard]:
    with _stripe_errors():
        listed = stripe_client().v1.payment_methods.list(params={"customer": customer, "type": "card", "limit": 100})
    return [_saved_card(pm) for pm in listed.data]


def detach_payment_method(payment_method_id: str) -> SavedCard:
    """Forget a saved card: it can no longer be charged."""
    with _stripe_errors():
        return _saved_card(stripe_client().v1.payment_methods.detach(payment_method_id))


def _setup_intent(obj: Any, customer: str = "") -> SetupIntent:
    data = obj.to_dict()
    method = data.get("payment_method") or ""
    if isinstance(method, Mapping):
        method = method.get("id") or ""
    return SetupIntent(id=str(data["id"]), status=str(data.get("status") or ""),
                       client_secret=str(data.get("client_secret") or ""),
                       customer=str(data.get("customer") or customer), payment_method=str(method))


def retrieve_setup_intent(setup_intent_id: str) -> SetupIntent:
    with _stripe_errors():
        return _setup_intent(stripe_client().v1.setup_intents.retrieve(setup_intent_id))


def confirm_setup_intent(setup_intent_id: str, *, payment_method: str) -> SetupIntent:
    """Confirm a SetupIntent on the server with a card (a PaymentMethod id); a refused card is CardDeclined."""
    with _stripe_errors():
        return _setup_intent(stripe_client().v1.setup_intents.confirm(
            setup_intent_id, params={"payment_method": payment_method}))


def retrieve_payment_method(payment_method_id: str) -> SavedCard:
    with _stripe_errors():
        return _saved_card(stripe_client().v1.payment_methods.retrieve(payment_method_id))


def attach_payment_method(payment_method_id: str, *, customer: str) -> SavedCard:
    """Keep a card on `customer` (Stripe does it when a SetupIntent succeeds; Stripe-compatible test servers may
    not, so a card saved by a SetupIntent is attached explicitly when it is not yet)."""
    with _stripe_errors():
        return _saved_card(stripe_client().v1.payment_methods.attach(payment_method_id,
                                                                     params={"customer": customer}))


def charge_saved_card(*, amount: Decimal, currency: str, customer: str, payment_method: str, idempotency_key: str,
                      metadata: Mapping[str, str], capture: CaptureMethod = "automatic") -> Intent:
    """Charge (or, with capture="manual", authorise) a saved card while the buyer is away (off-session).

    A decline is CardDeclined (with the intent id when Stripe gives it); a bank asking the buyer to
    authenticate is CardDeclined with authentication_required, or an Intent in "requires_action".
    """
    params: dict[str, Any] = {"amount": to_minor_units(amount), "currency": currency.lower(), "customer": customer,
                              "payment_method": payment_method, "payment_method_types": ["card"],
                              "metadata": dict(metadata), "confirm": True, "off_session": True}
    if capture == "manual":
        params["capture_method"] = "manual"
    try:
        created = stripe_client().v1.payment_intents.create(params=params,
                                                            options={"idempotency_key": idempotency_key})
    except stripe.CardError as exc:
        error = getattr(exc, "error", None)
        intent = getattr(error, "payment_intent", None) if error is not None else None
        intent_id = str(intent.get("id") if isinstance(intent, Mapping) else getattr(intent, "id", "") or "")
        raise CardDeclined(exc.user_message or _("Your card was declined."), intent_id=intent_id,
                           authentication_required=getattr(exc, "code", "") == "authentication_required")
    except stripe.StripeError as exc:
        raise _domain_error(exc)
    return _intent(created)
