"""Card payments against a real local Stripe-compatible server (localstripe), through the official library."""
import logging
import time
from datetime import timedelta
from decimal import Decimal
from urllib.parse import unquote

import pytest
from django.core.management import call_command
from django.utils import timezone

from conftest import free_port
from core.errors import ConflictError
from notifications.models import Notification
from orders import tasks
from orders.models import Order, Payment, Refund, ShopOrder, StripeEvent
from orders.payments import gateway, intents, refunds
from shops.models import Product

from .test_payments_support import make_order

pytestmark = pytest.mark.django_db


def client():
    return gateway.stripe_client()


def pay_at_stripe(intent_id: str, method: str = "pm_card_visa") -> gateway.Intent:
    """What the buyer's browser does: attach a card, confirm."""
    return gateway.confirm_intent(intent_id, payment_method=method)


def wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def paid_order(**kwargs) -> Order:
    """An order paid by card at localstripe and settled (as its webhook would)."""
    order = make_order(**kwargs)
    details = intents.start_payment(order=order)
    intent = pay_at_stripe(details["payment_intent"])
    intents.apply_intent(intent=intent)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return order


def test_start_payment_creates_one_intent_for_the_order_total(localstripe, caplog):
    order = make_order()  # 2 shops x (2 x 30.00 + 8.00) = 136.00
    with caplog.at_level(logging.DEBUG, logger="stripe"):
        details = intents.start_payment(order=order)
    assert details["publishable_key"] == localstripe.publishable_key
    assert details["client_secret"].startswith(details["payment_intent"] + "_secret_")
    intent = client().v1.payment_intents.retrieve(details["payment_intent"])
    assert (intent.amount, intent.currency, intent.metadata["order_number"]) == (13600, "cny", order.number)
    # localstripe does not echo payment_method_types back: read what the library sent.
    sent = unquote(next(r.getMessage() for r in caplog.records if "Post details" in r.getMessage()))
    for i, kind in enumerate(["card", "alipay", "wechat_pay"]):
        assert f"payment_method_types[{i}]={kind}" in sent
    payment = Payment.objects.get()
    assert (payment.order, payment.intent_id, payment.amount, payment.status) == (
        order, intent.id, Decimal("136.00"), Payment.Status.PENDING)
    assert payment.idempotency_key == f"farmgate-order-{order.pk}-intent-1"


def test_start_payment_again_reuses_the_stored_intent(localstripe):
    # localstripe ignores Idempotency-Key, so only Farmgate's own reuse keeps this at one intent.
    order = make_order()
    first = intents.start_payment(order=order)
    second = intents.start_payment(order=order)
    assert second == first
    assert Payment.objects.count() == 1
    assert len(client().v1.payment_intents.list().data) == 1


def test_a_cancelled_intent_is_replaced(localstripe):
    order = make_order()
    first = intents.start_payment(order=order)
    client().v1.payment_intents.cancel(first["payment_intent"])
    second = intents.start_payment(order=order)
    assert second["payment_intent"] != first["payment_intent"]
    assert list(Payment.objects.order_by("pk").values_list("status", flat=True)) == [
        Payment.Status.CANCELLED, Payment.Status.PENDING]


def test_an_intent_found_paid_is_settled_at_once(localstripe):
    # The buyer paid, the webhook has not arrived, and they open the pay page again.
    order = make_order()
    intent_id = intents.start_payment(order=order)["payment_intent"]
    pay_at_stripe(intent_id)
    assert intents.start_payment(order=order)["payment_intent"] == intent_id
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED
    with pytest.raises(ConflictError):  # and it is not payable any more
        intents.start_payment(order=order)


def test_unreachable_stripe_is_a_clear_error_and_saves_nothing(localstripe, settings):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings.STRIPE_TIMEOUT_SECONDS = 2
    with pytest.raises(gateway.PaymentUnavailable) as exc:
        intents.start_payment(order=make_order())
    assert "cannot be reached" in exc.value.message
    assert not Payment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_real_webhook_from_the_server_marks_the_order_paid(localstripe, live_server):
    call_command("stripe_local_webhook", url=live_server.url + "/stripe/webhook/")
    order = make_order()
    details = intents.start_payment(order=order)
    assert pay_at_stripe(details["payment_intent"]).status == "succeeded"
    # localstripe posts payment_intent.succeeded about a second later, signed with the webhook secret.
    assert wait_for(lambda: StripeEvent.objects.filter(type="payment_intent.succeeded",
                                                       processed_at__isnull=False).exists())
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    assert Payment.objects.get().status == Payment.Status.SUCCEEDED
    assert set(ShopOrder.objects.filter(order=order).values_list("status", flat=True)) == {ShopOrder.Status.NEW}


