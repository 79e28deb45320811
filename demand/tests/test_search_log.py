"""The catalogue's searches that found nothing land in the anonymous SearchLog, once per search, whether
they came from the search page or the products API (shops announces them with `search_performed`)."""
import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import BuyerFactory
from demand import receivers, selectors
from demand.models import SearchLog
from shops import search
from shops.models import Category
from shops.tests.factories import ProductFactory, ShopFactory

pytestmark = pytest.mark.django_db


def test_an_empty_search_page_is_logged_with_its_category_and_province(client):
    ShopFactory()
    user = BuyerFactory()
    client.force_login(user)
    response = client.get("/search/", {"q": "  火龙果 ", "category": "fruit", "province": "云南省"})
    assert response.status_code == 200
    row = SearchLog.objects.get()
    assert (row.day, row.query, row.category, row.province, row.count) == (
        timezone.localdate(), "火龙果", "fruit", "云南省", 1)
    # Nothing about the searcher is stored anywhere in the row.
    stored = {str(value) for value in SearchLog.objects.values().get().values()}
    assert not stored & {str(user.pk), user.username, "127.0.0.1"}


def test_repeat_searches_count_up_also_from_the_page_cache():
    ShopFactory()
    Client().get("/search/?q=火龙果&province=云南省")
    Client().get("/search/?q=火龙果&province=云南省")  # an anonymous visitor: served from the page cache
    row = SearchLog.objects.get()
    assert (row.province, row.count) == ("云南省", 2)
    assert selectors.search_miss_count("火龙果") == 2
    assert selectors.recent_search_misses() == [("火龙果", "", 2)]


def test_a_search_that_found_something_is_not_logged(client):
    ProductFactory(title="烟台红富士苹果", search_document=search.build_document(title="烟台红富士苹果"))
    client.get("/search/", {"q": "苹果"})
    APIClient().get("/api/v1/products/", {"search": "苹果"})
    assert not SearchLog.objects.exists()


def test_an_empty_api_search_is_logged_like_the_page(client):
    ShopFactory()
    fruit = Category.objects.get(slug="fruit")
    api = APIClient()
    for _ in range(2):  # the second answer comes from the anonymous list cache, and counts too
        response = api.get("/api/v1/products/", {"search": " 火龙果", "category": fruit.pk, "province": "云南省"})
        assert response.status_code == 200 and response.json()["count"] == 0
    buyer = BuyerFactory()
    api.force_authenticate(buyer)
    api.get("/api/v1/products/", {"search": "Dragon  Fruit", "category": "fruit"})
    rows = set(SearchLog.objects.values_list("query", "category", "province", "count"))
    assert rows == {("火龙果", "fruit", "云南省", 2), ("dragon fruit", "fruit", "", 1)}


def test_a_sellers_search_of_their_own_products_is_not_logged():
    shop = ShopFactory()
    api = APIClient()
    api.force_authenticate(shop.owner)
    api.get("/api/v1/products/", {"search": "火龙果", "mine": "true"})
    assert not SearchLog.objects.exists()


def test_searches_that_found_nothing_are_counted_per_category_without_the_searcher():
    for category in ("fruit", "fruit", ""):
        search.report_search(query="火龙果 ", results=0, via=search.VIA_WEB, category=category, user=BuyerFactory())
    assert selectors.search_miss_count("火龙果", "fruit") == 2
    assert selectors.search_miss_count("火龙果", "") == 1
    assert selectors.recent_search_misses()[0] == ("火龙果", "fruit", 2)


def test_a_failed_write_never_breaks_the_search(monkeypatch):
    from django.db import DatabaseError

    def broken(**kwargs):
        raise DatabaseError("read-only replica")

    monkeypatch.setattr(receivers.services, "record_search_miss", broken)
    search.report_search(query="火龙果", results=0, via=search.VIA_WEB, category="fruit")  # logs, does not raise
    assert not SearchLog.objects.exists()
