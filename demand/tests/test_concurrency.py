"""Counting and offering under real concurrency on PostgreSQL: no lost counts, never two offers of one product."""
import threading
from decimal import Decimal

import pytest
from django.db import connection

from demand import services
from demand.models import Offer, SearchLog
from shops.tests.factories import ProductFactory

from .factories import DemandPostFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def race(count: int, work) -> list:
    """Run work() in `count` threads released together; each thread closes its own connection."""
    gate = threading.Barrier(count)
    results: list = []
    lock = threading.Lock()

    def run():
        try:
            gate.wait(timeout=30)
            outcome = work()
        except Exception as exc:  # every outcome is recorded; the test says which are allowed
            outcome = exc
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)  # eager Celery's flag, left set by threads sending notifications
    return results


def test_simultaneous_empty_searches_are_all_counted(postgres):
    results = race(12, lambda: services.record_search_miss(query="火龙果", category="fruit"))
    assert results == [None] * 12
    assert SearchLog.objects.get().count == 12


def test_simultaneous_offers_of_one_product_make_one_offer(postgres):
    post = DemandPostFactory(category=None)  # a transactional test may run after the categories were flushed
    product = ProductFactory()

    def offer():
        return services.make_offer(post=post, farmer=product.shop.owner, product=product, price=Decimal("9.00"),
                                   quantity=1)

    results = race(6, offer)
    assert Offer.objects.count() == 1
    assert sum(isinstance(r, Offer) for r in results) == 1
