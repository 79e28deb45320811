"""Card authorisations held for pre-orders and buying-group places: orders' manual-capture holds, marked presales.

A pre-order paid by card, or a place in a buying group, authorises the order total on the buyer's card at
once; the money moves only when it is captured (the farm ships the pre-order, or the group fills), and a
cancelled authorisation (harvest failed, group expired) never reaches the buyer's statement.

Cards only: Alipay and WeChat Pay cannot be authorised and captured later, so pre-orders paid with them go
through the ordinary pay-in-full flow (orders.payments.intents) and are refunded when cancelled.

The mechanics are orders' (orders.payments.holds): each hold is an orders.Payment row, kept in step with Stripe
by the orders webhook and reconcile task. Stripe failures are orders.payments.gateway.PaymentUnavailable (a
ConflictError), never a 500; a declined card is gateway.CardDeclined.
"""
from orders.models import Order, Payment
from orders.payments import holds
from orders.payments.gateway import Intent
from orders.payments.intents import card_payments_enabled

HELD_BY = "presales"


def card_holds_enabled() -> bool:
    return card_payments_enabled()


def open_hold(*, order: Order) -> Intent:
    """The order's manual-capture PaymentIntent, created when there is none usable."""
    return holds.open_hold(order=order, held_by=HELD_BY)


def hold_details(*, order: Order) -> dict:
    """What Stripe.js or a mobile SDK needs to authorise the card itself (confirmCardPayment)."""
    return holds.hold_details(order=order, held_by=HELD_BY)


def authorise(*, order: Order, token: str = "", payment_method: str = "") -> dict:
    """Authorise the order total on a card (a Stripe.js token or a PaymentMethod id); see orders.payments.holds."""
    return holds.authorise(order=order, held_by=HELD_BY, token=token, payment_method=payment_method)


def refresh(*, order: Order) -> int:
    """Ask Stripe about the order's open payments and record what it says (after 3-D Secure, a lost webhook)."""
    return holds.refresh(order=order)


def held_payment(order: Order) -> Payment | None:
    return holds.held_payment(order)


def capture(*, payment: Payment) -> str:
    """Take the authorised money; "succeeded", or "cancelled" when the authorisation no longer exists."""
    return holds.capture(payment=payment)


def release(*, order: Order) -> list[str]:
    """Cancel every authorisation (and unfinished intent) of the order at Stripe; the statuses they end in."""
    return holds.release(order=order)
