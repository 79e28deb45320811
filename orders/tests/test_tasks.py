"""The expiry job as beat runs it: a real Celery worker process on Redis, the database on PostgreSQL."""
from datetime import timedelta

import pytest
from django.utils import timezone

from orders import tasks
from orders.models import Order, ShopOrder
from shops.models import Product

from .factories import place

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_worker_expires_due_orders_and_a_second_run_finds_nothing(postgres, celery_worker_process, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    due = place(payment_method="stripe", quantity=3)
    fresh = place(payment_method="stripe")
    Order.objects.filter(pk=due.pk).update(reserved_until=timezone.now() - timedelta(minutes=1))
    assert tasks.expire_unpaid_orders.delay().get(timeout=60) == 1
    due.refresh_from_db()
    assert due.status == Order.Status.CANCELLED
    assert set(due.shop_orders.values_list("status", flat=True)) == {ShopOrder.Status.CANCELLED}
    assert Product.objects.get(pk=due.shop_orders.get().lines.get().product_id).stock == 50
    assert Order.objects.get(pk=fresh.pk).status == Order.Status.PENDING_PAYMENT
    assert tasks.expire_unpaid_orders.delay().get(timeout=60) == 0
