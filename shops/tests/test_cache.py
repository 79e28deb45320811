"""Whole-page cache of the anonymous catalogue, its versioned keys and headers."""
import gzip
import os
import re
import time
import uuid
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from shops import cache as catalogue_cache
from shops import search, services
from shops.models import Category, Product

from .factories import ProductFactory, ShopFactory

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture
def product():
    item = ProductFactory(title="烟台红富士苹果", price=Decimal("68.00"), category=Category.objects.get(slug="apples"))
    item.search_document = search.build_document(title=item.title, description=item.description,
                                                 extra=["苹果", "Apples", "水果", "Fruit"])
    item.save(update_fields=["search_document"])
    return item


def pages(item) -> list[str]:
    return ["/", "/c/fruit/", "/search/?q=苹果", item.get_absolute_url(), item.shop.get_absolute_url()]


def test_second_anonymous_visit_is_served_from_cache_without_queries(client, product):
    for path in pages(product):
        assert client.get(path)["X-Catalogue-Cache"] == "miss"
        with CaptureQueriesContext(connection) as queries:
            response = Client().get(path)
        assert response["X-Catalogue-Cache"] == "hit", path
        assert len(queries) == 0, path
        assert "¥68.00" in response.content.decode()


def test_price_change_shows_at_once(client, product):
    for path in pages(product):
        client.get(path)
    services.set_price_and_stock(product=product, actor=product.shop.owner, price=Decimal("59.50"))
    for path in pages(product):
        page = Client().get(path).content.decode()
        assert "¥59.50" in page and "¥68.00" not in page, path


def test_stock_and_shop_changes_show_at_once(client, product):
    client.get(product.get_absolute_url())
    services.set_price_and_stock(product=product, actor=product.shop.owner, stock=0)
    assert "Sold out" in Client().get(product.get_absolute_url()).content.decode()
    services.update_shop(shop=product.shop, actor=product.shop.owner, name="栖霞果园合作社")
    assert "栖霞果园合作社" in Client().get(product.get_absolute_url()).content.decode()


def test_signed_in_visitors_get_fresh_pages(client, product):
    Client().get(product.get_absolute_url())  # fills the cache
    client.force_login(product.shop.owner)
    response = client.get(product.get_absolute_url())
    assert "X-Catalogue-Cache" not in response
    assert "Sign out" in response.content.decode()
    assert "no-cache" in response["Cache-Control"] and "private" in response["Cache-Control"]


def test_anonymous_pages_vary_on_cookie_and_language(client, product):
    response = client.get(product.get_absolute_url())
    vary = {v.strip() for v in response["Vary"].split(",")}
    assert {"Cookie", "Accept-Language"} <= vary
    assert "private" in response["Cache-Control"] and "max-age=60" in response["Cache-Control"]
    hit = Client().get(product.get_absolute_url())
    assert {"Cookie", "Accept-Language", "Accept-Encoding"} <= {v.strip() for v in hit["Vary"].split(",")}


