"""Cart rules: quantities add up, minimum order, stock, products off sale and closed shops; merge at sign-in."""
import pytest
from django.core.exceptions import ValidationError

from accounts.tests.factories import PASSWORD, BuyerFactory
from orders import selectors, services
from orders.models import Cart, CartItem
from shops.tests.factories import ProductFactory, ShopFactory

from .factories import fill_cart

pytestmark = pytest.mark.django_db


def test_adding_a_product_twice_adds_the_quantities_up():
    buyer = BuyerFactory()
    product = ProductFactory(stock=10)
    cart = fill_cart(buyer, (product, 2), (product, 3))
    assert list(cart.items.values_list("product", "quantity")) == [(product.pk, 5)]


@pytest.mark.parametrize("product_kwargs, quantity, field, words", [
    ({"stock": 3}, 4, "quantity", "Only 3"),
    ({"stock": 0}, 1, "quantity", "sold out"),
    ({"min_order": 5}, 2, "quantity", "minimum order"),
    ({"is_active": False}, 1, "product", "no longer on sale"),
])
def test_a_line_that_cannot_be_ordered_is_refused_with_a_clear_message(product_kwargs, quantity, field, words):
    cart = services.open_cart(user=BuyerFactory())
    product = ProductFactory(**product_kwargs)
    with pytest.raises(ValidationError) as exc:
        services.add_to_cart(cart=cart, product=product, quantity=quantity)
    assert words in " ".join(exc.value.message_dict[field])
    assert not CartItem.objects.exists()


def test_a_closed_shop_takes_no_cart_lines():
    product = ProductFactory(shop=ShopFactory(is_open=False))
    with pytest.raises(ValidationError) as exc:
        services.add_to_cart(cart=services.open_cart(user=BuyerFactory()), product=product, quantity=1)
    assert "not taking orders" in exc.value.message_dict["product"][0]


@pytest.mark.parametrize("quantity", [0, -1, "two", None, 10**9])
def test_bad_quantities_are_refused(quantity):
    with pytest.raises(ValidationError) as exc:
        services.add_to_cart(cart=services.open_cart(user=BuyerFactory()), product=ProductFactory(),
                             quantity=quantity)
    assert "quantity" in exc.value.message_dict


def test_update_sets_the_quantity_and_checks_stock():
    product = ProductFactory(stock=6)
    item = fill_cart(BuyerFactory(), (product, 2)).items.get()
    services.update_cart_item(item=item, quantity=6)
    item.refresh_from_db()
    assert item.quantity == 6
    with pytest.raises(ValidationError):
        services.update_cart_item(item=item, quantity=7)
    item.refresh_from_db()
    assert item.quantity == 6


def test_summary_groups_by_shop_with_subtotals_and_fees():
    buyer = BuyerFactory()
    a1, a2 = ProductFactory(price="10.00"), None
    a2 = ProductFactory(shop=a1.shop, price="5.00")
    b = ProductFactory(price="7.50")
    cart = fill_cart(buyer, (a1, 1), (a2, 2), (b, 2))
    summary = selectors.cart_summary(cart, province="山东省")
    assert [g.shop for g in summary.groups] == [a1.shop, b.shop]
    assert [str(g.items_total) for g in summary.groups] == ["20.00", "15.00"]
    # Same province: 8.00 + 1.00/kg; each unit weighs 5 kg.
    assert [str(g.shipping.fee) for g in summary.groups] == ["23.00", "18.00"]
    assert (str(summary.items_total), str(summary.shipping_total), str(summary.total)) == ("35.00", "41.00", "76.00")
    assert selectors.cart_summary(cart).shipping_total is None


def test_summary_marks_lines_that_went_out_of_stock_after_adding():
    product = ProductFactory(stock=5)
    cart = fill_cart(BuyerFactory(), (product, 4))
    product.stock = 2
    product.save()
    summary = selectors.cart_summary(cart)
    assert summary.has_problems and "Only 2" in summary.lines[0].problem


def test_merge_adds_quantities_caps_by_stock_and_drops_the_anonymous_cart():
    buyer = BuyerFactory()
    shared, capped, new = ProductFactory(stock=10), ProductFactory(stock=4), ProductFactory(stock=9)
    fill_cart(buyer, (shared, 2), (capped, 3))
    token = services.new_cart_token()
    anonymous = services.open_cart(token=token)
    for product, quantity in [(shared, 3), (capped, 3), (new, 1)]:
        services.add_to_cart(cart=anonymous, product=product, quantity=quantity)
    services.merge_carts(user=buyer, token=token)
    assert dict(buyer.cart.items.values_list("product", "quantity")) == {shared.pk: 5, capped.pk: 4, new.pk: 1}
    assert not Cart.objects.filter(pk=anonymous.pk).exists()


def test_signing_in_on_the_site_merges_the_visitors_cart(client):
    buyer = BuyerFactory()
    product = ProductFactory(stock=10)
    fill_cart(buyer, (product, 1))
    client.post("/cart/add/", {"product": product.pk, "quantity": 2})
    assert Cart.objects.filter(user__isnull=True).count() == 1
    response = client.post("/accounts/login/", {"username": buyer.username, "password": PASSWORD})
    assert response.status_code == 302
    assert buyer.cart.items.get().quantity == 3
    assert not Cart.objects.filter(user__isnull=True).exists()
    page = client.get("/cart/")
    assert page.context["summary"].count == 3
