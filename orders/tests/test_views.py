"""Pages: cart, checkout, the buyer's orders and the seller's incoming orders."""
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import resolve

from accounts.tests.factories import AddressFactory, AgentFactory, BuyerFactory, FarmerFactory
from orders import services
from orders.models import Cart, Order, ShopOrder
from shops.models import Product
from shops.tests.factories import ProductFactory, ShopFactory

from .factories import fill_cart, place

pytestmark = pytest.mark.django_db
OS, SS = Order.Status, ShopOrder.Status


@pytest.fixture
def buyer():
    return BuyerFactory()


@pytest.fixture
def buyer_client(client, buyer):
    client.force_login(buyer)
    return client


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.mark.parametrize("path, name", [
    ("/cart/", "orders:cart"), ("/cart/add/", "orders:cart_add"), ("/checkout/", "orders:checkout"),
    ("/orders/", "orders:orders"), ("/orders/2611297K3QX9/", "orders:order"),
    ("/orders/2611297K3QX9/pay/", "orders:pay"), ("/seller/orders/", "orders:seller_orders"),
    ("/seller/orders/5/", "orders:seller_order"), ("/seller/orders/5/cancel/", "orders:seller_order_cancel"),
])
def test_urls_resolve_to_the_orders_pages(path, name):
    assert resolve(path).view_name == name


# --- Cart ---


