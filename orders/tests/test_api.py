"""The JSON API: cart, checkout, buyer orders and seller orders; shapes, permissions, errors, query counts."""
from decimal import Decimal

import pytest

from accounts.tests.factories import AddressFactory, BuyerFactory, FarmerFactory
from orders.models import Order, ShopOrder
from shops.models import Product, ShopMember
from shops.tests.factories import ProductFactory, ShopFactory

from .factories import fill_cart, place

pytestmark = pytest.mark.django_db
OS, SS = Order.Status, ShopOrder.Status


@pytest.fixture
def buyer():
    return BuyerFactory()


@pytest.fixture
def as_buyer(api_client, buyer):
    api_client.force_authenticate(buyer)
    return api_client


# --- Cart ---


def test_cart_needs_sign_in(api_client):
    assert api_client.get("/api/v1/cart/").status_code == 401
    assert api_client.post("/api/v1/cart/items/", {"product": 1, "quantity": 1}).status_code == 401


def test_add_change_and_remove_cart_lines(as_buyer, buyer):
    product = ProductFactory(price=Decimal("12.50"), stock=10)
    created = as_buyer.post("/api/v1/cart/items/", {"product": product.pk, "quantity": 2})
    assert created.status_code == 201
    item = created.json()
    assert (item["product"], item["quantity"], item["unit_price"], item["line_total"]) == (
        product.pk, 2, "12.50", "25.00")
    again = as_buyer.post("/api/v1/cart/items/", {"product": product.pk, "quantity": 1}).json()
    assert (again["id"], again["quantity"]) == (item["id"], 3)
    patched = as_buyer.patch(f"/api/v1/cart/items/{item['id']}/", {"quantity": 5})
    assert patched.status_code == 200 and patched.json()["quantity"] == 5
    assert as_buyer.delete(f"/api/v1/cart/items/{item['id']}/").status_code == 204
    assert not buyer.cart.items.exists()


@pytest.mark.parametrize("payload, field", [
    ({"product": 999999, "quantity": 1}, "product"),
    ({"quantity": 1}, "product"),
    ({"product": "x", "quantity": 1}, "product"),
    ({"product": None, "quantity": 0}, "quantity"),
    ({"product": None, "quantity": "many"}, "quantity"),
    ({"product": None, "quantity": 11}, "quantity"),
])
def test_bad_cart_input_is_400_on_the_field(as_buyer, payload, field):
    product = ProductFactory(stock=10)
    if payload.get("product", 0) is None:
        payload = {**payload, "product": product.pk}
    response = as_buyer.post("/api/v1/cart/items/", payload)
    assert response.status_code == 400
    assert field in response.json()


def test_a_product_off_sale_is_400_on_product(as_buyer):
    response = as_buyer.post("/api/v1/cart/items/", {"product": ProductFactory(is_active=False).pk, "quantity": 1})
    assert response.status_code == 400 and "no longer on sale" in response.json()["product"][0]


def test_another_buyers_cart_line_is_404(as_buyer):
    other_item = fill_cart(BuyerFactory(), (ProductFactory(), 1)).items.get()
    assert as_buyer.patch(f"/api/v1/cart/items/{other_item.pk}/", {"quantity": 2}).status_code == 404
    assert as_buyer.delete(f"/api/v1/cart/items/{other_item.pk}/").status_code == 404
    other_item.refresh_from_db()
    assert other_item.quantity == 1


def test_get_cart_groups_by_shop_with_fees_to_the_default_address(as_buyer, buyer):
    AddressFactory(user=buyer, province="山东省", is_default=True)
    a = ProductFactory(price=Decimal("10.00"))
    b = ProductFactory(price=Decimal("3.00"))
    fill_cart(buyer, (a, 1), (b, 2))
    body = as_buyer.get("/api/v1/cart/").json()
    assert body["province"] == "山东省" and body["count"] == 3
    assert [s["shop"] for s in body["shops"]] == [a.shop.slug, b.shop.slug]
    first = body["shops"][0]
    assert (first["items_total"], first["shipping_fee"], first["zone"], first["total"]) == (
        "10.00", "13.00", "same", "23.00")
    assert (body["items_total"], body["shipping_total"], body["total"]) == ("16.00", "31.00", "47.00")
    assert body["can_check_out"] is True
    far = as_buyer.get("/api/v1/cart/", {"province": "云南省"}).json()
    assert far["shops"][0]["zone"] == "far"


def test_cart_quote_for_someone_elses_address_is_404(as_buyer):
    assert as_buyer.get("/api/v1/cart/", {"address": AddressFactory().pk}).status_code == 404
    assert as_buyer.get("/api/v1/cart/", {"address": "x"}).status_code == 400


# --- Checkout ---


