"""Reviews: once per delivered part, 1 to 5 stars, a checked photo; one reply by the shop; averages."""
import io
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from PIL import Image

from accounts.tests.factories import FarmerFactory
from core.errors import ConflictError
from logistics import selectors, services
from logistics.models import Review
from shops.cache import GLOBAL, catalogue, product_scope, shop_scope

from .factories import departed, ready_part, shop_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(station, agent):
    shipment, (parcel,) = departed(station, agent)
    services.record_shipment_event(shipment=shipment, actor=agent, kind="delivered")
    return parcel.shop_order


def jpeg() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (200, 30, 30)).save(buffer, format="JPEG")
    return SimpleUploadedFile("apples.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_a_buyer_rates_a_delivered_part_once(delivered):
    buyer = delivered.order.buyer
    product_id = delivered.lines.get().product_id
    scopes = [GLOBAL, shop_scope(delivered.shop_id), product_scope(product_id)]
    before = catalogue.current_many(scopes)
    review = services.create_review(shop_order=delivered, buyer=buyer, rating=5, text="又脆又甜", photo=jpeg())
    assert (review.rating, review.text, review.photo.name.startswith("reviews/")) == (5, "又脆又甜", True)
    after = catalogue.current_many(scopes)
    # The shop's page (its stars) and its product's page (stars, reviews) are cached anew; the rest of the
    # catalogue is not thrown away.
    assert after[GLOBAL] == before[GLOBAL]
    assert after[shop_scope(delivered.shop_id)] != before[shop_scope(delivered.shop_id)]
    assert after[product_scope(product_id)] != before[product_scope(product_id)]
    with pytest.raises(ConflictError) as exc:
        services.create_review(shop_order=delivered, buyer=buyer, rating=1)
    assert exc.value.code == "already_reviewed"
    assert Review.objects.count() == 1


def test_only_the_buyer_of_a_delivered_part_may_rate(station, delivered):
    with pytest.raises(PermissionDenied):
        services.create_review(shop_order=delivered, buyer=FarmerFactory(), rating=3)
    not_yet = ready_part(station)
    with pytest.raises(ConflictError) as exc:
        services.create_review(shop_order=not_yet, buyer=not_yet.order.buyer, rating=3)
    assert exc.value.code == "not_delivered"


@pytest.mark.parametrize("rating", [0, 6, "five", None])
def test_ratings_are_one_to_five(delivered, rating):
    with pytest.raises(ValidationError) as exc:
        services.create_review(shop_order=delivered, buyer=delivered.order.buyer, rating=rating)
    assert "rating" in exc.value.message_dict


def test_a_review_photo_must_be_a_photo(delivered):
    fake = SimpleUploadedFile("a.jpg", b"<?php echo 1; ?>", content_type="image/jpeg")
    with pytest.raises(ValidationError) as exc:
        services.create_review(shop_order=delivered, buyer=delivered.order.buyer, rating=4, photo=fake)
    assert "photo" in exc.value.message_dict and not Review.objects.exists()


def test_the_shop_replies_once_and_others_cannot(api_client, delivered):
    review = services.create_review(shop_order=delivered, buyer=delivered.order.buyer, rating=2, text="有点软")
    api_client.force_authenticate(FarmerFactory())
    assert api_client.post(f"/api/v1/reviews/{review.pk}/reply/", {"reply": "x"}).status_code == 404
    api_client.force_authenticate(delivered.shop.owner)
    replied = api_client.post(f"/api/v1/reviews/{review.pk}/reply/", {"reply": "抱歉，下次给您补一箱。"})
    assert replied.status_code == 200 and replied.json()["reply"] == "抱歉，下次给您补一箱。"
    again = api_client.post(f"/api/v1/reviews/{review.pk}/reply/", {"reply": "again"})
    assert again.status_code == 409
    assert api_client.post(f"/api/v1/reviews/{review.pk}/reply/", {"reply": ""}).status_code == 400


def test_reviews_api_create_and_public_list_without_buyer_names(api_client, delivered):
    buyer = delivered.order.buyer
    api_client.force_authenticate(buyer)
    created = api_client.post("/api/v1/reviews/", {"shop_order": delivered.pk, "rating": 4, "text": "好吃",
                                                   "photo": jpeg()}, format="multipart")
    assert created.status_code == 201, created.json()
    assert created.json()["photo"].startswith("/media/reviews/")
    assert api_client.post("/api/v1/reviews/", {"shop_order": delivered.pk, "rating": 4}).status_code == 409
    api_client.force_authenticate(None)
    listed = api_client.get(f"/api/v1/reviews/?shop={delivered.shop.slug}")
    assert listed.json()["count"] == 1
    product = delivered.lines.get().product_id
    assert api_client.get(f"/api/v1/reviews/?product={product}").json()["count"] == 1
    assert api_client.get("/api/v1/reviews/?product=abc").status_code == 400
    text = listed.content.decode()
    for secret in (buyer.username, buyer.display_name, delivered.order.recipient):
        assert secret not in text


def test_averages_for_shops_and_products_in_one_query(station, agent, django_assert_num_queries):
    parts = []
    shop = shop_at(station)
    for stars in (5, 4, 4):
        shipment, (parcel,) = departed(station, agent, shop=shop)
        services.record_shipment_event(shipment=shipment, actor=agent, kind="delivered")
        services.create_review(shop_order=parcel.shop_order, buyer=parcel.shop_order.order.buyer, rating=stars)
        parts.append(parcel.shop_order)
    products = [p.lines.get().product_id for p in parts]
    with django_assert_num_queries(1):
        rating = selectors.shop_rating(shop)
    assert (rating.count, rating.average) == (3, Decimal("4.3"))
    with django_assert_num_queries(1):
        ratings = selectors.product_ratings([*products, 999999])
    assert [ratings[p].average for p in products] == [Decimal("5.0"), Decimal("4.0"), Decimal("4.0")]
    assert ratings[999999].count == 0
    html = render_to_string("logistics/includes/rating.html", {"rating": selectors.Rating(Decimal("4.3"), 12)})
    assert "★★★★☆" in html and "4.3 out of 5 (12 reviews)" in html
    assert "No reviews yet" in render_to_string("logistics/includes/rating.html", {"rating": selectors.NO_RATING})


def test_a_review_is_counted_on_its_products_and_a_removed_one_taken_off(client, delivered,
                                                                        django_capture_on_commit_callbacks):
    """The product page reads the stars stored on the product (no query over the reviews); writing a review stores
    them, and removing one (the admin's delete) counts them again."""
    product = delivered.lines.get().product
    page = client.get(product.get_absolute_url()).content.decode()
    assert "No reviews yet" in page
    review = services.create_review(shop_order=delivered, buyer=delivered.order.buyer, rating=4, text="脆")
    product.refresh_from_db()
    assert (product.rating_average, product.rating_count) == (Decimal("4.0"), 1)
    page = client.get(product.get_absolute_url()).content.decode()
    assert "4.0 out of 5 (1 review)" in page and "脆" in page
    with django_capture_on_commit_callbacks(execute=True):
        review.delete()
    product.refresh_from_db()
    assert (product.rating_average, product.rating_count) == (None, 0)
    assert "No reviews yet" in client.get(product.get_absolute_url()).content.decode()


def test_shop_reviews_page_and_seller_reply_page(client, delivered):
    services.create_review(shop_order=delivered, buyer=delivered.order.buyer, rating=3, text="还行")
    page = client.get(f"/reviews/shop/{delivered.shop.slug}/")
    assert page.status_code == 200 and "还行" in page.content.decode()
    client.force_login(delivered.shop.owner)
    mine = client.get("/seller/reviews/")
    assert "还行" in mine.content.decode()
    review = Review.objects.get()
    assert client.post(f"/seller/reviews/{review.pk}/reply/", {"reply": "谢谢"}).status_code == 302
    review.refresh_from_db()
    assert review.reply == "谢谢"
    assert "谢谢" in client.get(f"/reviews/shop/{delivered.shop.slug}/").content.decode()


def test_a_cached_shop_page_shows_a_new_review_and_a_product_page_the_reply(client, delivered):
    shop_url, product = delivered.shop.get_absolute_url(), delivered.lines.get().product
    for url in (shop_url, product.get_absolute_url()):
        client.get(url)
        assert client.get(url)["X-Catalogue-Cache"] == "hit"
    review = services.create_review(shop_order=delivered, buyer=delivered.order.buyer, rating=4, text="脆")
    shop_page = client.get(shop_url)
    assert shop_page["X-Catalogue-Cache"] == "miss" and "4.0 out of 5 (1 review)" in shop_page.content.decode()
    client.get(product.get_absolute_url())
    services.reply_to_review(review=review, actor=delivered.shop.owner, text="谢谢您")
    product_page = client.get(product.get_absolute_url())
    assert product_page["X-Catalogue-Cache"] == "miss" and "谢谢您" in product_page.content.decode()


def test_removing_a_review_refreshes_its_shops_page(client, delivered, django_capture_on_commit_callbacks):
    review = services.create_review(shop_order=delivered, buyer=delivered.order.buyer, rating=2)
    shop_url = delivered.shop.get_absolute_url()
    client.get(shop_url)
    assert "2.0 out of 5 (1 review)" in client.get(shop_url).content.decode()
    before = catalogue.current(shop_scope(delivered.shop_id))
    with django_capture_on_commit_callbacks(execute=True):
        review.delete()
    # Its own scope: the page may not show the reviewed product's tile
    assert catalogue.current(shop_scope(delivered.shop_id)) != before
    assert "No reviews yet" in client.get(shop_url).content.decode()
