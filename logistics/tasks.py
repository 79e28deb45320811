"""Logistics' Celery tasks: thin, call a service, idempotent."""
from celery import shared_task

from . import services


@shared_task(name="logistics.complete_delivered_parts")
def complete_delivered_parts() -> int:
    """Beat, hourly: complete parts delivered DELIVERY_AUTO_COMPLETE_DAYS ago that the buyer did not confirm."""
    return services.complete_overdue_deliveries()
