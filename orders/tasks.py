"""Orders' Celery tasks: thin, load by id, call a service, idempotent.

Every task of the app is registered from here under its name (the beat schedule and queued messages use the
names): two live next to what they run and are imported for that, orders.process_stripe_event
(orders.payments.webhooks), orders.cancel_open_intents and orders.capture_weighed_order (orders.payments.tasks,
queued by orders.services).
"""
from celery import shared_task

from . import services
from .payments import reconcile, webhooks
from .payments.gateway import PaymentUnavailable
from .payments.tasks import cancel_open_intents, capture_weighed_order
from .payments.webhooks import process_stripe_event

__all__ = ["cancel_open_intents", "capture_weighed_order", "expire_unpaid_orders", "process_stripe_event",
           "reconcile_payments", "renew_weighed_authorisations"]


@shared_task(name="orders.reconcile_payments")
def reconcile_payments() -> int:
    """Beat: apply stored events whose task was lost, then ask Stripe about payments still open."""
    webhooks.process_pending_events()
    return reconcile.reconcile_payments()


@shared_task(name="orders.expire_unpaid_orders")
def expire_unpaid_orders() -> int:
    """Beat, every minute: cancel online orders unpaid past their reservation and release their stock."""
    return services.expire_unpaid_orders()


@shared_task(name="orders.renew_weighed_authorisations", autoretry_for=(PaymentUnavailable,), retry_backoff=True,
             max_retries=5)
def renew_weighed_authorisations() -> int:
    """Beat, hourly: weighed orders still not captured WEIGHED_CAPTURE_DAYS after authorisation are released and
    their buyers asked to authorise again (or the order expires)."""
    return services.renew_weighed_authorisations()