def test_each_language_has_its_own_entry(client, product):
    assert '<html lang="en">' in client.get(product.get_absolute_url()).content.decode()
    chinese = Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get(product.get_absolute_url())
    assert chinese["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in chinese.content.decode()


def test_query_string_is_part_of_the_key(client, product):
    ProductFactory(title="普洱茶", category=Category.objects.get(slug="green-tea"))
    client.get("/search/?sort=price")
    response = Client().get("/search/?sort=-price")
    assert response["X-Catalogue-Cache"] == "miss"
    assert Client().get("/search/?sort=price")["X-Catalogue-Cache"] == "hit"


def test_cached_page_gets_the_visitors_own_csrf_token_and_it_works(product):
    first = Client(enforce_csrf_checks=True)
    first_token = TOKEN.search(first.get("/").content.decode()).group(1)
    visitor = Client(enforce_csrf_checks=True)
    response = visitor.get("/")
    assert response["X-Catalogue-Cache"] == "hit"
    token = TOKEN.search(response.content.decode()).group(1)
    assert token != first_token
    assert "csrftoken" in response.cookies
    # The language form of the cached page posts with this visitor's own token.
    switched = visitor.post("/i18n/setlang/", {"language": "zh-hans", "next": "/", "csrfmiddlewaretoken": token})
    assert switched.status_code == 302


def test_gzipped_hit_is_a_valid_stream_of_the_same_page(product):
    Client().get("/")
    plain = Client().get("/")
    packed = Client().get("/", HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert packed["X-Catalogue-Cache"] == "hit" and packed["Content-Encoding"] == "gzip"
    body = gzip.decompress(packed.content).decode()  # checks the CRC and the length too
    assert TOKEN.sub("", body) == TOKEN.sub("", plain.content.decode())
    assert len(packed.content) < len(plain.content) / 2


def test_gzipped_miss_is_the_stored_stream_with_the_visitors_own_token_that_works(product):
    visitor = Client(enforce_csrf_checks=True)
    packed = visitor.get("/", HTTP_ACCEPT_ENCODING="gzip")
    assert packed["X-Catalogue-Cache"] == "miss" and packed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed["Vary"] and int(packed["Content-Length"]) == len(packed.content)
    body = gzip.decompress(packed.content).decode()  # checks the CRC and the length too
    plain = Client().get("/")
    assert plain["X-Catalogue-Cache"] == "hit"
    assert TOKEN.sub("", body) == TOKEN.sub("", plain.content.decode())
    token = TOKEN.search(body).group(1)
    switched = visitor.post("/i18n/setlang/", {"language": "zh-hans", "next": "/", "csrfmiddlewaretoken": token})
    assert switched.status_code == 302


@pytest.mark.parametrize("cookie", ["sessionid", "messages"])
def test_a_session_or_a_waiting_message_skips_the_cache(client, product, cookie):
    client.get("/")
    client.cookies[cookie] = "whatever"
    assert "X-Catalogue-Cache" not in client.get("/")


def test_a_flash_message_is_shown_not_a_cached_page(client, product):
    from django.contrib.messages.storage.base import Message
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.test import RequestFactory

    Client().get("/")  # cached without the message
    storage = CookieStorage(RequestFactory().get("/"))
    client.cookies["messages"] = storage._encode([Message(25, "Thank you for your order")])
    response = client.get("/")
    assert "Thank you for your order" in response.content.decode()


def test_not_found_is_not_cached(client):
    assert client.get("/p/424242/").status_code == 404
    assert cache.get(catalogue_cache.page_cache_key(_request("/p/424242/"))) is None


def _request(path):
    from django.test import RequestFactory

    return RequestFactory().get(path)


def test_a_search_is_announced_on_cache_hits_too(client, searches):
    ShopFactory()
    client.get("/search/?q=火龙果")
    response = Client().get("/search/?q=火龙果")
    assert response["X-Catalogue-Cache"] == "hit"
    assert [(s["query"], s["results"], s["via"]) for s in searches] == [("火龙果", 0, "web")] * 2


def test_bump_happens_again_on_commit(django_capture_on_commit_callbacks):
    start = catalogue_cache.catalogue_version()
    with django_capture_on_commit_callbacks(execute=True):
        catalogue_cache.bump_catalogue_version()
        inside = catalogue_cache.catalogue_version()
        assert inside > start
    assert catalogue_cache.catalogue_version() > inside


def test_lost_version_restarts_above_every_earlier_one():
    before = catalogue_cache.catalogue_version()
    catalogue_cache.bump_catalogue_version()
    bumped = catalogue_cache.catalogue_version()
    cache.delete(catalogue_cache.catalogue.key(catalogue_cache.GLOBAL))
    assert catalogue_cache.catalogue_version() not in (before, bumped)


# --- Invalidation by what a page shows -------------------------------------------------------

@pytest.fixture
def other():
    """A product in another shop and another root category than `product`."""
    item = ProductFactory(title="西湖龙井", price=Decimal("298.00"), stock=500,
                          category=Category.objects.get(slug="green-tea"))
    item.search_document = search.build_document(title=item.title, extra=["绿茶", "Green tea"])
    item.save(update_fields=["search_document"])
    return item


def _other_pages(item) -> list[str]:
    return [item.get_absolute_url(), "/c/tea/", item.category.get_absolute_url(), item.shop.get_absolute_url(),
            "/search/?q=龙井"]


def _warm(paths):
    for path in paths:
        Client().get(path)
        assert Client().get(path)["X-Catalogue-Cache"] == "hit", path


def test_changing_one_product_keeps_the_pages_of_another_cached(product, other):
    _warm(_other_pages(other))
    services.set_price_and_stock(product=product, actor=product.shop.owner, price=Decimal("59.50"))
    for path in _other_pages(other):
        assert Client().get(path)["X-Catalogue-Cache"] == "hit", path


def test_a_title_change_re_renders_search_pages_but_not_another_products_page(product, other):
    _warm(_other_pages(other))
    services.update_product(product=product, actor=product.shop.owner, title="栖霞红富士苹果")
    for path in _other_pages(other)[:-1]:
        assert Client().get(path)["X-Catalogue-Cache"] == "hit", path
    assert Client().get("/search/?q=龙井")["X-Catalogue-Cache"] == "miss"  # what search finds may have moved


def test_a_price_change_re_renders_its_own_pages_and_lists(product, other):
    mine = [product.get_absolute_url(), "/c/fruit/", product.shop.get_absolute_url(), "/search/?q=苹果"]
    _warm(mine)
    services.set_price_and_stock(product=product, actor=product.shop.owner, price=Decimal("59.50"))
    for path in mine:
        response = Client().get(path)
        assert response["X-Catalogue-Cache"] == "miss", path
        assert "¥59.50" in response.content.decode(), path


def test_a_price_change_moves_price_sorted_lists_but_not_others_without_the_product(product, other):
    ProductFactory(title="砀山酥梨", price=Decimal("39.00"), category=Category.objects.get(slug="pears"),
                   shop=product.shop)
    by_price, pears = "/c/fruit/?sort=price", "/c/pears/"
    _warm([by_price, pears])
    services.set_price_and_stock(product=product, actor=product.shop.owner, price=Decimal("9.90"))
    assert Client().get(by_price)["X-Catalogue-Cache"] == "miss"
    assert Client().get(pears)["X-Catalogue-Cache"] == "hit"  # apples' price is not on the pears' list


def _sell(product, units, django_capture_on_commit_callbacks):
    from django.db import transaction

    from shops import stock

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        stock.reserve({product.pk: units})


def test_a_sale_within_its_stock_band_keeps_the_pages_cached(product, django_capture_on_commit_callbacks):
    Product.objects.filter(pk=product.pk).update(stock=500)
    paths = [product.get_absolute_url(), "/c/fruit/", "/c/fruit/?in_stock=on", "/search/?q=苹果"]
    _warm(paths)
    _sell(product, 3, django_capture_on_commit_callbacks)
    for path in paths:
        assert Client().get(path)["X-Catalogue-Cache"] == "hit", path
    assert "In stock" in Client().get(product.get_absolute_url()).content.decode()


def test_a_sale_into_few_left_re_renders_only_the_products_pages(product, other, django_capture_on_commit_callbacks):
    Product.objects.filter(pk=product.pk).update(stock=12, min_order=1)
    _warm([product.get_absolute_url(), *_other_pages(other)])
    _sell(product, 5, django_capture_on_commit_callbacks)
    response = Client().get(product.get_absolute_url())
    assert response["X-Catalogue-Cache"] == "miss" and "Only a few left" in response.content.decode()
    for path in _other_pages(other):
        assert Client().get(path)["X-Catalogue-Cache"] == "hit", path


def test_a_sale_that_sells_out_invalidates(product, other, django_capture_on_commit_callbacks):
    Product.objects.filter(pk=product.pk).update(stock=2, min_order=1)
    in_stock_list = "/c/fruit/?in_stock=on"
    _warm([product.get_absolute_url(), in_stock_list, other.category.get_absolute_url()])
    assert "烟台红富士苹果" in Client().get(in_stock_list).content.decode()
    _sell(product, 2, django_capture_on_commit_callbacks)
    page = Client().get(product.get_absolute_url())
    assert page["X-Catalogue-Cache"] == "miss" and "Sold out" in page.content.decode()
    assert "烟台红富士苹果" not in Client().get(in_stock_list).content.decode()
    assert Client().get(other.category.get_absolute_url())["X-Catalogue-Cache"] == "hit"


def test_stock_coming_back_re_renders_the_lists(product, django_capture_on_commit_callbacks):
    from django.db import transaction

    from shops import stock

    Product.objects.filter(pk=product.pk).update(stock=0, min_order=1)
    in_stock_list = "/c/fruit/?in_stock=on"
    _warm([in_stock_list])
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        stock.release({product.pk: 4})
    assert "烟台红富士苹果" in Client().get(in_stock_list).content.decode()


def test_a_new_product_shows_in_its_lists_at_once(product, other):
    _warm(["/c/fruit/", "/search/?q=苹果", "/", other.get_absolute_url()])
    services.create_product(shop=product.shop, actor=product.shop.owner, category=Category.objects.get(slug="apples"),
                            title="洛川苹果", price=Decimal("59.00"), unit_weight_kg=Decimal("5"), stock=50)
    for path in ["/c/fruit/", "/search/?q=苹果", "/"]:
        assert "洛川苹果" in Client().get(path).content.decode(), path
    assert Client().get(other.get_absolute_url())["X-Catalogue-Cache"] == "hit"


def test_a_structural_change_invalidates_everything(product, other):
    _warm(_other_pages(other))
    catalogue_cache.bump_catalogue_version()
    assert Client().get(other.get_absolute_url())["X-Catalogue-Cache"] == "miss"


def test_a_page_whose_scopes_moved_during_its_render_is_not_stored(product, monkeypatch):
    from shops import views

    real = views.render

    def render_then_change(*args, **kwargs):
        response = real(*args, **kwargs)
        # A writer commits after the render read its rows: the page shows the old price.
        catalogue_cache.product_changed(product_id=product.pk)
        return response

    monkeypatch.setattr(views, "render", render_then_change)
    url = product.get_absolute_url()
    assert Client().get(url)["X-Catalogue-Cache"] == "miss"
    monkeypatch.setattr(views, "render", real)
    assert Client().get(url)["X-Catalogue-Cache"] == "miss"


@pytest.fixture
def redis_cache(settings, redis_url, monkeypatch):
    """The production cache: Redis (the cache database of this test process, else database 5 and up, one per
    worker, apart from the broker, with a key prefix of its own), with or without the version feed as the test sets
    CATALOGUE_VERSION_FEED. Yields the raw client."""
    from django_redis import get_redis_connection

    from core import pagecache

    # A page rendered within the clock margin after a change to what it shows is not kept, and these tests render
    # right after creating their product: without this a first render is kept or not by the clock.
    monkeypatch.setattr(pagecache, "CLOCK_MARGIN_US", 0)

    # Each pytest-xdist worker has its own cache database (conftest.py): the teardown's clear() empties that one
    # alone, never the database another worker's test is reading.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    location = os.environ.get("REDIS_CACHE_URL") or f"{redis_url.rsplit('/', 1)[0]}/{5 + int(worker[2:] or 0)}"
    settings.CACHES = {"default": {
        "BACKEND": "django_redis.cache.RedisCache", "LOCATION": location,
        "KEY_PREFIX": f"farmgate-test-catalogue-{uuid.uuid4().hex[:8]}"}}
    settings.CATALOGUE_VERSION_FEED = False
    catalogue_cache.version_feed.stop()
    catalogue_cache.local_pages.clear()
    try:
        yield get_redis_connection("default")
    finally:
        catalogue_cache.version_feed.stop()
        catalogue_cache.local_pages.clear()
        cache.clear()


def _wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_pages_cache_in_redis(redis_cache, product):
    assert Client().get(product.get_absolute_url())["X-Catalogue-Cache"] == "miss"
    assert Client().get(product.get_absolute_url())["X-Catalogue-Cache"] == "hit"
    product.refresh_from_db()
    services.set_price_and_stock(product=product, actor=product.shop.owner, price=Decimal("12.30"))
    response = Client().get(product.get_absolute_url())
    assert response["X-Catalogue-Cache"] == "miss" and "¥12.30" in response.content.decode()


def test_version_feed_follows_a_bump_published_by_another_process(settings, redis_cache):
    settings.CATALOGUE_VERSION_FEED = True
    feed = catalogue_cache.version_feed
    feed.current()
    _wait_for(lambda: feed.versions is not None)
    start = catalogue_cache.catalogue_version()
    assert feed.versions[catalogue_cache.GLOBAL] == start
    # What another app server's bump does: write and PUBLISH, nothing in this process.
    new = start + 7
    redis_cache.set(catalogue_cache.catalogue.raw_key(catalogue_cache.GLOBAL), new)
    redis_cache.publish(catalogue_cache.catalogue.channel(redis_cache), f"g {new} p1 5")
    _wait_for(lambda: feed.versions.get(catalogue_cache.GLOBAL) == new, seconds=2)
    assert catalogue_cache.catalogue_version() == new
    assert "p1" not in feed.versions or feed.versions["p1"] >= 5


def test_with_the_feed_a_hit_needs_no_round_trip_and_a_change_shows_at_once(settings, redis_cache, product):
    settings.CATALOGUE_VERSION_FEED = True
    catalogue_cache.version_feed.current()
    _wait_for(lambda: catalogue_cache.version_feed.versions is not None)
    url = product.get_absolute_url()
    assert Client().get(url)["X-Catalogue-Cache"] == "miss"
    # The shared entry is gone, yet this process still serves the page it keeps: no Redis read.
    for key in redis_cache.scan_iter(match=f"*{catalogue_cache.page_cache_key(_request(url))}"):
        redis_cache.delete(key)
    with CaptureQueriesContext(connection) as queries:
        assert Client().get(url)["X-Catalogue-Cache"] == "hit"
    assert len(queries) == 0
    product.refresh_from_db()
    services.set_price_and_stock(product=product, actor=product.shop.owner, price=Decimal("7.70"))
    response = Client().get(url)
    assert response["X-Catalogue-Cache"] == "miss" and "¥7.70" in response.content.decode()


def test_without_a_subscription_the_versions_are_read_from_redis(settings, redis_cache, product):
    settings.CATALOGUE_VERSION_FEED = True
    url = product.get_absolute_url()
    Client().get(url)
    catalogue_cache.version_feed.stop()  # as while the connection is being re-established
    settings.CATALOGUE_VERSION_FEED = False
    assert Client().get(url)["X-Catalogue-Cache"] == "hit"
    # Another server's bump, seen without any feed.
    raw_key = catalogue_cache.catalogue.raw_key(catalogue_cache.product_scope(product.pk))
    redis_cache.set(raw_key, int(redis_cache.get(raw_key)) + 1)
    assert Client().get(url)["X-Catalogue-Cache"] == "miss"


def test_withdrawn_product_disappears_from_cached_pages(client, product):
    url, pk = product.get_absolute_url(), product.pk
    client.get("/search/?q=苹果")
    client.get(url)
    services.withdraw_product(product=product, actor=product.shop.owner)
    assert "烟台红富士苹果" not in Client().get("/search/?q=苹果").content.decode()
    assert Client().get(url).status_code == 404
    assert not Product.objects.filter(pk=pk, is_active=True).exists()