def test_checkout_returns_201_with_the_contract_shape(as_buyer, buyer):
    address = AddressFactory(user=buyer)
    product = ProductFactory(price=Decimal("68.00"), stock=5)
    fill_cart(buyer, (product, 2))
    response = as_buyer.post("/api/v1/orders/", {"address": address.pk, "payment_method": "cod"})
    assert response.status_code == 201
    body = response.json()
    assert {"id", "number", "status", "total", "shop_orders"} <= set(body)
    assert body["status"] == "pending_payment" and body["total"] == "191.00"
    part = body["shop_orders"][0]
    assert {"id", "shop", "status", "lines", "shipping_fee"} <= set(part)
    assert (part["shop"], part["status"], part["shipping_fee"]) == (product.shop.slug, "new", "55.00")
    assert (part["lines"][0]["title"], part["lines"][0]["quantity"], part["lines"][0]["unit_price"]) == (
        product.title, 2, "68.00")
    assert Product.objects.get(pk=product.pk).stock == 3


def test_checkout_conflict_is_409_naming_the_product(as_buyer, buyer):
    address = AddressFactory(user=buyer)
    product = ProductFactory(stock=5, title="赣南脐橙")
    fill_cart(buyer, (product, 3))
    Product.objects.filter(pk=product.pk).update(stock=1)
    response = as_buyer.post("/api/v1/orders/", {"address": address.pk, "payment_method": "cod"})
    assert response.status_code == 409
    assert "赣南脐橙" in response.json()["detail"] and response.json()["code"] == "out_of_stock"
    assert not Order.objects.exists()


@pytest.mark.parametrize("payload, field", [
    ({"payment_method": "cod"}, "address"),
    ({"address": "abc", "payment_method": "cod"}, "address"),
    ({"address": "OTHER", "payment_method": "cod"}, "address"),
    ({"address": "MINE", "payment_method": "cheque"}, "payment_method"),
    ({"address": "MINE", "payment_method": "stripe"}, "payment_method"),  # card payments are off here
])
def test_bad_checkout_input_is_400_on_the_field(as_buyer, buyer, payload, field, settings):
    settings.STRIPE_SECRET_KEY = ""
    mine, other = AddressFactory(user=buyer), AddressFactory()
    fill_cart(buyer, (ProductFactory(), 1))
    payload = {k: {"MINE": mine.pk, "OTHER": other.pk}.get(v, v) for k, v in payload.items()}
    response = as_buyer.post("/api/v1/orders/", payload)
    assert response.status_code == 400
    assert field in response.json()
    assert not Order.objects.exists()


def test_checkout_with_an_empty_cart_is_400(as_buyer, buyer):
    response = as_buyer.post("/api/v1/orders/", {"address": AddressFactory(user=buyer).pk, "payment_method": "cod"})
    assert response.status_code == 400 and "cart" in response.json()


# --- Buyer's orders ---


def test_buyer_lists_and_reads_only_their_own_orders(as_buyer, buyer):
    mine = place(buyer=buyer, shops=2)
    theirs = place()
    listed = as_buyer.get("/api/v1/orders/").json()
    assert listed["count"] == 1 and listed["results"][0]["number"] == mine.number
    detail = as_buyer.get(f"/api/v1/orders/{mine.pk}/").json()
    assert detail["shop_orders"][0]["contact_phone"] == "13700000000"
    assert as_buyer.get(f"/api/v1/orders/{theirs.pk}/").status_code == 404
    assert as_buyer.post(f"/api/v1/orders/{theirs.pk}/cancel/").status_code == 404
    assert Order.objects.get(pk=theirs.pk).status == OS.PENDING_PAYMENT


