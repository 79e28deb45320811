"""Signing in with a cart in hand: the merge is shown line by line and can be undone exactly."""
import pytest

from accounts.tests.factories import PASSWORD, AddressFactory, BuyerFactory
from orders.models import Cart
from orders.tests.factories import fill_cart
from shops.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def lines(buyer) -> dict[int, int]:
    return dict(Cart.objects.get(user=buyer).items.values_list("product", "quantity"))


def test_signing_in_mid_checkout_lists_the_changes_and_undo_restores_the_cart_exactly(client):
    buyer = BuyerFactory()
    AddressFactory(user=buyer)
    shared, old, mine = ProductFactory(stock=10, title="苹果"), ProductFactory(stock=10, title="旧白菜"), \
        ProductFactory(stock=10, title="土鸡蛋")
    fill_cart(buyer, (shared, 1), (old, 4))
    client.post("/cart/add/", {"product": shared.pk, "quantity": 2})
    client.post("/cart/add/", {"product": mine.pk, "quantity": 3})
    signed_in = client.post("/accounts/login/?next=/checkout/", {"username": buyer.username, "password": PASSWORD,
                                                                 "next": "/checkout/"})
    assert signed_in.status_code == 302
    assert lines(buyer) == {shared.pk: 3, old.pk: 4, mine.pk: 3}

    checkout = client.get("/checkout/").content.decode()
    assert "Your saved cart was added to this one" in checkout
    assert "Added from your saved cart: 旧白菜 × 4" in checkout
    assert "Quantity raised: 苹果 from 2 to 3" in checkout
    assert 'action="/cart/merge/undo/"' in checkout

    undone = client.post("/cart/merge/undo/", {"next": "/checkout/"})
    assert undone.status_code == 302 and undone["Location"] == "/checkout/"
    assert lines(buyer) == {shared.pk: 2, mine.pk: 3}
    assert "Your saved cart was added" not in client.get("/cart/").content.decode()
    # Nothing left to undo: a second POST changes nothing and says so.
    again = client.post("/cart/merge/undo/", follow=True)
    assert lines(buyer) == {shared.pk: 2, mine.pk: 3} and "nothing to undo" in again.content.decode()


def test_keeping_the_merge_hides_the_notice_and_keeps_the_lines(client):
    buyer = BuyerFactory()
    kept, added = ProductFactory(stock=10), ProductFactory(stock=10)
    fill_cart(buyer, (kept, 1))
    client.post("/cart/add/", {"product": added.pk, "quantity": 1})
    client.post("/accounts/login/", {"username": buyer.username, "password": PASSWORD})
    assert "Your saved cart was added" in client.get("/cart/").content.decode()
    client.post("/cart/merge/keep/")
    assert "Your saved cart was added" not in client.get("/cart/").content.decode()
    assert lines(buyer) == {kept.pk: 1, added.pk: 1}


def test_no_notice_when_the_saved_cart_was_empty(client):
    buyer = BuyerFactory()
    product = ProductFactory(stock=10)
    client.post("/cart/add/", {"product": product.pk, "quantity": 2})
    client.post("/accounts/login/", {"username": buyer.username, "password": PASSWORD})
    assert "Your saved cart was added" not in client.get("/cart/").content.decode()
    assert lines(buyer) == {product.pk: 2}


def test_undo_needs_a_post_and_a_signed_in_buyer(client):
    assert client.get("/cart/merge/undo/").status_code == 405
    response = client.post("/cart/merge/undo/")
    assert response.status_code == 302 and not Cart.objects.exists()
