"""Standing-order pages for buyers and farms: they render, act through the services, and scope to their user."""
from decimal import Decimal

import pytest

from accounts.tests.factories import AddressFactory, BuyerFactory
from shops.tests.factories import ProductFactory, ShopFactory
from subscriptions import services
from subscriptions.models import Box, Subscription

pytestmark = pytest.mark.django_db


def make_box(capacity: int = 5) -> Box:
    shop = ShopFactory()
    product = ProductFactory(shop=shop, price=Decimal("9.00"))
    return services.create_box(shop=shop, actor=shop.owner, title="周末菜箱", items=[(product, 3)],
                               cutoff_weekday=0, delivery_weekday=3, capacity=capacity)


def test_a_buyer_subscribes_on_the_box_page(client):
    box = make_box()
    buyer = BuyerFactory()
    address = AddressFactory(user=buyer)
    client.force_login(buyer)
    page = client.get(f"/boxes/{box.pk}/")
    assert page.status_code == 200 and "¥27.00" in page.content.decode()
    response = client.post(f"/boxes/{box.pk}/", {"address": address.pk, "payment_method": ""})
    assert response.status_code == 302 and response["Location"] == "/subscriptions/"
    assert Subscription.objects.get().buyer == buyer
    assert "周末菜箱" in client.get("/boxes/").content.decode()


def test_a_full_box_says_so_and_subscribes_nobody(client):
    box = make_box(capacity=1)
    first = BuyerFactory()
    services.subscribe(buyer=first, box=box, address=AddressFactory(user=first))
    buyer = BuyerFactory()
    client.force_login(buyer)
    page = client.get(f"/boxes/{box.pk}/").content.decode()
    assert "This box is full" in page
    client.post(f"/boxes/{box.pk}/", {"address": AddressFactory(user=buyer).pk})
    assert Subscription.objects.count() == 1


def test_my_standing_orders_page_skips_pauses_and_cancels(client, django_assert_max_num_queries):
    box = make_box()
    buyer = BuyerFactory()
    for _ in range(3):
        subscription = services.subscribe(buyer=buyer, box=box, address=AddressFactory(user=buyer))
    client.force_login(buyer)
    with django_assert_max_num_queries(12):
        page = client.get("/subscriptions/")
    assert page.status_code == 200 and "Skip this delivery" in page.content.decode()
    assert client.post(f"/subscriptions/{subscription.pk}/pause/").status_code == 302
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAUSED
    client.post(f"/subscriptions/{subscription.pk}/cancel/")
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELLED
    client.force_login(BuyerFactory())
    assert client.post(f"/subscriptions/{subscription.pk}/resume/").status_code == 404
    assert client.post(f"/subscriptions/{subscription.pk}/explode/").status_code == 404


def test_the_farm_sees_what_to_prepare_and_caps_its_boxes(client):
    box = make_box()
    for _ in range(2):
        buyer = BuyerFactory()
        services.subscribe(buyer=buyer, box=box, address=AddressFactory(user=buyer))
    client.force_login(box.shop.owner)
    page = client.get("/seller/boxes/").content.decode()
    assert "2 boxes" in page and ": 6 " in page
    client.post("/seller/boxes/", {"box": box.pk, "capacity": 1})  # below its subscribers: refused
    box.refresh_from_db()
    assert box.capacity == 5
    client.post("/seller/boxes/", {"box": box.pk, "capacity": 2})
    box.refresh_from_db()
    assert box.capacity == 2
    client.force_login(BuyerFactory())
    assert client.post("/seller/boxes/", {"box": box.pk, "capacity": 9}).status_code == 404