def test_buyer_cancels_then_cancelling_again_is_409(as_buyer, buyer):
    order = place(buyer=buyer)
    response = as_buyer.post(f"/api/v1/orders/{order.pk}/cancel/", {"reason": "changed my mind"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = as_buyer.post(f"/api/v1/orders/{order.pk}/cancel/")
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"


def test_order_list_and_detail_take_a_fixed_number_of_queries(as_buyer, buyer, django_assert_max_num_queries):
    first = place(buyer=buyer, shops=1)
    with django_assert_max_num_queries(4):
        assert as_buyer.get("/api/v1/orders/").json()["count"] == 1
    for _ in range(4):
        place(buyer=buyer, shops=3)
    with django_assert_max_num_queries(4):
        assert as_buyer.get("/api/v1/orders/").json()["count"] == 5
    with django_assert_max_num_queries(3):
        as_buyer.get(f"/api/v1/orders/{first.pk}/")
    big = place(buyer=buyer, shops=4)
    with django_assert_max_num_queries(3):
        assert len(as_buyer.get(f"/api/v1/orders/{big.pk}/").json()["shop_orders"]) == 4


# --- Seller ---


@pytest.fixture
def farmer():
    return FarmerFactory()


@pytest.fixture
def as_farmer(api_client, farmer):
    api_client.force_authenticate(farmer)
    return api_client


def test_farmer_sees_only_their_shops_parts(as_farmer, farmer):
    shop = ShopFactory(owner=farmer)
    coop = ShopFactory()
    ShopMember.objects.create(shop=coop, user=farmer, role=ShopMember.Role.MANAGER)
    ordered = place(lines=[(ProductFactory(shop=shop), 1), (ProductFactory(shop=coop), 1), (ProductFactory(), 1)])
    place(lines=[(ProductFactory(), 1)])
    body = as_farmer.get("/api/v1/seller/orders/").json()
    assert body["count"] == 2
    assert {r["shop"] for r in body["results"]} == {shop.slug, coop.slug}
    assert {r["order"] for r in body["results"]} == {ordered.number}
    assert "recipient" not in body["results"][0] and body["results"][0]["destination"]["city"] == "杭州市"
    foreign = ordered.shop_orders.exclude(shop__in=[shop, coop]).get()
    assert as_farmer.post(f"/api/v1/seller/orders/{foreign.pk}/accept/").status_code == 404
    assert as_farmer.get(f"/api/v1/seller/orders/{foreign.pk}/").status_code == 404


def test_a_plain_member_of_a_cooperative_sees_nothing(as_farmer, farmer):
    coop = ShopFactory()
    ShopMember.objects.create(shop=coop, user=farmer, role=ShopMember.Role.MEMBER)
    part = place(lines=[(ProductFactory(shop=coop), 1)]).shop_orders.get()
    assert as_farmer.get("/api/v1/seller/orders/").json()["count"] == 0
    assert as_farmer.post(f"/api/v1/seller/orders/{part.pk}/accept/").status_code == 404


def test_parts_waiting_for_online_payment_are_not_listed(as_farmer, farmer, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    place(lines=[(ProductFactory(shop=ShopFactory(owner=farmer)), 1)], payment_method="stripe")
    assert as_farmer.get("/api/v1/seller/orders/").json()["count"] == 0


def test_accept_then_accept_again_is_409_and_status_filter(as_farmer, farmer):
    shop = ShopFactory(owner=farmer)
    one = place(lines=[(ProductFactory(shop=shop), 1)]).shop_orders.get()
    place(lines=[(ProductFactory(shop=shop), 1)])
    accepted = as_farmer.post(f"/api/v1/seller/orders/{one.pk}/accept/")
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    again = as_farmer.post(f"/api/v1/seller/orders/{one.pk}/accept/")
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"
    assert [r["id"] for r in as_farmer.get("/api/v1/seller/orders/", {"status": "accepted"}).json()["results"]] == [
        one.pk]
    assert as_farmer.get("/api/v1/seller/orders/", {"status": "new"}).json()["count"] == 1
    assert as_farmer.get("/api/v1/seller/orders/", {"status": "bogus"}).status_code == 400


def test_seller_cancel_needs_a_reason_and_returns_stock(as_farmer, farmer):
    product = ProductFactory(shop=ShopFactory(owner=farmer), stock=10)
    part = place(lines=[(product, 4)]).shop_orders.get()
    missing = as_farmer.post(f"/api/v1/seller/orders/{part.pk}/cancel/", {})
    assert missing.status_code == 400 and "reason" in missing.json()
    response = as_farmer.post(f"/api/v1/seller/orders/{part.pk}/cancel/", {"reason": "Storm"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert Product.objects.get(pk=product.pk).stock == 10
    assert Order.objects.get(pk=part.order_id).status == OS.CANCELLED
    late = as_farmer.post(f"/api/v1/seller/orders/{part.pk}/cancel/", {"reason": "again"})
    assert late.status_code == 409


def test_seller_list_takes_a_fixed_number_of_queries(as_farmer, farmer, django_assert_max_num_queries):
    shop = ShopFactory(owner=farmer)
    place(lines=[(ProductFactory(shop=shop), 1)])
    with django_assert_max_num_queries(3):
        assert as_farmer.get("/api/v1/seller/orders/").json()["count"] == 1
    for _ in range(6):
        place(lines=[(ProductFactory(shop=shop), 1), (ProductFactory(shop=shop), 2)])
    with django_assert_max_num_queries(3):
        assert as_farmer.get("/api/v1/seller/orders/").json()["count"] == 7


def test_cart_takes_a_fixed_number_of_queries(as_buyer, buyer, django_assert_max_num_queries):
    AddressFactory(user=buyer)
    fill_cart(buyer, (ProductFactory(), 1))
    with django_assert_max_num_queries(4):
        as_buyer.get("/api/v1/cart/")
    fill_cart(buyer, *[(ProductFactory(), 1) for _ in range(8)])
    with django_assert_max_num_queries(4):
        assert as_buyer.get("/api/v1/cart/").json()["count"] == 9