def test_visitor_adds_to_cart_and_sees_it_grouped_with_fees(client):
    product = ProductFactory(price=Decimal("9.90"), stock=10, title="红心猕猴桃")
    response = client.post("/cart/add/", {"product": product.pk, "quantity": 3, "next": "/p/1/"})
    assert response.status_code == 302 and response["Location"] == "/p/1/"
    page = client.get("/cart/", {"province": "山东省"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "红心猕猴桃" in html and "¥29.70" in html
    assert "¥23.00" in html  # same province: 8.00 + 1.00 x 15 kg
    assert Cart.objects.get().user is None


def test_add_to_cart_refuses_an_offsite_next_and_shows_errors(client):
    product = ProductFactory(stock=2)
    response = client.post("/cart/add/", {"product": product.pk, "quantity": 5, "next": "https://evil.example/"},
                           follow=True)
    assert response.redirect_chain[-1][0] == "/cart/"
    assert any("Only 2" in m for m in messages_of(response))
    assert client.post("/cart/add/", {"product": 999999, "quantity": 1}).status_code == 404


def test_update_and_remove_a_line_only_in_your_own_cart(buyer_client, buyer):
    item = fill_cart(buyer, (ProductFactory(stock=9), 1)).items.get()
    other = fill_cart(BuyerFactory(), (ProductFactory(), 1)).items.get()
    assert buyer_client.post(f"/cart/items/{item.pk}/", {"quantity": 4}).status_code == 302
    item.refresh_from_db()
    assert item.quantity == 4
    response = buyer_client.post(f"/cart/items/{item.pk}/", {"quantity": 40}, follow=True)
    assert any("Only 9" in m for m in messages_of(response))
    assert buyer_client.post(f"/cart/items/{other.pk}/", {"quantity": 4}).status_code == 404
    assert buyer_client.post(f"/cart/items/{other.pk}/remove/").status_code == 404
    assert buyer_client.post(f"/cart/items/{item.pk}/remove/").status_code == 302
    assert not buyer.cart.items.exists()


def test_cart_page_takes_a_fixed_number_of_queries(buyer_client, buyer, django_assert_max_num_queries):
    AddressFactory(user=buyer)
    fill_cart(buyer, (ProductFactory(), 1))
    with django_assert_max_num_queries(8):
        buyer_client.get("/cart/")
    fill_cart(buyer, *[(ProductFactory(), 2) for _ in range(6)])
    with django_assert_max_num_queries(8):
        assert buyer_client.get("/cart/").context["summary"].count == 13


def test_add_to_cart_include_for_the_product_page():
    product = ProductFactory(stock=10, min_order=2)
    request = RequestFactory().get("/p/1/")
    html = render_to_string("orders/includes/add_to_cart.html", {"product": product}, request=request)
    assert 'action="/cart/add/"' in html and 'name="quantity"' in html and 'min="2"' in html
    sold_out = ProductFactory(stock=1, min_order=2)
    assert "Sold out" in render_to_string("orders/includes/add_to_cart.html", {"product": sold_out}, request=request)


# --- Checkout ---


def test_checkout_asks_a_visitor_to_sign_in(client):
    response = client.get("/checkout/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_checkout_page_shows_fees_for_the_default_address(buyer_client, buyer):
    AddressFactory(user=buyer, province="江苏省", is_default=True)
    fill_cart(buyer, (ProductFactory(price=Decimal("50.00")), 2))
    page = buyer_client.get("/checkout/")
    assert page.status_code == 200
    assert page.context["summary"].shipping_total == Decimal("30.00")  # neighbouring: 10.00 + 2.00 x 10 kg
    assert "¥130.00" in page.content.decode()


def test_update_fees_follows_the_address_chosen_without_placing(buyer_client, buyer):
    AddressFactory(user=buyer, province="江苏省", is_default=True)
    far = AddressFactory(user=buyer, province="云南省")
    fill_cart(buyer, (ProductFactory(), 1))
    page = buyer_client.post("/checkout/", {"address": far.pk, "payment_method": "cod", "quote": "1"})
    assert page.status_code == 200
    assert page.context["summary"].groups[0].shipping.zone == "far"
    assert not Order.objects.exists()


def test_placing_a_cash_order_goes_to_its_page(buyer_client, buyer):
    address = AddressFactory(user=buyer)
    fill_cart(buyer, (ProductFactory(), 2))
    response = buyer_client.post("/checkout/", {"address": address.pk, "payment_method": "cod", "place": "1"})
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/orders/{order.number}/"


def test_placing_an_online_order_goes_to_the_pay_page(buyer_client, buyer, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    address = AddressFactory(user=buyer)
    fill_cart(buyer, (ProductFactory(), 1))
    response = buyer_client.post("/checkout/", {"address": address.pk, "payment_method": "stripe"})
    order = Order.objects.get()
    assert response["Location"] == f"/orders/{order.number}/pay/"


def test_checkout_with_a_new_address_saves_it_with_the_order(buyer_client, buyer):
    fill_cart(buyer, (ProductFactory(), 1))
    form = {"address": "new", "payment_method": "cod", "new-name": "赵磊", "new-phone": "13911112222",
            "new-province": "北京市", "new-city": "北京市", "new-district": "海淀区", "new-line": "中关村大街 1 号",
            "new-postal_code": "100080"}
    bad = buyer_client.post("/checkout/", {**form, "new-phone": "12"})
    assert bad.status_code == 200 and "phone" in bad.context["address_form"].errors
    assert not Order.objects.exists() and not buyer.addresses.exists()
    response = buyer_client.post("/checkout/", form)
    assert response.status_code == 302
    assert Order.objects.get().province == "北京市" and buyer.addresses.get().name == "赵磊"


def test_a_conflict_at_checkout_is_shown_on_the_page_and_nothing_is_saved(buyer_client, buyer):
    address = AddressFactory(user=buyer)
    product = ProductFactory(stock=3, title="阳澄湖大闸蟹")
    fill_cart(buyer, (product, 3))
    Product.objects.filter(pk=product.pk).update(stock=1)
    page = buyer_client.post("/checkout/", {"address": address.pk, "payment_method": "cod"})
    assert page.status_code == 200
    assert "阳澄湖大闸蟹" in " ".join(page.context["form"].non_field_errors())
    assert not Order.objects.exists()


def test_someone_elses_address_cannot_be_used_at_checkout(buyer_client, buyer):
    AddressFactory(user=buyer)
    fill_cart(buyer, (ProductFactory(), 1))
    page = buyer_client.post("/checkout/", {"address": AddressFactory().pk, "payment_method": "cod"})
    assert page.status_code == 200 and "address" in page.context["form"].errors
    assert not Order.objects.exists()


def test_checkout_with_an_empty_cart_goes_back_to_the_cart(buyer_client):
    assert buyer_client.get("/checkout/")["Location"] == "/cart/"


# --- Buyer's orders ---


def test_order_detail_shows_each_shop_status_lines_fees_and_the_farm_phone(buyer_client, buyer):
    order = place(buyer=buyer, shops=2)
    page = buyer_client.get(f"/orders/{order.number}/")
    html = page.content.decode()
    assert page.status_code == 200
    for so in order.shop_orders.all():
        assert so.shop.name in html and f"¥{so.shipping_fee}" in html
    assert "tel:13700000000" in html
    assert page.context["can_cancel"] is True and page.context["pay_url"] == ""


def test_an_unpaid_online_order_links_to_the_pay_page(buyer_client, buyer, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    order = place(buyer=buyer, payment_method="stripe")
    page = buyer_client.get(f"/orders/{order.number}/")
    assert f'href="/orders/{order.number}/pay/"' in page.content.decode()


def test_another_buyers_order_is_404(buyer_client):
    theirs = place()
    assert buyer_client.get(f"/orders/{theirs.number}/").status_code == 404
    assert buyer_client.post(f"/orders/{theirs.number}/cancel/").status_code == 404
    assert Order.objects.get().status == OS.PENDING_PAYMENT


def test_buyer_cancels_from_the_order_page_and_a_second_try_says_why_not(buyer_client, buyer):
    order = place(buyer=buyer)
    response = buyer_client.post(f"/orders/{order.number}/cancel/", {"reason": "wrong address"}, follow=True)
    assert Order.objects.get().status == OS.CANCELLED
    assert response.context["can_cancel"] is False
    again = buyer_client.post(f"/orders/{order.number}/cancel/", follow=True)
    assert any("cannot" in m for m in messages_of(again))


def test_order_pages_take_a_fixed_number_of_queries(buyer_client, buyer, django_assert_max_num_queries):
    first = place(buyer=buyer)
    with django_assert_max_num_queries(7):
        buyer_client.get("/orders/")
    # The detail page adds the pending-payment check and the pre-sale/group hold look-ups (2).
    with django_assert_max_num_queries(10):
        buyer_client.get(f"/orders/{first.number}/")
    for _ in range(12):
        place(buyer=buyer, shops=2)
    big = place(buyer=buyer, shops=4)
    with django_assert_max_num_queries(7):
        page = buyer_client.get("/orders/")
    assert len(page.context["orders"]) == 10 and page.context["page"].has_next()
    with django_assert_max_num_queries(10):
        buyer_client.get(f"/orders/{big.number}/")


# --- Seller ---


@pytest.fixture
def farmer():
    return FarmerFactory()


@pytest.fixture
def farmer_client(client, farmer):
    client.force_login(farmer)
    return client


def test_seller_sees_incoming_orders_and_accepts(farmer_client, farmer):
    shop = ShopFactory(owner=farmer)
    part = place(lines=[(ProductFactory(shop=shop, title="蒲江猕猴桃"), 2)]).shop_orders.get()
    place()  # someone else's shop
    page = farmer_client.get("/seller/orders/")
    assert [so.pk for so in page.context["shop_orders"]] == [part.pk]
    assert "蒲江猕猴桃" in page.content.decode()
    response = farmer_client.post(f"/seller/orders/{part.pk}/accept/", {"next": "/seller/orders/?status=new"})
    assert response["Location"] == "/seller/orders/?status=new"
    assert ShopOrder.objects.get(pk=part.pk).status == SS.ACCEPTED
    again = farmer_client.post(f"/seller/orders/{part.pk}/accept/", follow=True)
    assert any("cannot go from" in m for m in messages_of(again))
    filtered = farmer_client.get("/seller/orders/", {"status": "new"})
    assert list(filtered.context["shop_orders"]) == []


def test_seller_cancels_with_a_reason(farmer_client, farmer):
    product = ProductFactory(shop=ShopFactory(owner=farmer), stock=10)
    part = place(lines=[(product, 3)]).shop_orders.get()
    assert farmer_client.get(f"/seller/orders/{part.pk}/cancel/").status_code == 200
    empty = farmer_client.post(f"/seller/orders/{part.pk}/cancel/", {"reason": ""})
    assert empty.status_code == 200 and "reason" in empty.context["form"].errors
    done = farmer_client.post(f"/seller/orders/{part.pk}/cancel/", {"reason": "虫害"})
    assert done["Location"] == f"/seller/orders/{part.pk}/"
    part.refresh_from_db()
    assert (part.status, part.cancel_reason) == (SS.CANCELLED, "虫害")
    assert Product.objects.get(pk=product.pk).stock == 10


def test_another_shops_order_is_404_for_a_farmer(farmer_client):
    part = place().shop_orders.get()
    for url in (f"/seller/orders/{part.pk}/", f"/seller/orders/{part.pk}/cancel/"):
        assert farmer_client.get(url).status_code == 404
    assert farmer_client.post(f"/seller/orders/{part.pk}/accept/").status_code == 404
    assert ShopOrder.objects.get(pk=part.pk).status == SS.NEW


def test_seller_list_takes_a_fixed_number_of_queries(farmer_client, farmer, django_assert_max_num_queries):
    shop = ShopFactory(owner=farmer)
    place(lines=[(ProductFactory(shop=shop), 1)])
    with django_assert_max_num_queries(7):
        farmer_client.get("/seller/orders/")
    for _ in range(12):
        place(lines=[(ProductFactory(shop=shop), 1), (ProductFactory(shop=shop), 1)])
    with django_assert_max_num_queries(7):
        page = farmer_client.get("/seller/orders/")
    assert len(page.context["shop_orders"]) == 10


def test_a_cash_order_shows_paid_once_the_cash_is_recorded(buyer_client, buyer):
    order = place(buyer=buyer)
    # Cash on delivery: nothing is awaited from the buyer before the parcel comes.
    assert '<span class="badge">Pay on delivery</span>' in buyer_client.get(
        f"/orders/{order.number}/").content.decode()
    services.record_cash_payment(order=order, agent=AgentFactory())
    html = buyer_client.get(f"/orders/{order.number}/").content.decode()
    assert '<span class="badge">Paid</span>' in html


def test_a_line_keeps_the_unit_code_and_pages_show_its_name(buyer_client, buyer):
    product = ProductFactory(unit=Product.Unit.JIN, unit_weight_kg=Decimal("0.500"))
    order = place(buyer=buyer, lines=[(product, 3)])
    assert order.shop_orders.get().lines.get().unit == "jin"
    assert "3 jin (500 g)" in buyer_client.get(f"/orders/{order.number}/").content.decode()


def test_the_order_list_links_to_standing_orders_and_saved_cards(buyer_client):
    html = buyer_client.get("/orders/").content.decode()
    assert 'href="/subscriptions/"' in html and 'href="/account/cards/"' in html
