"""The catalogue's searches that found nothing land in the anonymous SearchLog, once per search."""
import pytest
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import BuyerFactory
from demand.models import SearchLog
from shops import search
from shops.tests.factories import ShopFactory

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
    assert search.empty_search_count("火龙果") == 2
    assert search.empty_searches() == [("火龙果", "", 2)]


def test_a_failed_write_never_breaks_the_search(monkeypatch):
    from django.db import DatabaseError

    from demand import services

    def broken(**kwargs):
        raise DatabaseError("read-only replica")

    monkeypatch.setattr(services, "record_search_miss", broken)
    search.record_empty_search("火龙果", "fruit")  # logs, does not raise
    assert not SearchLog.objects.exists()
