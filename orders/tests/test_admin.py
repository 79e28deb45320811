from decimal import Decimal

import pytest

from accounts.tests.factories import UserFactory
from orders.models import ShippingRate

from .factories import place

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True, role="staff"))
    return client


def test_staff_edit_a_shipping_rate_in_the_admin(staff_client):
    rate = ShippingRate.objects.get(zone=ShippingRate.Zone.FAR)
    response = staff_client.post(f"/admin/orders/shippingrate/{rate.pk}/change/", {
        "zone": "far", "base_fee": "18.00", "per_kg": "5.50", "cold_chain_surcharge": "30.00"})
    assert response.status_code == 302
    rate.refresh_from_db()
    assert (rate.base_fee, rate.per_kg, rate.cold_chain_surcharge) == (Decimal("18.00"), Decimal("5.50"),
                                                                       Decimal("30.00"))
    assert staff_client.get("/admin/orders/shippingrate/").status_code == 200


def test_orders_are_shown_read_only_in_the_admin(staff_client):
    order = place(shops=2)
    assert staff_client.get("/admin/orders/order/").status_code == 200
    page = staff_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200 and order.number in page.content.decode()
    assert staff_client.post(f"/admin/orders/order/{order.pk}/change/", {"status": "paid"}).status_code == 403
    for model in ("shoporder", "payment", "refund", "cart", "stripeevent"):
        assert staff_client.get(f"/admin/orders/{model}/").status_code == 200