@pytest.mark.django_db(transaction=True)
def test_declined_card_is_recorded_and_the_order_stays_payable(localstripe, live_server):
    localstripe.register_webhook(live_server.url + "/stripe/webhook/")
    order = make_order()
    details = intents.start_payment(order=order)
    with pytest.raises(gateway.CardDeclined) as exc:
        pay_at_stripe(details["payment_intent"], "pm_card_chargeCustomerFail")
    assert exc.value.code == "card_declined"
    assert wait_for(lambda: StripeEvent.objects.filter(type="payment_intent.payment_failed",
                                                       processed_at__isnull=False).exists())
    declined = Payment.objects.get()
    assert (declined.status, declined.failure_message) == (Payment.Status.FAILED, "Your card was declined.")
    assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING_PAYMENT
    # The buyer tries another card: the declined intent is cancelled and a fresh one pays.
    retry = intents.start_payment(order=order)
    assert retry["payment_intent"] != details["payment_intent"]
    assert client().v1.payment_intents.retrieve(details["payment_intent"]).status == "canceled"
    assert pay_at_stripe(retry["payment_intent"]).status == "succeeded"
    assert wait_for(lambda: StripeEvent.objects.filter(type="payment_intent.succeeded",
                                                       processed_at__isnull=False).exists())
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    declined.refresh_from_db()
    assert declined.status == Payment.Status.CANCELLED


def card_token(number: str) -> str:
    return client().v1.tokens.create(params={"card": {"number": number, "exp_month": "12", "exp_year": "2030",
                                                      "cvc": "123"}}).id


def test_pay_with_card_token_confirms_the_intent(localstripe):
    order = make_order()
    result = intents.pay_with_card_token(order=order, token=card_token("4242424242424242"))
    assert result["status"] == "succeeded"
    assert client().v1.payment_intents.retrieve(result["payment_intent"]).status == "succeeded"
    # Paid once Stripe says so (webhook or reconcile), not on the buyer's word.
    assert Order.objects.get().status == Order.Status.PENDING_PAYMENT


def test_pay_with_a_3d_secure_card_asks_the_browser_to_authenticate(localstripe):
    result = intents.pay_with_card_token(order=make_order(), token=card_token("4000002500003155"))
    assert result["status"] == "requires_action"


def test_pay_with_a_declined_card_token(localstripe):
    with pytest.raises(gateway.CardDeclined) as exc:
        intents.pay_with_card_token(order=make_order(), token=card_token("4000000000000341"))
    assert exc.value.message == "Your card was declined."


def test_after_a_declined_card_another_card_pays(localstripe):
    order = make_order()
    with pytest.raises(gateway.CardDeclined):
        intents.pay_with_card_token(order=order, token=card_token("4000000000000341"))
    result = intents.pay_with_card_token(order=order, token=card_token("4242424242424242"))
    assert result["status"] == "succeeded"
    assert Payment.objects.get(intent_id=result["payment_intent"]).status == Payment.Status.PENDING
    assert Payment.objects.exclude(intent_id=result["payment_intent"]).get().status == Payment.Status.CANCELLED


def test_refund_one_shops_part_then_the_other(localstripe):
    order = paid_order()
    first, second = order.shop_orders.order_by("pk")
    refund = refunds.refund_shop_order(shop_order=first, reason="Out of stock at the farm")
    assert (refund.amount, refund.status, refund.shop_order, refund.reason) == (
        Decimal("68.00"), Refund.Status.SUCCEEDED, first, "Out of stock at the farm")
    at_stripe = client().v1.refunds.retrieve(refund.stripe_refund_id)
    assert (at_stripe.amount, at_stripe.payment_intent) == (6800, refund.payment.intent_id)
    first.refresh_from_db()
    assert first.refunded_amount == Decimal("68.00")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID  # the other part is still on its way
    # Asking again for the same part refunds nothing more.
    assert refunds.refund_shop_order(shop_order=first, reason="again") is None
    refunds.refund_shop_order(shop_order=second, reason="Buyer cancelled")
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    assert sum(r.amount for r in client().v1.refunds.list().data) == 13600


def test_cash_on_delivery_has_nothing_to_refund_online(localstripe):
    order = make_order(payment_method=Order.PaymentMethod.COD)
    assert refunds.refund_shop_order(shop_order=order.shop_orders.first(), reason="cancelled") is None
    assert not Refund.objects.exists()


def test_unpaid_order_has_nothing_to_refund(localstripe):
    order = make_order()
    intents.start_payment(order=order)
    assert refunds.refund_shop_order(shop_order=order.shop_orders.first(), reason="cancelled") is None


