import io

import pytest

from accounts import demo as accounts_demo
from orders import demo
from orders.models import Order, ShopOrder
from shops import demo as shops_demo

pytestmark = pytest.mark.django_db


def test_demo_makes_paid_and_unpaid_orders_and_a_cart_and_is_idempotent():
    out = io.StringIO()
    accounts_demo.load(out)
    shops_demo.load(out)
    demo.load(out)
    statuses = sorted(Order.objects.values_list("status", flat=True))
    assert statuses == ["cancelled", "paid", "paid", "paid", "pending_payment"]
    assert ShopOrder.objects.filter(status="accepted").exists() and ShopOrder.objects.filter(status="new").exists()
    buyer_cart = Order.objects.filter(buyer__username="buyer").first().buyer.cart
    assert buyer_cart.items.count() == 2
    before = (Order.objects.count(), buyer_cart.items.count(), list(buyer_cart.items.values_list("quantity")))
    demo.load(out)
    assert (Order.objects.count(), buyer_cart.items.count(), list(buyer_cart.items.values_list("quantity"))) == before
