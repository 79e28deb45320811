"""The standing-order job and subscriptions under real concurrency on PostgreSQL."""
from datetime import timedelta

import pytest

from accounts.tests.factories import AddressFactory, BuyerFactory
from core.errors import ConflictError
from orders.models import Order
from orders.tests.test_concurrency import race
from subscriptions import services
from subscriptions.models import StandingOrderRun, Subscription

from .test_standing_orders import CUTOFF, make_box, subscriber

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_two_jobs_at_once_make_one_order_per_subscription_and_week(postgres):
    box = make_box()
    for _ in range(3):
        subscriber(box)
    results = race([1, 2, 3], lambda _n: services.make_standing_orders(day=CUTOFF))
    assert all(isinstance(r, dict) for r in results), results
    assert sum(r["ordered"] for r in results) == 3
    assert Order.objects.count() == 3 and StandingOrderRun.objects.count() == 3
    assert services.make_standing_orders(day=CUTOFF + timedelta(days=7))["ordered"] == 3


def test_buyers_racing_for_the_last_places_never_overfill_a_box(postgres):
    box = make_box(capacity=2)
    buyers = []
    for _ in range(6):
        buyer = BuyerFactory()
        AddressFactory(user=buyer)
        buyers.append(buyer)
    results = race(buyers, lambda b: services.subscribe(buyer=b, box=box, address=b.addresses.get()))
    assert sum(isinstance(r, Subscription) for r in results) == 2
    assert all(isinstance(r, (Subscription, ConflictError)) for r in results), results
    assert Subscription.objects.filter(box=box).count() == 2
