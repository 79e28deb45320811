"""Celery tasks of card payments that orders.services queues: thin, load by id, call one function, idempotent.

orders.tasks registers them under their names with the rest of orders' tasks.
"""
from celery import shared_task

from ..models import Order
from . import holds, intents
from .gateway import PaymentUnavailable


@shared_task(name="orders.cancel_open_intents", autoretry_for=(PaymentUnavailable,), retry_backoff=True,
             max_retries=5)
def cancel_open_intents(order_id: int) -> int:
    """After an online order expires or is cancelled unpaid: stop its card payment at Stripe."""
    order = Order.objects.filter(pk=order_id).first()
    return intents.cancel_open_intents(order=order) if order else 0


@shared_task(name="orders.capture_weighed_order", autoretry_for=(PaymentUnavailable,), retry_backoff=True,
             max_retries=8)
def capture_weighed_order(order_id: int) -> str:
    """Every weighed line of the order is weighed: capture the final total of its card authorisation."""
    order = Order.objects.filter(pk=order_id).first()
    return holds.capture_weighed(order=order) if order else ""
