"""Saved cards against localstripe: a SetupIntent saves a card on the buyer's Stripe customer; only its buyer sees it,
removes it, or has it charged while away."""
import pytest

from accounts.tests.factories import BuyerFactory
from orders.models import Order, Payment, PaymentCustomer, SavedCard
from orders.payments import cards, gateway

from .factories import place

pytestmark = pytest.mark.django_db


def save_card(buyer, method: str = "pm_card_visa") -> SavedCard:
    """What the buyer's browser does with the SetupIntent's client secret: confirm it with a card."""
    setup = cards.start_card_setup(buyer=buyer, consent=True)
    gateway.confirm_setup_intent(setup.id, payment_method=method)
    return cards.record_card_setup(card=SavedCard.objects.get(setup_intent_id=setup.id))


def test_a_setup_intent_saves_a_card_on_the_buyers_customer(localstripe, api_client):
    buyer = BuyerFactory()
    api_client.force_authenticate(buyer)
    response = api_client.post("/api/v1/payment-methods/", {"consent": True}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["client_secret"] and body["setup_intent"].startswith("seti_")
    assert api_client.get("/api/v1/payment-methods/").json()["results"] == []  # not confirmed yet
    gateway.confirm_setup_intent(body["setup_intent"], payment_method="pm_card_visa")
    listed = api_client.get("/api/v1/payment-methods/").json()
    assert listed["count"] == 1
    row = listed["results"][0]
    assert (row["id"], row["brand"], row["last4"], row["exp_month"], row["exp_year"]) == (
        body["id"], "visa", "4242", 12, 2030)
    customer = PaymentCustomer.objects.get(user=buyer).customer_id
    assert [c.last4 for c in gateway.list_saved_cards(customer)] == ["4242"]
    # A second card goes on the same customer.
    save_card(buyer)
    assert PaymentCustomer.objects.count() == 1 and cards.usable_cards(buyer).count() == 2


def test_saving_a_card_needs_the_buyers_consent(localstripe, api_client):
    api_client.force_authenticate(BuyerFactory())
    response = api_client.post("/api/v1/payment-methods/", {"consent": False}, format="json")
    assert response.status_code == 400 and "consent" in response.json()
    assert api_client.post("/api/v1/payment-methods/", {}, format="json").status_code == 400
    assert SavedCard.objects.count() == 0


def test_another_buyers_card_is_404(localstripe, api_client):
    card = save_card(BuyerFactory())
    api_client.force_authenticate(BuyerFactory())
    assert api_client.delete(f"/api/v1/payment-methods/{card.pk}/").status_code == 404
    assert api_client.get("/api/v1/payment-methods/").json()["count"] == 0
    card.refresh_from_db()
    assert card.status == SavedCard.Status.ACTIVE


def test_removing_a_card_detaches_it_at_stripe(localstripe, api_client):
    card = save_card(BuyerFactory())
    api_client.force_authenticate(card.buyer)
    assert api_client.delete(f"/api/v1/payment-methods/{card.pk}/").status_code == 204
    card.refresh_from_db()
    assert card.status == SavedCard.Status.REMOVED
    assert gateway.retrieve_payment_method(card.payment_method_id).customer == ""
    assert api_client.delete(f"/api/v1/payment-methods/{card.pk}/").status_code == 404


def test_the_cards_page_lists_and_removes_a_card(localstripe, client):
    card = save_card(BuyerFactory())
    client.force_login(card.buyer)
    page = client.get("/account/cards/").content.decode()
    assert "•••• 4242" in page and "12/2030" in page and 'name="consent"' in page
    other = BuyerFactory()
    client.force_login(other)
    assert client.post(f"/account/cards/{card.pk}/remove/").status_code == 404
    client.force_login(card.buyer)
    assert client.post(f"/account/cards/{card.pk}/remove/").status_code == 302
    assert not cards.usable_cards(card.buyer).exists()


def test_the_card_form_saves_a_card_through_a_setup_intent(localstripe, client):
    buyer = BuyerFactory()
    client.force_login(buyer)
    refused = client.post("/account/cards/add/", {})
    assert refused.status_code == 400 and "consent" in refused.json()
    setup = client.post("/account/cards/add/", {"consent": "on"}).json()
    # What Stripe.js's confirmCardSetup does in the browser.
    gateway.confirm_setup_intent(setup["setup_intent"], payment_method="pm_card_visa")
    state = client.get("/account/cards/status/").json()
    assert state == {"done": True, "saved": 1, "next_url": "/account/cards/"}
    assert [c.last4 for c in cards.usable_cards(buyer)] == ["4242"]


def test_an_order_is_charged_off_session_with_the_saved_card(localstripe):
    card = save_card(BuyerFactory())
    order = place(buyer=card.buyer, payment_method=Order.PaymentMethod.STRIPE)
    assert cards.charge_saved_card(order=order, card=card, purpose="test") == Payment.Status.SUCCEEDED
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert cards.charge_saved_card(order=order, card=card, purpose="test") == Payment.Status.SUCCEEDED  # once
    assert Payment.objects.filter(order=order).count() == 1


def test_a_saved_card_that_declines_leaves_the_order_waiting(localstripe):
    card = save_card(BuyerFactory(), method="pm_card_chargeCustomerFail")
    order = place(buyer=card.buyer, payment_method=Order.PaymentMethod.STRIPE)
    assert cards.charge_saved_card(order=order, card=card, purpose="test") == Payment.Status.FAILED
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT
    assert Payment.objects.get(order=order).status == Payment.Status.FAILED


def test_another_buyers_card_is_never_charged(localstripe):
    card = save_card(BuyerFactory())
    order = place(payment_method=Order.PaymentMethod.STRIPE)
    assert cards.charge_saved_card(order=order, card=card, purpose="test") == Payment.Status.FAILED
    assert Payment.objects.get(order=order).intent_id is None
