"""Cancelling a part of an order paid online refunds it at Stripe (a local Stripe-compatible server)."""
from decimal import Decimal

import pytest

from orders import services
from orders.models import Order, Refund, ShopOrder
from orders.payments import gateway, intents
from shops.models import Product

from .factories import place

pytestmark = pytest.mark.django_db
OS, SS = Order.Status, ShopOrder.Status


def paid_online(**kwargs) -> Order:
    """Checked out, paid with a test card at the local Stripe, settled as the webhook would."""
    order = place(payment_method="stripe", **kwargs)
    client = gateway.stripe_client()
    intent_id = intents.start_payment(order=order)["payment_intent"]
    client.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    intents.apply_intent(intent=client.v1.payment_intents.confirm(intent_id).to_dict())
    order.refresh_from_db()
    assert order.status == OS.PAID
    return order


def test_seller_cancel_of_a_paid_part_refunds_that_part_and_returns_stock(localstripe):
    order = paid_online(shops=2, price=Decimal("30.00"), quantity=2)
    first, second = order.shop_orders.order_by("pk")
    services.cancel_shop_order(shop_order=first, actor=first.shop.owner, reason="Frost took the harvest")
    refund = Refund.objects.get()
    assert (refund.shop_order, refund.amount, refund.status) == (first, first.total, Refund.Status.SUCCEEDED)
    at_stripe = gateway.stripe_client().v1.refunds.retrieve(refund.stripe_refund_id)
    assert at_stripe.amount == int(first.total * 100)
    first.refresh_from_db()
    assert (first.status, first.refunded_amount) == (SS.CANCELLED, first.total)
    assert Order.objects.get(pk=order.pk).status == OS.PAID  # the other part is still coming
    assert Product.objects.get(pk=first.lines.get().product_id).stock == 50

    services.cancel_shop_order(shop_order=second, actor=second.shop.owner, reason="Sold out")
    assert Order.objects.get(pk=order.pk).status == OS.REFUNDED
    assert sum(r.amount for r in Refund.objects.all()) == order.total


def test_buyer_cancel_of_a_paid_order_refunds_everything(localstripe):
    order = paid_online(shops=2)
    services.cancel_order(order=order, actor=order.buyer, reason="Ordered twice by mistake")
    order.refresh_from_db()
    assert order.status == OS.REFUNDED and order.cancel_reason == "Ordered twice by mistake"
    assert Refund.objects.count() == 2 and sum(r.amount for r in Refund.objects.all()) == order.total
    assert set(order.shop_orders.values_list("status", flat=True)) == {SS.CANCELLED}


def test_a_refund_stripe_refuses_undoes_the_cancellation(localstripe, settings):
    order = paid_online()
    part = order.shop_orders.get()
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(gateway.PaymentUnavailable):
        services.cancel_shop_order(shop_order=part, actor=part.shop.owner, reason="Sold out")
    part.refresh_from_db()
    assert part.status == SS.NEW and not Refund.objects.exists()
    assert Product.objects.get().stock == 48
