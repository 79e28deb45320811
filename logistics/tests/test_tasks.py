"""Delivered parts complete by themselves after DELIVERY_AUTO_COMPLETE_DAYS: the service, the beat entry and a real
Celery worker."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from config.celery import app
from logistics import services, tasks
from logistics.models import Parcel
from orders.models import Order, ShopOrder

from .factories import StationFactory, agent_at, departed

SS, OS = ShopOrder.Status, Order.Status


def delivered_days_ago(station, agent, days: int, **kwargs) -> Parcel:
    shipment, (parcel,) = departed(station, agent, **kwargs)
    services.record_shipment_event(shipment=shipment, actor=agent, kind="delivered")
    Parcel.objects.filter(pk=parcel.pk).update(delivered_at=timezone.now() - timedelta(days=days))
    return parcel


@pytest.mark.django_db
def test_parts_delivered_long_enough_ago_complete_and_the_order_with_them(station, agent, settings):
    settings.DELIVERY_AUTO_COMPLETE_DAYS = 7
    old = delivered_days_ago(station, agent, 8)
    recent = delivered_days_ago(station, agent, 6)
    assert tasks.complete_delivered_parts.delay().get() == 1
    assert ShopOrder.objects.get(pk=old.shop_order_id).status == SS.COMPLETED
    assert Order.objects.get(pk=old.shop_order.order_id).status == OS.COMPLETED
    assert ShopOrder.objects.get(pk=recent.shop_order_id).status == SS.DELIVERED
    assert tasks.complete_delivered_parts.delay().get() == 0  # idempotent


@pytest.mark.django_db
def test_an_unpaid_cash_order_waits_for_its_cash(station, agent):
    parcel = delivered_days_ago(station, agent, 30, payment_method="cod")
    assert services.complete_overdue_deliveries() == 0
    services.collect_cash(parcel=parcel, actor=agent)
    assert services.complete_overdue_deliveries() == 1
    assert Order.objects.get().status == OS.COMPLETED


def test_the_task_is_scheduled_by_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["logistics-complete-delivered"]
    assert entry["task"] == tasks.complete_delivered_parts.name
    assert entry["task"] in app.tasks


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_completes_overdue_parts(postgres, celery_worker_process):
    station = StationFactory()
    agent = agent_at(station)
    parcel = delivered_days_ago(station, agent, settings.DELIVERY_AUTO_COMPLETE_DAYS + 1)
    assert tasks.complete_delivered_parts.delay().get(timeout=60) == 1
    assert ShopOrder.objects.get(pk=parcel.shop_order_id).status == SS.COMPLETED
