"""Standing orders' Celery task: thin, calls one service, safe to run twice (the run rows are unique)."""
from celery import shared_task

from . import services


@shared_task(name="subscriptions.make_standing_orders")
def make_standing_orders() -> dict:
    """Beat, daily: make the orders of the boxes cut off today, then charge their saved cards."""
    return services.make_standing_orders()
