"""The product page on a phone: every photo in a swipeable strip with a large version to zoom, the reviews with
their words and photos a page of five at a time, and the buy bar."""
import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import BuyerFactory
from logistics.models import Review
from logistics.selectors import PRODUCT_REVIEWS_PER_PAGE
from logistics.services import count_product_ratings
from orders.models import ShopOrder
from orders.tests.factories import place
from shops.models import ProductImage

from .factories import ProductFactory

pytestmark = pytest.mark.django_db


def with_photos(product, count: int) -> None:
    for position in range(count):
        ProductImage.objects.create(
            product=product, image=f"products/{product.pk}/p{position}.jpg", width=1600, height=1200,
            position=position, is_cover=position == 0, status=ProductImage.Status.READY,
            thumbnails={width: f"products/{product.pk}/p{position}-{width}.webp" for width in ("320", "640", "1280")})


def reviewed(product, count: int) -> list[Review]:
    """`count` reviews of orders holding the product, the first the oldest, one day apart.

    Written as rows: what is shown is under test here; who may review what is logistics' (test_reviews.py)."""
    reviews = []
    start = timezone.now() - datetime.timedelta(days=count)
    for n in range(count):
        buyer = BuyerFactory(first_name=f"Buyer{n}", last_name=f"Surname{n}", display_name=f"Full Name{n}")
        part = ShopOrder.objects.get(order=place(buyer=buyer, lines=[(product, product.min_order)]))
        review = Review.objects.create(shop_order=part, buyer=buyer, rating=1 + n % 5, text=f"review words {n}",
                                       photo=f"reviews/2026/10/r{n}.jpg")
        Review.objects.filter(pk=review.pk).update(created_at=start + datetime.timedelta(days=n))
        reviews.append(review)
    count_product_ratings([product.pk])  # as logistics' create_review does
    return reviews


def page_of(client, product, query: str = "") -> str:
    response = client.get(product.get_absolute_url() + query)
    assert response.status_code == 200
    return response.content.decode()


def test_gallery_shows_every_photo_in_one_strip_with_dots_and_a_large_version(client):
    product = ProductFactory(stock=20)
    with_photos(product, 4)
    page = page_of(client, product)
    strip = re.search(r'<ul class="gallery-strip".*?</ul>', page, re.S).group(0)
    for n in range(4):
        assert strip.count(f"p{n}-320.webp") == 1
        assert f'href="/media/products/{product.pk}/p{n}-1280.webp"' in strip  # the tap opens the large one
        assert f'id="photo-{n + 1}"' in strip and f"{n + 1} / 4" in strip
    dots = re.search(r'<ol class="gallery-dots">.*?</ol>', page, re.S).group(0)
    assert [f"#photo-{n}" for n in range(1, 5)] == re.findall(r'href="(#photo-\d)"', dots)
    assert "<dialog" in page and '<script src="/static/js/gallery.js" defer></script>' in page


def test_a_product_without_photos_shows_a_placeholder_and_no_dots(client):
    page = page_of(client, ProductFactory())
    assert "thumb placeholder" in page and "gallery-dots" not in page and "data-zoom " not in page


def test_reviews_show_words_photos_and_first_names_newest_first_five_a_page(client):
    product = ProductFactory(stock=50)
    reviews = reviewed(product, PRODUCT_REVIEWS_PER_PAGE + 2)
    first = page_of(client, product)
    newest = [f"review words {n}" for n in range(6, 1, -1)]
    assert [first.index(words) for words in newest] == sorted(first.index(words) for words in newest)
    assert "review words 1" not in first and "review words 0" not in first
    assert "reviews/2026/10/r6.jpg" in first and "Buyer6" in first
    assert "Surname6" not in first and "Full Name6" not in first  # the first name only
    assert "?reviews_page=2#reviews" in first and "Page 1 of 2" in first

    second = page_of(client, product, "?reviews_page=2")
    assert "review words 1" in second and "review words 0" in second and "review words 2" not in second
    assert "reviews/2026/10/r0.jpg" in second and "Buyer0" in second
    assert "?reviews_page=1#reviews" in second
    assert len(reviews) == 7


@pytest.mark.parametrize("query", ["?reviews_page=99", "?reviews_page=x", "?reviews_page=-1"])
def test_a_bad_reviews_page_gives_a_page_not_an_error(client, query):
    product = ProductFactory(stock=50)
    reviewed(product, 2)
    page = page_of(client, product, query)
    assert "review words 1" in page


def test_without_reviews_the_page_says_so(client):
    assert "No reviews yet. Buyers can review a product once it is delivered." in page_of(client, ProductFactory())


def test_a_review_of_another_product_is_not_shown(client):
    product, other = ProductFactory(stock=50), ProductFactory(stock=50)
    reviewed(other, 1)
    assert "review words 0" not in page_of(client, product)


def test_the_buy_bar_holds_the_price_and_the_add_to_cart_form(client):
    product = ProductFactory(stock=50, min_order=2)
    page = page_of(client, product)
    bar = re.search(r'<div class="buybar".*?</form>\s*</div>', page, re.S).group(0)
    assert f"¥{product.price}" in bar and 'action="/cart/add/"' in bar and "Add to cart" in bar
    assert page.count("Add to cart") == 1  # one form, one button
    sold_out = ProductFactory(stock=0)
    bar = re.search(r'<div class="buybar".*?</div>\s', page_of(client, sold_out), re.S).group(0)
    assert "Sold out" in bar and "<form" not in bar


def queries_for(client, product, query: str = "") -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        page = page_of(client, product, query)
    return len(queries), page


@pytest.mark.parametrize("count", [1, PRODUCT_REVIEWS_PER_PAGE * 3])
def test_reviews_cost_one_query_whatever_their_number(client, count):
    """The page of reviews is one query more than the same page without reviews (their count comes with the
    rating); none at all without reviews."""
    bare, product = ProductFactory(stock=50), ProductFactory(stock=50)
    for item in (bare, product):
        with_photos(item, 3)
    reviewed(product, count)
    client.get(bare.get_absolute_url() + "?first=1")  # what every product page shares, held per process
    without, _page = queries_for(client, bare)
    with_reviews, page = queries_for(client, product, "?reviews_page=2" if count > PRODUCT_REVIEWS_PER_PAGE else "")
    assert with_reviews == without + 1
    assert page.count('class="card review"') == min(count, PRODUCT_REVIEWS_PER_PAGE)
