"""orders.payments.gateway against a real local Stripe-compatible server (localstripe): the calls no flow uses yet."""
from decimal import Decimal

import pytest

from orders.payments import gateway


def authorised(amount: str = "100.00") -> gateway.Intent:
    intent = gateway.create_intent(amount=Decimal(amount), currency="CNY", capture="manual",
                                   idempotency_key=f"test-hold-{amount}", metadata={"order_number": "T1"})
    confirmed = gateway.confirm_intent(intent.id, payment_method="pm_card_visa")
    assert (confirmed.status, confirmed.is_manual_capture, confirmed.amount) == (
        "requires_capture", True, Decimal(amount))
    return confirmed


def test_partial_capture_takes_part_and_releases_the_rest(localstripe):
    intent = authorised("100.00")
    with pytest.raises(gateway.RequestRefused):  # more than was authorised
        gateway.capture_intent(intent.id, amount=Decimal("100.01"))
    captured = gateway.capture_intent(intent.id, amount=Decimal("60.00"))
    assert captured.status == "succeeded"
    # localstripe shows the charge inside the intent; the part not captured goes back as refunded.
    charge = gateway.stripe_client().v1.payment_intents.retrieve(intent.id).to_dict()["latest_charge"]
    assert (charge["amount"], charge["amount_refunded"]) == (10000, 4000)


def test_create_customer(localstripe):
    customer = gateway.create_customer(email="li.ming@example.com", name="李明", metadata={"user": "7"})
    at_stripe = gateway.stripe_client().v1.customers.retrieve(customer)
    assert customer.startswith("cus_")
    assert (at_stripe.email, at_stripe.name, at_stripe.metadata["user"]) == ("li.ming@example.com", "李明", "7")


def test_setup_intent_saves_a_card_for_later(localstripe):
    customer = gateway.create_customer(email="li.ming@example.com")
    setup = gateway.create_setup_intent(customer=customer)
    assert (setup.status, setup.customer) == ("requires_payment_method", customer)
    assert setup.client_secret.startswith(setup.id + "_secret_")
    # What Stripe.js does on the page with the client secret.
    confirmed = gateway.stripe_client().v1.setup_intents.confirm(setup.id, params={"payment_method": "pm_card_visa"})
    assert confirmed.status == "succeeded"


def test_list_saved_cards_of_a_customer(localstripe):
    customer = gateway.create_customer(email="li.ming@example.com")
    assert gateway.list_saved_cards(customer) == []
    saved = gateway.stripe_client().v1.payment_methods.attach("pm_card_visa", params={"customer": customer})
    [card] = gateway.list_saved_cards(customer)
    assert (card.id, card.brand, card.last4, card.exp_year, card.customer) == (saved.id, "visa", "4242", 2030,
                                                                               customer)


def test_detach_a_saved_card(localstripe):
    customer = gateway.create_customer(email="li.ming@example.com")
    saved = gateway.stripe_client().v1.payment_methods.attach("pm_card_visa", params={"customer": customer})
    detached = gateway.detach_payment_method(saved.id)
    assert (detached.id, detached.customer) == (saved.id, "")
    assert gateway.list_saved_cards(customer) == []
