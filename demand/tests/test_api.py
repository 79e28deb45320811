"""The demand API: shapes, permissions, bad input (400, nothing saved), filters and fixed query counts."""
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import AgentFactory, BuyerFactory, FarmerFactory
from demand.models import DemandPost, Offer
from notifications.models import Notification
from shops.models import Category
from shops.tests.factories import ProductFactory

from .factories import DemandPostFactory, OfferFactory

pytestmark = pytest.mark.django_db

POSTS = "/api/v1/demand/posts/"
SUMMARY = "/api/v1/demand/summary/"


def offers_url(post) -> str:
    return f"{POSTS}{post.pk}/offers/"


def new_post(**overrides):
    return {"category": "apples", "words": "红富士 80mm", "quantity": 30, "unit": "box", "province": "上海市",
            "city": "上海市", "needed_by": (timezone.localdate() + timedelta(days=10)).isoformat(),
            "max_price": "85.00", **overrides}


def test_buyer_posts_and_gets_the_contract_shape(api_client):
    buyer = BuyerFactory()
    api_client.force_authenticate(buyer)
    response = api_client.post(POSTS, new_post(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["category"] == "apples" and body["quantity"] == 30 and body["max_price"] == "85.00"
    assert body["currency"] == "CNY" and body["status"] == "open" and body["offer_count"] == 0 and body["mine"]
    assert DemandPost.objects.get(pk=body["id"]).buyer == buyer


def test_words_alone_or_category_alone_are_enough(api_client):
    api_client.force_authenticate(BuyerFactory())
    assert api_client.post(POSTS, new_post(category=None), format="json").status_code == 201
    assert api_client.post(POSTS, new_post(words=""), format="json").status_code == 201


@pytest.mark.parametrize("overrides, field", [
    ({"needed_by": "2020-01-01"}, "needed_by"),
    ({"needed_by": "not a date"}, "needed_by"),
    ({"quantity": -3}, "quantity"),
    ({"quantity": 0}, "quantity"),
    ({"quantity": "many"}, "quantity"),
    ({"max_price": "-5.00"}, "max_price"),
    ({"max_price": "12.345"}, "max_price"),
    ({"unit": "ton"}, "unit"),
    ({"category": "no-such-category"}, "category"),
    ({"category": None, "words": ""}, "words"),
])
def test_bad_post_is_400_with_the_field_and_nothing_saved(api_client, overrides, field):
    api_client.force_authenticate(BuyerFactory())
    response = api_client.post(POSTS, new_post(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not DemandPost.objects.exists()


@pytest.mark.parametrize("factory", [FarmerFactory, AgentFactory])
def test_only_buyers_post(api_client, factory):
    api_client.force_authenticate(factory())
    assert api_client.post(POSTS, new_post(), format="json").status_code == 403
    assert not DemandPost.objects.exists()


def test_anonymous_is_401(api_client):
    assert api_client.get(POSTS).status_code == 401
    assert api_client.get(SUMMARY).status_code == 401


def test_buyer_lists_only_their_own_posts(api_client):
    mine = DemandPostFactory()
    DemandPostFactory()
    api_client.force_authenticate(mine.buyer)
    assert [p["id"] for p in api_client.get(POSTS).json()["results"]] == [mine.pk]


def test_farmer_lists_open_posts_with_filters(api_client):
    today = timezone.localdate()
    apples = DemandPostFactory(province="浙江省")
    pears = DemandPostFactory(category=Category.objects.get(slug="pears"), province="上海市",
                              needed_by=today + timedelta(days=45))
    DemandPostFactory(status=DemandPost.Status.CLOSED)
    DemandPostFactory(needed_by=today - timedelta(days=1))
    api_client.force_authenticate(FarmerFactory())

    def ids(**params):
        response = api_client.get(POSTS, params)
        assert response.status_code == 200
        return {p["id"] for p in response.json()["results"]}

    assert ids() == {apples.pk, pears.pk}
    assert ids(category="fruit") == {apples.pk, pears.pk}
    assert ids(category="pears") == {pears.pk}
    assert ids(province="浙江省") == {apples.pk}
    assert ids(month=pears.needed_by.strftime("%Y-%m")) == {pears.pk}
    assert api_client.get(POSTS, {"month": "2025-13"}).status_code == 400
    assert api_client.get(POSTS, {"category": "nope"}).status_code == 400


def test_another_buyers_post_is_404(api_client):
    post = DemandPostFactory()
    api_client.force_authenticate(BuyerFactory())
    assert api_client.get(f"{POSTS}{post.pk}/").status_code == 404
    assert api_client.get(offers_url(post)).status_code == 404
    assert api_client.post(f"{POSTS}{post.pk}/close/").status_code == 404
    assert DemandPost.objects.get(pk=post.pk).status == DemandPost.Status.OPEN


def test_buyer_closes_their_post(api_client):
    post = DemandPostFactory()
    api_client.force_authenticate(post.buyer)
    response = api_client.post(f"{POSTS}{post.pk}/close/")
    assert response.status_code == 200 and response.json()["status"] == "closed"


def test_a_farmer_cannot_close_a_post(api_client):
    post = DemandPostFactory()
    api_client.force_authenticate(FarmerFactory())
    assert api_client.post(f"{POSTS}{post.pk}/close/").status_code == 404
    assert DemandPost.objects.get(pk=post.pk).status == DemandPost.Status.OPEN


# --- Offers ---------------------------------------------------------------------------

def test_farmer_offers_own_product_and_buyer_sees_it(api_client):
    post = DemandPostFactory()
    product = ProductFactory()
    api_client.force_authenticate(product.shop.owner)
    response = api_client.post(offers_url(post), {"product": product.pk, "price": "70.00", "quantity": 10,
                                                  "note": "可以分两次发"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["product"] == product.pk and body["shop"] == product.shop.slug and body["price"] == "70.00"
    assert body["product_url"] == product.get_absolute_url()
    assert Notification.objects.filter(recipient=post.buyer, kind="demand_offer").exists()

    api_client.force_authenticate(post.buyer)
    listed = api_client.get(offers_url(post)).json()
    assert listed["count"] == 1 and listed["results"][0]["product_title"] == product.title
    assert api_client.get(f"{POSTS}{post.pk}/").json()["offer_count"] == 1


def test_a_buyer_cannot_make_offers(api_client):
    post = DemandPostFactory()
    product = ProductFactory()
    api_client.force_authenticate(post.buyer)
    response = api_client.post(offers_url(post), {"product": product.pk, "price": "70.00", "quantity": 10},
                               format="json")
    assert response.status_code == 403
    assert not Offer.objects.exists()


def test_a_farmer_cannot_offer_another_farmers_product(api_client):
    post = DemandPostFactory()
    product = ProductFactory()
    api_client.force_authenticate(FarmerFactory())
    response = api_client.post(offers_url(post), {"product": product.pk, "price": "70.00", "quantity": 10},
                               format="json")
    assert response.status_code == 400
    assert "product" in response.json()
    assert not Offer.objects.exists() and not Notification.objects.exists()


@pytest.mark.parametrize("payload, field", [
    ({"price": "-1.00", "quantity": 1}, "price"),
    ({"price": "0.00", "quantity": 1}, "price"),
    ({"price": "10.00", "quantity": -1}, "quantity"),
    ({"price": "10.00", "quantity": 1, "product": 999999}, "product"),
])
def test_bad_offer_is_400_and_nothing_saved(api_client, payload, field):
    post = DemandPostFactory()
    product = ProductFactory()
    api_client.force_authenticate(product.shop.owner)
    response = api_client.post(offers_url(post), {"product": product.pk, **payload}, format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Offer.objects.exists()


def test_second_offer_of_the_same_product_is_400(api_client):
    offer = OfferFactory()
    api_client.force_authenticate(offer.made_by)
    response = api_client.post(offers_url(offer.post), {"product": offer.product.pk, "price": "1.00", "quantity": 1},
                               format="json")
    assert response.status_code == 400 and "product" in response.json()
    assert Offer.objects.count() == 1


def test_offer_on_a_closed_post_is_400(api_client):
    offer = OfferFactory()
    offer.post.status = DemandPost.Status.CLOSED
    offer.post.save()
    other = ProductFactory(shop=offer.shop)
    api_client.force_authenticate(offer.made_by)
    response = api_client.post(offers_url(offer.post), {"product": other.pk, "price": "1.00", "quantity": 1},
                               format="json")
    assert response.status_code == 400
    # The farmer still sees the post and their offer on it.
    assert api_client.get(offers_url(offer.post)).json()["count"] == 1


def test_farmer_sees_only_their_own_offers(api_client):
    post = DemandPostFactory()
    mine = OfferFactory(post=post)
    OfferFactory(post=post)
    api_client.force_authenticate(mine.made_by)
    assert [o["id"] for o in api_client.get(offers_url(post)).json()["results"]] == [mine.pk]


# --- Summary --------------------------------------------------------------------------

def test_summary_rows(api_client):
    needed_by = timezone.localdate() + timedelta(days=3)
    DemandPostFactory(quantity=10, needed_by=needed_by)
    DemandPostFactory(quantity=5, needed_by=needed_by)
    DemandPostFactory(quantity=7, needed_by=needed_by, province="浙江省")
    api_client.force_authenticate(FarmerFactory())
    body = api_client.get(SUMMARY).json()
    assert body["count"] == 2
    rows = {(r["province"], r["posts"], r["quantity"]) for r in body["results"]}
    assert rows == {("上海市", 2, 15), ("浙江省", 1, 7)}
    first = body["results"][0]
    assert first["month"] == needed_by.strftime("%Y-%m") and first["category"] == "apples"
    assert first["category_name"] == "Apples" and first["unit"] == "box"
    assert api_client.get(SUMMARY, {"province": "浙江省"}).json()["count"] == 1
    assert api_client.get(SUMMARY, {"month": "bad"}).status_code == 400


# --- Query counts ---------------------------------------------------------------------

@pytest.mark.parametrize("rows", [1, 15])
def test_list_endpoints_have_fixed_query_counts(api_client, django_assert_max_num_queries, rows):
    farmer = FarmerFactory()
    buyer = BuyerFactory()
    posts = [DemandPostFactory(buyer=buyer, province=f"省{i % 5}") for i in range(rows)]
    for _ in range(rows):
        OfferFactory(post=posts[0], product=ProductFactory())
    api_client.force_authenticate(farmer)
    with django_assert_max_num_queries(3):
        assert len(api_client.get(POSTS).json()["results"]) == rows
    with django_assert_max_num_queries(3):
        assert api_client.get(SUMMARY).json()["count"] == min(rows, 5)
    api_client.force_authenticate(buyer)
    with django_assert_max_num_queries(4):
        assert api_client.get(offers_url(posts[0])).json()["count"] == rows
    with django_assert_max_num_queries(3):
        assert api_client.get(POSTS).json()["count"] == rows
