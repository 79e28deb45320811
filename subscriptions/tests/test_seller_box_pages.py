"""The farm's box pages: create a box for a shop it manages, change its cap, price and whether it is open."""
from decimal import Decimal

import pytest

from shops.tests.factories import ProductFactory, ShopFactory
from subscriptions import services
from subscriptions.models import Box

pytestmark = pytest.mark.django_db


def form_data(product, **extra):
    data = {"title": "每周蔬菜箱", "description": "", "kind": "fixed", "price": "", "frequency": "weekly",
            "cutoff_weekday": "0", "delivery_weekday": "3", "capacity": "20",
            "product_1": product.pk, "quantity_1": "2"}
    data.update(extra)
    return data


def test_a_farmer_creates_a_box_on_the_page(client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop, price=Decimal("5.00"))
    client.force_login(shop.owner)
    listing = client.get("/seller/boxes/").content.decode()
    assert f"/seller/boxes/new/?shop={shop.slug}" in listing
    page = client.get(f"/seller/boxes/new/?shop={shop.slug}")
    assert page.status_code == 200 and product.title in page.content.decode()
    response = client.post(f"/seller/boxes/new/?shop={shop.slug}", form_data(product))
    assert response.status_code == 302 and response["Location"] == "/seller/boxes/"
    box = Box.objects.get()
    assert box.shop == shop and box.price == Decimal("10.00") and box.capacity == 20
    assert [(i.product, i.quantity) for i in box.items.all()] == [(product, 2)]
    assert "每周蔬菜箱" in client.get("/seller/boxes/").content.decode()


def test_another_farmers_shop_is_404(client):
    mine, theirs = ShopFactory(), ShopFactory()
    product = ProductFactory(shop=theirs)
    client.force_login(mine.owner)
    assert client.get(f"/seller/boxes/new/?shop={theirs.slug}").status_code == 404
    assert client.post(f"/seller/boxes/new/?shop={theirs.slug}", form_data(product)).status_code == 404
    assert client.get("/seller/boxes/new/").status_code == 404
    assert not Box.objects.exists()


def test_bad_input_shows_errors_and_saves_nothing(client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop)
    client.force_login(shop.owner)
    page = client.post(f"/seller/boxes/new/?shop={shop.slug}", form_data(product, capacity="0", title=""))
    assert page.status_code == 200 and 'class="error"' in page.content.decode()
    # Shape fine, but the service refuses: a box with nothing in it.
    page = client.post(f"/seller/boxes/new/?shop={shop.slug}", form_data(product, product_1=""))
    assert page.status_code == 200 and "Put at least one product in the box." in page.content.decode()
    # The farm's choice without a price.
    page = client.post(f"/seller/boxes/new/?shop={shop.slug}", form_data(product, kind="farm_choice"))
    assert page.status_code == 200 and "Enter the price of one box." in page.content.decode()
    assert not Box.objects.exists()


def test_a_farmer_changes_a_boxs_price_places_and_opening(client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop)
    box = services.create_box(shop=shop, actor=shop.owner, title="农场精选", kind=Box.Kind.FARM_CHOICE,
                              items=[(product, 1)], price=Decimal("50.00"), cutoff_weekday=1, delivery_weekday=4,
                              capacity=5)
    client.force_login(ShopFactory().owner)
    assert client.get(f"/seller/boxes/{box.pk}/edit/").status_code == 404
    client.force_login(shop.owner)
    assert client.get(f"/seller/boxes/{box.pk}/edit/").status_code == 200
    response = client.post(f"/seller/boxes/{box.pk}/edit/", {"capacity": "8", "price": "60.00"})
    assert response.status_code == 302
    box.refresh_from_db()
    assert (box.capacity, box.price, box.is_active) == (8, Decimal("60.00"), False)
