"""A checkout's SQL statements stay few and fixed: the budget a busy catalogue can afford per order."""
import pytest

from accounts.tests.factories import AddressFactory, BuyerFactory
from notifications.models import Notification
from notifications.services import enqueue_deliveries
from orders import services
from orders.models import Order
from orders.tests.factories import fill_cart
from shops.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


CHECKOUT_STATEMENTS = 20


def test_a_two_shop_checkout_takes_at_most_20_statements(django_assert_max_num_queries,
                                                          django_capture_on_commit_callbacks):
    buyer = BuyerFactory()
    address = AddressFactory(user=buyer)
    fill_cart(buyer, (ProductFactory(stock=50), 2), (ProductFactory(stock=50), 1))
    with django_capture_on_commit_callbacks(execute=False) as callbacks, \
            django_assert_max_num_queries(CHECKOUT_STATEMENTS):
        order = services.place_order(buyer=buyer, address=address, payment_method=Order.PaymentMethod.COD)
    assert order.shop_orders.count() == 2
    # The buyer and both shops are told: six rows (inbox and email each), handed to the broker in one message.
    assert Notification.objects.filter(kind__in=["order_placed", "shop_order_new"]).count() == 6
    enqueued = [c for c in callbacks if getattr(c, "func", None) is enqueue_deliveries]
    assert len(enqueued) == 1 and len(enqueued[0].args[0]) == 6
