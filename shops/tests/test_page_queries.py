"""Exact SQL statements of the product and search pages: fixed whatever the rows, none from the templates."""
import pytest

from shops import search, tiles
from shops.models import Category, Product, ProductImage

from .factories import HarvestLotFactory, ProductFactory, ShopFactory

pytestmark = pytest.mark.django_db

APPLE_DOCUMENT = search.build_document(title="烟台红富士苹果", extra=["苹果", "Apples"])


def _catalogue(count: int) -> list[Product]:
    shop = ShopFactory()
    apples = Category.objects.get(slug="apples")
    products = ProductFactory.create_batch(count, shop=shop, category=apples, stock=50)
    Product.objects.filter(pk__in=[p.pk for p in products]).update(search_document=APPLE_DOCUMENT)
    for product in products:
        ProductImage.objects.create(product=product, image=f"products/{product.pk}/a.jpg", width=800, height=600,
                                    is_cover=True, status=ProductImage.Status.READY,
                                    thumbnails={"320": f"products/{product.pk}/a-320.webp"})
        HarvestLotFactory.create_batch(2, product=product)
    return products


# product, its photos, its lots, more from the shop (ids: the home page rendered their tiles), the products with
# offers (held per catalogue version; this one has none, so no pre-sale or group query); the rating comes with the
# product
PRODUCT_PAGE = 5


@pytest.mark.parametrize("count", [1, 30])
def test_product_page_makes_a_fixed_number_of_queries(client, django_assert_num_queries, count):
    product = _catalogue(count)[0]
    client.get("/")  # the category tree, held per process, is not the product page's cost
    with django_assert_num_queries(PRODUCT_PAGE):
        response = client.get(product.get_absolute_url())
    assert response.status_code == 200 and product.title in response.content.decode()


# A first visit: count (capped), facets (one GROUP BY), ranked ids, the rows and photos of the tiles not yet kept.
SEARCH_PAGE = 5
# The next page of the same listing version: the count and facets come from the cache; its ids, and the rows and
# photos of tiles not rendered before.
SEARCH_NEXT_PAGE = 3
# A page whose tiles were all rendered before: its ids only.
SEARCH_KEPT_TILES = 1


@pytest.mark.parametrize("count", [1, 30])
def test_search_page_makes_a_fixed_number_of_queries(client, django_assert_num_queries, count):
    _catalogue(count)
    client.get("/search/", {"q": "梨"})  # the category tree and category terms, held per catalogue version
    tiles.fragments.clear()
    with django_assert_num_queries(SEARCH_PAGE):
        first = client.get("/search/", {"q": "苹果"})
    assert len(first.context["tiles"]) == min(count, 24)
    assert first.content.decode().count('class="tile"') == min(count, 24)
    # Page 2 of 30 shows six tiles not rendered yet; of 1, the same tile again (the last page).
    with django_assert_num_queries(SEARCH_NEXT_PAGE if count > 24 else SEARCH_KEPT_TILES):
        second = client.get("/search/", {"q": "苹果", "page": "2", "sort": "relevance"})
    assert len(second.context["tiles"]) == (count - 24 if count > 24 else count)
    assert second.context["page"].paginator.count == count
    with django_assert_num_queries(SEARCH_KEPT_TILES):
        again = client.get("/search/", {"q": "苹果", "page": "2", "sort": "relevance", "again": "1"})
    assert again["X-Catalogue-Cache"] == "miss" and again.content.count(b'class="tile"') == len(second.context["tiles"])


def test_more_than_the_count_limit_shows_an_estimate(client, monkeypatch):
    monkeypatch.setattr(search.listing, "COUNT_LIMIT", 3)
    _catalogue(5)
    page = client.get("/search/", {"q": "苹果"}).content.decode()
    assert "3+ results" in page and "5 products" not in page


def test_a_list_page_reads_its_new_tiles_in_one_query_and_their_photos_in_one_more(client,
                                                                                 django_assert_num_queries):
    products = _catalogue(3)
    shown = products[-1]  # the newest: the first tile
    ProductImage.objects.create(product=shown, image=f"products/{shown.pk}/b.jpg", width=800, height=600,
                                position=0, status=ProductImage.Status.READY,
                                thumbnails={"320": f"products/{shown.pk}/b-320.webp"})
    client.get("/c/apples/", {"sort": "newest"})  # the count and facets, kept per listing version
    tiles.fragments.clear()
    with django_assert_num_queries(3):  # ids, then rows and photos; a tile reads no column left out of the rows
        response = client.get("/c/apples/", {"sort": "newest", "again": "1"})
    body = response.content.decode()
    assert response["X-Catalogue-Cache"] == "miss"
    # Each tile shows its cover, the photo marked so, before the other photos of the product.
    assert body.count("<picture") == 3 and f"products/{shown.pk}/a-320.webp" in body
    assert f"products/{shown.pk}/b-320.webp" not in body


def test_a_listing_counted_in_this_process_is_not_asked_of_the_cache_until_it_changes(client,
                                                                                       django_assert_num_queries):
    from django.core.cache import cache

    from shops import services

    products = _catalogue(3)
    client.get("/c/apples/", {"sort": "newest"})  # counted here, and kept in the cache and in this process
    for key in list(search.listing.held_summaries._entries):
        cache.delete(key)  # only this process's copy is left
    with django_assert_num_queries(SEARCH_KEPT_TILES):
        response = client.get("/c/apples/", {"sort": "newest", "again": "1"})
    assert response["X-Catalogue-Cache"] == "miss" and "3 products" in response.content.decode()
    # Withdrawn from the listing: its version moves, so the copy kept here is not the one read.
    services.update_product(product=products[0], actor=products[0].shop.owner, is_active=False)
    assert "2 products" in client.get("/c/apples/", {"sort": "newest", "later": "1"}).content.decode()
