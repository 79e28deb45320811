"""POST /stripe/webhook/ with events signed exactly as Stripe signs them: signature, de-duplication, ordering."""
import json
import time

import pytest

from orders.models import Order, Payment, Refund, ShopOrder, StripeEvent
from orders.payments import webhooks

from .test_payments_support import event, intent_payload, make_order, make_payment, post_event, stripe_signature

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_webhooks"


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    settings.STRIPE_SECRET_KEY = "sk_test_unused"


@pytest.fixture
def deliver(client, django_capture_on_commit_callbacks):
    """Post a signed event and run what the view queues after its commit (the task, in-process here)."""
    def _deliver(body: dict, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return post_event(client, body, SECRET, **kwargs)
    return _deliver


@pytest.fixture
def order():
    order = make_order()
    make_payment(order, "pi_test_1")
    return order


def succeeded(order, event_id="evt_ok"):
    return event(event_id, "payment_intent.succeeded", intent_payload(order, "pi_test_1", "succeeded"))


def failed(order, event_id="evt_failed"):
    return event(event_id, "payment_intent.payment_failed",
                 intent_payload(order, "pi_test_1", "requires_payment_method", error="Your card was declined."))


@pytest.mark.parametrize("signature", [
    "",  # missing header
    "t=1,v1=deadbeef",  # garbage
    "wrong-secret",
    "stale",  # signed correctly, but long ago (replay)
])
def test_bad_signature_is_400_and_changes_nothing(deliver, order, signature):
    body = succeeded(order)
    payload = json.dumps(body)
    if signature == "wrong-secret":
        signature = stripe_signature(payload, "whsec_someone_else")
    elif signature == "stale":
        signature = stripe_signature(payload, SECRET, timestamp=1_600_000_000)
    response = deliver(body, signature=signature)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()
    order.refresh_from_db()
    assert order.status == Order.Status.PENDING_PAYMENT
    assert Payment.objects.get().status == Payment.Status.PENDING


def test_tampered_payload_is_rejected(client, order):
    body = succeeded(order)
    signature = stripe_signature(json.dumps(body), SECRET)
    body["data"]["object"]["amount"] = 1
    response = client.post("/stripe/webhook/", data=json.dumps(body), content_type="application/json",
                           HTTP_STRIPE_SIGNATURE=signature)
    assert response.status_code == 400
    assert not StripeEvent.objects.exists()


def test_without_a_webhook_secret_nothing_is_accepted(deliver, order, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    assert deliver(succeeded(order)).status_code == 400
    assert not StripeEvent.objects.exists()


def test_only_post(client):
    assert client.get("/stripe/webhook/").status_code == 405


def test_succeeded_event_marks_the_order_paid(deliver, order):
    response = deliver(succeeded(order))
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.paid_at is not None
    assert set(order.shop_orders.values_list("status", flat=True)) == {ShopOrder.Status.NEW}
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED
    assert StripeEvent.objects.get().processed_at is not None


def test_same_event_twice_is_processed_once(deliver, order):
    assert deliver(succeeded(order)).json() == {"received": True, "duplicate": False}
    paid_at = Order.objects.get().paid_at
    second = deliver(succeeded(order))
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    assert StripeEvent.objects.count() == 1
    assert Order.objects.get().paid_at == paid_at
    # Running the task again for the stored event (a redelivered task) does nothing either.
    assert webhooks.process_event(event_pk=StripeEvent.objects.get().pk) is False


def test_stale_failure_after_success_changes_nothing(deliver, order):
    deliver(succeeded(order))
    deliver(failed(order))
    order.refresh_from_db()
    payment = Payment.objects.get()
    assert order.status == Order.Status.PAID
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.failure_message == ""
    assert StripeEvent.objects.filter(processed_at__isnull=False).count() == 2


def test_success_after_a_failure_still_pays(deliver, order):
    deliver(failed(order))
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.FAILED
    assert payment.failure_message == "Your card was declined."
    assert Order.objects.get().status == Order.Status.PENDING_PAYMENT  # still payable
    deliver(succeeded(order))
    assert Order.objects.get().status == Order.Status.PAID
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED


def test_canceled_intent_is_recorded_and_order_stays_payable(deliver, order):
    canceled = intent_payload(order, "pi_test_1", "canceled")
    canceled["cancellation_reason"] = "abandoned"
    deliver(event("evt_cancel", "payment_intent.canceled", canceled))
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.CANCELLED
    assert payment.failure_message == "abandoned"
    assert Order.objects.get().status == Order.Status.PENDING_PAYMENT


def test_success_for_a_different_amount_does_not_pay(deliver, order):
    body = succeeded(order)
    body["data"]["object"]["amount"] = body["data"]["object"]["amount_received"] = 100
    deliver(body)
    assert Order.objects.get().status == Order.Status.PENDING_PAYMENT


def test_event_for_an_unknown_intent_is_stored_and_ignored(deliver):
    stranger = {"id": "pi_elsewhere", "object": "payment_intent", "amount": 500, "currency": "cny",
                "status": "succeeded", "metadata": {}}
    assert deliver(event("evt_other", "payment_intent.succeeded", stranger)).status_code == 200
    assert StripeEvent.objects.get().processed_at is not None
    assert not Payment.objects.exists()


def test_malformed_event_is_closed_without_effect(deliver, order):
    broken = event("evt_broken", "payment_intent.succeeded", {"object": "payment_intent"})  # no id
    assert deliver(broken).status_code == 200
    assert StripeEvent.objects.get().processed_at is not None
    assert Order.objects.get().status == Order.Status.PENDING_PAYMENT


def test_unhandled_event_types_are_acknowledged(deliver):
    assert deliver(event("evt_cus", "customer.created", {"id": "cus_1", "object": "customer"})).status_code == 200
    assert StripeEvent.objects.get().processed_at is not None


def _charge(order, refunds):
    return {"id": "ch_1", "object": "charge", "payment_intent": "pi_test_1", "amount": 7600, "currency": "cny",
            "refunded": False, "refunds": {"object": "list", "data": refunds, "has_more": False}}


def _refund(refund_id, amount, status="succeeded", shop_order=None):
    metadata = {"shop_order": str(shop_order.pk)} if shop_order else {}
    return {"id": refund_id, "object": "refund", "amount": amount, "currency": "cny", "status": status,
            "payment_intent": "pi_test_1", "charge": "ch_1", "metadata": metadata}


def test_charge_refunded_records_refunds_by_id(deliver, order):
    deliver(succeeded(order))
    part = order.shop_orders.order_by("pk").first()  # 2 x 30.00 + 8.00 shipping
    deliver(event("evt_r1", "charge.refunded", _charge(order, [_refund("re_1", 6800, "pending", part)])))
    refund = Refund.objects.get()
    assert (refund.stripe_refund_id, refund.amount, refund.status, refund.shop_order) == (
        "re_1", 68, Refund.Status.PENDING, part)
    part.refresh_from_db()
    assert part.refunded_amount == 68
    # A later event repeats re_1 (now succeeded) and adds re_2: updated and added, never doubled.
    deliver(event("evt_r2", "charge.refunded",
                  _charge(order, [_refund("re_2", 1000), _refund("re_1", 6800, "succeeded", part)])))
    assert Refund.objects.count() == 2
    assert Refund.objects.get(stripe_refund_id="re_1").status == Refund.Status.SUCCEEDED
    part.refresh_from_db()
    assert part.refunded_amount == 68
    assert Order.objects.get().status == Order.Status.PAID  # 78.00 of 136.00 refunded


def test_charge_refunded_for_everything_marks_the_order_refunded(deliver, order):
    deliver(succeeded(order))
    deliver(event("evt_all", "charge.refunded", _charge(order, [_refund("re_all", 13600)])))
    assert Order.objects.get().status == Order.Status.REFUNDED


def test_failed_refund_update_gives_the_amount_back_to_the_part(deliver, order):
    deliver(succeeded(order))
    part = order.shop_orders.order_by("pk").first()
    deliver(event("evt_r1", "charge.refunded", _charge(order, [_refund("re_1", 6800, "pending", part)])))
    deliver(event("evt_r1_failed", "charge.refund.updated", _refund("re_1", 6800, "failed", part)))
    part.refresh_from_db()
    assert part.refunded_amount == 0
    assert Refund.objects.get().status == Refund.Status.FAILED


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_event_is_applied_by_a_real_celery_worker(client, postgres, celery_worker_process):
    """The view answers at once; a separate worker process applies the event from the shared database."""
    order = make_order()
    make_payment(order, "pi_test_1")
    response = post_event(client, succeeded(order), SECRET)
    assert response.status_code == 200
    deadline = time.monotonic() + 30
    while StripeEvent.objects.filter(processed_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED
