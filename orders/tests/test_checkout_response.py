"""The checkout's API answer is built from the rows the service has just written, never read back."""
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import AddressFactory, BuyerFactory
from orders.tests.factories import fill_cart
from shops.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("payment_method", ["cod", "stripe"])
def test_checkout_answer_is_the_order_as_read_later_without_reading_it_back(api_client, payment_method,
                                                                           settings):
    settings.STRIPE_SECRET_KEY = settings.STRIPE_SECRET_KEY or "sk_test_checkout"
    buyer = BuyerFactory()
    address = AddressFactory(user=buyer)
    fill_cart(buyer, (ProductFactory(price=Decimal("68.00"), stock=9), 2),
              (ProductFactory(price=Decimal("12.35"), stock=9), 3), (ProductFactory(stock=9), 1))
    api_client.force_authenticate(buyer)
    with CaptureQueriesContext(connection) as queries:
        created = api_client.post("/api/v1/orders/", {"address": address.pk, "payment_method": payment_method})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body == api_client.get(f"/api/v1/orders/{body['id']}/").json()
    assert len(body["shop_orders"]) == 3 and sum(len(so["lines"]) for so in body["shop_orders"]) == 3
    # Written once each; nothing selects the order, its parts or its lines after the INSERTs.
    tables = ('"orders_order"', '"orders_shoporder"', '"orders_orderline"')
    read_back = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")
                 and any(f"FROM {table}" in q["sql"] for table in tables)]
    assert read_back == []
