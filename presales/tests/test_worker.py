"""The beat tasks on a real Celery worker process (Redis broker, the PostgreSQL test database)."""
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from presales import tasks
from presales.models import BuyingGroup, GroupMember, PreOrder
from shops.models import Product

from .factories import join, make_deal, make_presale, preorder, start

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_an_expired_group_fails_on_the_worker_and_every_place_is_released(postgres, celery_worker_process,
                                                                          settings):
    settings.STRIPE_SECRET_KEY = "sk_test_not_called"  # joining only checks card payment is on
    deal = make_deal(size=3)
    first = start(deal, quantity=2)
    second = join(first.group)
    BuyingGroup.objects.filter(pk=first.group_id).update(expires_at=timezone.now() - timedelta(seconds=1))

    assert tasks.expire_groups.delay().get(timeout=60) == 1
    assert BuyingGroup.objects.get(pk=first.group_id).status == BuyingGroup.Status.FAILED
    for member in (first, second):
        member.refresh_from_db()
        assert member.status == GroupMember.Status.RELEASED
        assert member.order.status == Order.Status.CANCELLED
    assert Product.objects.get(pk=deal.product_id).stock == 50
    assert tasks.expire_groups.delay().get(timeout=60) == 0  # idempotent


def test_a_cancelled_presale_is_released_on_the_worker(postgres, celery_worker_process):
    from presales import services

    presale = make_presale()
    pre = preorder(presale, quantity=2)
    services.cancel_presale(presale=presale, actor=presale.product.shop.owner, reason="Hail")
    # The per-order task was sent after commit; the worker releases the buyer.
    deadline = timezone.now() + timedelta(seconds=30)
    while PreOrder.objects.get(pk=pre.pk).is_live and timezone.now() < deadline:
        time.sleep(0.1)
    pre.refresh_from_db()
    presale.refresh_from_db()
    assert pre.status == PreOrder.Status.CANCELLED and presale.units_sold == 0
