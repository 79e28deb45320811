"""A new farmer is led from sign-up to their shop, then to their first product; empty lists say what to do."""
import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db


def sign_up(client, role: str):
    return client.post("/accounts/signup/", {
        "username": f"new_{role}", "email": f"{role}@example.com", "display_name": "老王",
        "role": role, "password1": "a-long-pass-phrase-42", "password2": "a-long-pass-phrase-42"})


def test_a_new_farmer_goes_to_open_a_shop_then_to_add_the_first_product(client):
    from shops.tests.factories import VillageFactory

    response = sign_up(client, "farmer")
    assert response.status_code == 302 and response["Location"] == "/seller/open-shop/"
    page = client.get(response["Location"]).content.decode()
    assert "Open your shop to start selling." in page

    village = VillageFactory()
    opened = client.post("/seller/open-shop/", {"name": "老王家果园", "village": village.pk, "kind": "farm",
                                                "description": "", "contact_phone": "13800000000"})
    assert opened.status_code == 302 and opened["Location"].endswith("/products/new/")
    assert "Now add your first product." in client.get(opened["Location"]).content.decode()


def test_a_new_buyer_still_lands_on_their_account(client):
    response = sign_up(client, "buyer")
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
    assert User.objects.get(username="new_buyer").role == "buyer"


def test_empty_shop_and_product_lists_show_one_clear_next_step(client):
    from shops.tests.factories import ShopFactory

    sign_up(client, "farmer")
    shops = client.get("/seller/").content.decode()
    assert 'href="/seller/open-shop/"' in shops and "Open your shop" in shops
    farmer = User.objects.get(username="new_farmer")
    shop = ShopFactory(owner=farmer)
    products = client.get(f"/seller/shops/{shop.slug}/products/").content.decode()
    assert "Add your first product" in products
