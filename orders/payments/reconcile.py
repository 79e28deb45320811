"""Reconcile: a lost webhook loses no sale. Ask Stripe about payments still open and record what it says."""
import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from ..models import Order, Payment
from . import gateway, intents

log = logging.getLogger(__name__)


def payments_to_reconcile(*, now=None):
    """Open Stripe payments older than ORDER_PAYMENT_RECONCILE_MINUTES on orders still waiting for payment,
    or cancelled within the last day (a success whose webhook was lost is then settled as a late payment)."""
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.ORDER_PAYMENT_RECONCILE_MINUTES)
    # Authorised holds (pre-sales, groups) wait for capture by design, often for days: not lost webhooks.
    return (Payment.objects.filter(provider=Payment.Provider.STRIPE, intent_id__isnull=False,
                                   status__in=intents.OPEN_PAYMENT_STATUSES, created_at__lte=cutoff)
            .exclude(status=Payment.Status.REQUIRES_CAPTURE)
            .filter(Q(order__status=Order.Status.PENDING_PAYMENT)
                    | Q(order__status=Order.Status.CANCELLED, order__cancelled_at__gte=now - timedelta(days=1)))
            .order_by("created_at", "id"))


def reconcile_payments(*, now=None, limit: int = 200) -> int:
    """Ask Stripe about each payment still open and apply what it says, as a webhook would. Returns the count."""
    if not intents.card_payments_enabled():
        return 0
    checked = 0
    for intent_id in payments_to_reconcile(now=now).values_list("intent_id", flat=True)[:limit]:
        try:
            intent = gateway.retrieve_intent(intent_id)
        except (gateway.PaymentUnavailable, gateway.CardDeclined) as exc:
            log.warning("Reconcile could not read %s: %s", intent_id, exc)
            continue
        intents.apply_intent(intent=intent)
        checked += 1
    return checked
