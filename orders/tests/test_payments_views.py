"""The pay page, its JSON helpers and POST /api/v1/orders/{id}/pay/."""
import pytest

from accounts.tests.factories import BuyerFactory
from conftest import free_port
from orders.models import Order, Payment
from orders.payments import gateway, intents

from .test_payments_support import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def card_off(settings):
    settings.STRIPE_SECRET_KEY = ""


def signed_in(client, order):
    client.force_login(order.buyer)
    return client


# --- Pay page --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shops", [1, 6])
def test_pay_page_loads_stripe_js_and_the_intent(client, localstripe, django_assert_max_num_queries, shops):
    order = make_order(shops=shops)
    signed_in(client, order)
    client.get(f"/orders/{order.number}/pay/")  # first visit creates the intent; later visits reuse it
    with django_assert_max_num_queries(9):
        response = client.get(f"/orders/{order.number}/pay/")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<script src="{localstripe.js_url}"></script>' in html
    assert f'data-publishable-key="{localstripe.publishable_key}"' in html
    assert "/static/js/pay.js" in html
    assert Payment.objects.count() == 1


def test_pay_page_is_the_buyers_own(client, localstripe):
    order = make_order()
    client.force_login(BuyerFactory())
    assert client.get(f"/orders/{order.number}/pay/").status_code == 404
    assert not Payment.objects.exists()


def test_pay_page_needs_sign_in(client):
    order = make_order()
    response = client.get(f"/orders/{order.number}/pay/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_pay_page_without_card_payment_offers_cash_on_delivery(client, card_off):
    order = make_order()
    response = signed_in(client, order).get(f"/orders/{order.number}/pay/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Card payment is not available on this site right now." in html
    assert f'action="/orders/{order.number}/pay/cash/"' in html
    assert "pay.js" not in html


def test_pay_page_shows_a_message_when_stripe_is_down(client, localstripe, settings):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    settings.STRIPE_TIMEOUT_SECONDS = 2
    order = make_order()
    response = signed_in(client, order).get(f"/orders/{order.number}/pay/")
    assert response.status_code == 200
    assert "The payment service cannot be reached right now." in response.content.decode()
    assert not Payment.objects.exists()


def test_pay_page_settles_a_payment_whose_webhook_is_late(client, localstripe):
    order = make_order()
    intent_id = intents.start_payment(order=order)["payment_intent"]
    stripe_api = gateway.stripe_client().v1.payment_intents
    stripe_api.update(intent_id, params={"payment_method": "pm_card_visa"})
    stripe_api.confirm(intent_id)
    response = signed_in(client, order).get(f"/orders/{order.number}/pay/")
    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    assert Order.objects.get().status == Order.Status.PAID


def test_pay_page_of_a_paid_order_goes_to_the_order(client, localstripe):
    order = make_order()
    Order.objects.filter(pk=order.pk).update(status=Order.Status.PAID)
    response = signed_in(client, order).get(f"/orders/{order.number}/pay/")
    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()


def test_switch_to_cash_on_delivery(client, card_off):
    order = make_order()
    response = signed_in(client, order).post(f"/orders/{order.number}/pay/cash/")
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.payment_method == Order.PaymentMethod.COD


def test_switch_to_cash_is_the_buyers_own(client, card_off):
    order = make_order()
    client.force_login(BuyerFactory())
    assert client.post(f"/orders/{order.number}/pay/cash/").status_code == 404
    assert Order.objects.get().payment_method == Order.PaymentMethod.STRIPE


# --- The page's JSON helpers -----------------------------------------------------------------------------------------

def test_card_endpoint_rejects_a_missing_token(client, localstripe):
    order = make_order()
    response = signed_in(client, order).post(f"/orders/{order.number}/pay/card/", {"token": "nope"})
    assert response.status_code == 400
    assert "token" in response.json()


def test_card_endpoint_confirms_with_a_token(client, localstripe):
    order = make_order()
    token = gateway.stripe_client().v1.tokens.create(params={"card": {
        "number": "4242424242424242", "exp_month": "12", "exp_year": "2030", "cvc": "123"}}).id
    response = signed_in(client, order).post(f"/orders/{order.number}/pay/card/", {"token": token})
    assert response.status_code == 200
    assert response.json()["status"] == "succeeded"


def test_card_endpoint_reports_a_decline(client, localstripe):
    order = make_order()
    token = gateway.stripe_client().v1.tokens.create(params={"card": {
        "number": "4000000000000341", "exp_month": "12", "exp_year": "2030", "cvc": "123"}}).id
    response = signed_in(client, order).post(f"/orders/{order.number}/pay/card/", {"token": token})
    assert response.status_code == 409
    assert response.json() == {"detail": "Your card was declined.", "code": "card_declined"}


def test_status_endpoint(client, django_assert_max_num_queries):
    order = make_order()
    signed_in(client, order)
    with django_assert_max_num_queries(3):
        response = client.get(f"/orders/{order.number}/pay/status/")
    assert response.json()["status"] == "pending_payment"
    client.force_login(BuyerFactory())
    assert client.get(f"/orders/{order.number}/pay/status/").status_code == 404


# --- API -------------------------------------------------------------------------------------------------------------

def test_api_pay_returns_what_stripe_js_needs(api_client, localstripe, django_assert_max_num_queries):
    order = make_order()
    api_client.force_authenticate(order.buyer)
    response = api_client.post(f"/api/v1/orders/{order.pk}/pay/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"client_secret", "payment_intent", "publishable_key"}
    assert body["payment_intent"] == Payment.objects.get().intent_id
    with django_assert_max_num_queries(5):
        assert api_client.post(f"/api/v1/orders/{order.pk}/pay/").json() == body


def test_api_pay_other_buyers_order_is_404(api_client, localstripe):
    order = make_order()
    api_client.force_authenticate(BuyerFactory())
    assert api_client.post(f"/api/v1/orders/{order.pk}/pay/").status_code == 404


def test_api_pay_needs_authentication(api_client):
    order = make_order()
    assert api_client.post(f"/api/v1/orders/{order.pk}/pay/").status_code == 401


def test_api_pay_cash_order_is_409(api_client, localstripe):
    order = make_order(payment_method=Order.PaymentMethod.COD)
    api_client.force_authenticate(order.buyer)
    response = api_client.post(f"/api/v1/orders/{order.pk}/pay/")
    assert response.status_code == 409
    assert response.json()["detail"] == "This order is paid cash on delivery."


def test_api_pay_with_card_payment_off_is_409(api_client, card_off):
    order = make_order()
    api_client.force_authenticate(order.buyer)
    response = api_client.post(f"/api/v1/orders/{order.pk}/pay/")
    assert response.status_code == 409
    assert response.json()["code"] == "card_payments_off"


def test_api_pay_when_stripe_is_down_is_502(api_client, localstripe, settings):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    settings.STRIPE_TIMEOUT_SECONDS = 2
    order = make_order()
    api_client.force_authenticate(order.buyer)
    response = api_client.post(f"/api/v1/orders/{order.pk}/pay/")
    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_error"
    assert not Payment.objects.exists()


def test_switching_to_cash_cancels_the_open_card_payment(client, localstripe):
    order = make_order()
    intent_id = intents.start_payment(order=order)["payment_intent"]
    signed_in(client, order).post(f"/orders/{order.number}/pay/cash/")
    assert gateway.stripe_client().v1.payment_intents.retrieve(intent_id).status == "canceled"
    assert Payment.objects.get().status == Payment.Status.CANCELLED
    assert Order.objects.get().payment_method == Order.PaymentMethod.COD
