"""Orders' Celery tasks: thin, load by id, call a service, idempotent."""
from celery import shared_task

from . import payments, services, webhooks


@shared_task(name="orders.process_stripe_event", autoretry_for=(payments.PaymentUnavailable,),
             retry_backoff=True, max_retries=8)
def process_stripe_event(event_pk: int) -> bool:
    return webhooks.process_event(event_pk=event_pk)


@shared_task(name="orders.reconcile_payments")
def reconcile_payments() -> int:
    """Beat: apply stored events whose task was lost, then ask Stripe about payments still open."""
    webhooks.process_pending_events()
    return payments.reconcile_payments()


@shared_task(name="orders.expire_unpaid_orders")
def expire_unpaid_orders() -> int:
    """Beat, every minute: cancel online orders unpaid past their reservation and release their stock."""
    return services.expire_unpaid_orders()


@shared_task(name="orders.cancel_open_intents", autoretry_for=(payments.PaymentUnavailable,), retry_backoff=True,
             max_retries=5)
def cancel_open_intents(order_id: int) -> int:
    """After an online order expires or is cancelled unpaid: stop its card payment at Stripe."""
    from .models import Order

    order = Order.objects.filter(pk=order_id).first()
    return payments.cancel_open_intents(order=order) if order else 0