def expire(order: Order) -> None:
    """What expiry does to an unpaid order: cancel it and its parts, put the stock back."""
    now = timezone.now()
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELLED, cancelled_at=now,
                                             cancel_reason="Not paid in time", reserved_until=None)
    ShopOrder.objects.filter(order=order).update(status=ShopOrder.Status.CANCELLED, cancelled_at=now)
    for part in order.shop_orders.all():
        for line in part.lines.all():
            Product.objects.filter(pk=line.product_id).update(stock=line.product.stock + line.quantity)


def test_success_after_expiry_with_stock_left_keeps_the_sale(localstripe):
    order = make_order(stock=10)
    details = intents.start_payment(order=order)
    expire(order)
    intent = pay_at_stripe(details["payment_intent"])  # the buyer was still on the pay page
    intents.apply_intent(intent=intent)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert (order.cancelled_at, order.cancel_reason) == (None, "")
    assert set(order.shop_orders.values_list("status", flat=True)) == {ShopOrder.Status.NEW}
    assert set(Product.objects.values_list("stock", flat=True)) == {8}  # reserved again
    assert not Refund.objects.exists()


def test_success_after_expiry_without_stock_refunds_everything(localstripe):
    order = make_order(stock=10)
    details = intents.start_payment(order=order)
    expire(order)
    line = order.shop_orders.first().lines.first()
    Product.objects.filter(pk=line.product_id).update(stock=1)  # someone else bought it meanwhile
    intent = pay_at_stripe(details["payment_intent"])
    intents.apply_intent(intent=intent)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    refund = Refund.objects.get()
    assert (refund.amount, refund.shop_order, refund.status) == (Decimal("136.00"), None, Refund.Status.SUCCEEDED)
    assert "no longer available" in refund.reason
    assert client().v1.refunds.retrieve(refund.stripe_refund_id).amount == 13600
    assert Product.objects.get(pk=line.product_id).stock == 1  # nothing reserved
    told = Notification.objects.filter(recipient=order.buyer, kind="payment_refunded", channel="inbox").get()
    assert "¥136.00" in told.body
    # The same news again (webhook after reconcile) refunds nothing more.
    intents.apply_intent(intent=intent)
    assert Refund.objects.count() == 1


def test_reconcile_settles_a_payment_whose_webhook_was_lost(localstripe, settings):
    settings.ORDER_PAYMENT_RECONCILE_MINUTES = 10
    lost, recent = make_order(), make_order()
    lost_intent = intents.start_payment(order=lost)["payment_intent"]
    recent_intent = intents.start_payment(order=recent)["payment_intent"]
    pay_at_stripe(lost_intent)  # no webhook is registered: the news never arrives
    pay_at_stripe(recent_intent)
    Payment.objects.filter(intent_id=lost_intent).update(created_at=timezone.now() - timedelta(minutes=11))
    assert tasks.reconcile_payments.delay().get() == 1
    assert Order.objects.get(pk=lost.pk).status == Order.Status.PAID
    # Too recent to ask about yet: its webhook may still come.
    assert Order.objects.get(pk=recent.pk).status == Order.Status.PENDING_PAYMENT


def test_reconcile_applies_stored_events_whose_task_was_lost(localstripe):
    order = make_order()
    intent_id = intents.start_payment(order=order)["payment_intent"]
    pay_at_stripe(intent_id)
    intent = client().v1.payment_intents.retrieve(intent_id)  # as Stripe puts it in the event
    stored = StripeEvent.objects.create(event_id="evt_lost", type="payment_intent.succeeded",
                                        payload={"id": "evt_lost", "data": {"object": intent.to_dict()}})
    StripeEvent.objects.filter(pk=stored.pk).update(received_at=timezone.now() - timedelta(minutes=5))
    tasks.reconcile_payments.delay()
    assert Order.objects.get(pk=order.pk).status == Order.Status.PAID
    stored.refresh_from_db()
    assert stored.processed_at is not None


def test_expiring_an_unpaid_order_cancels_its_intent_at_stripe(localstripe, django_capture_on_commit_callbacks):
    from orders import services

    order = make_order(stock=10)
    details = intents.start_payment(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        services.expire_order(order=order)
    assert client().v1.payment_intents.retrieve(details["payment_intent"]).status == "canceled"
    assert Payment.objects.get(intent_id=details["payment_intent"]).status == Payment.Status.CANCELLED


def test_buyer_cancelling_an_unpaid_order_cancels_its_intent(localstripe, django_capture_on_commit_callbacks):
    from orders import services

    order = make_order(stock=10)
    details = intents.start_payment(order=order)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_order(order=order, actor=order.buyer)
    assert client().v1.payment_intents.retrieve(details["payment_intent"]).status == "canceled"
