"""Stripe webhooks: verify, store each event once, answer at once; a Celery task applies it.

POST /stripe/webhook/ checks the Stripe-Signature header against STRIPE_WEBHOOK_SECRET (a bad or missing
signature is a 400 and changes nothing), stores the event id once in StripeEvent (a repeated delivery is a
200 that does nothing) and queues `orders.process_stripe_event` (defined here, next to what it runs, and
registered with orders' other tasks by orders.tasks) after the commit.
"""
import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpResponseBadRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.errors import ConflictError

from ..models import StripeEvent
from . import gateway, intents, refunds

log = logging.getLogger(__name__)

INTENT_EVENTS = {
    "payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled",
    "payment_intent.processing", "payment_intent.requires_action", "payment_intent.amount_capturable_updated",
}


def verified_event(*, payload: bytes, signature: str | None) -> dict | None:
    """The event if Stripe (or whoever holds the webhook secret) signed this exact payload, else None."""
    secret = settings.STRIPE_WEBHOOK_SECRET
    if not secret or not signature:
        return None
    event = gateway.construct_event(payload=payload, signature=signature, secret=secret)
    if event is None or not isinstance(event.get("id"), str) or not isinstance(event.get("data"), dict):
        return None
    return event


def record_event(*, event: dict) -> StripeEvent | None:
    """Store a verified event once; None when this id was already received."""
    try:
        with transaction.atomic():
            return StripeEvent.objects.create(event_id=event["id"][:255], type=str(event.get("type", ""))[:80],
                                              payload=event)
    except IntegrityError:
        return None


def process_event(*, event_pk: int) -> bool:
    """Apply one stored event (thin dispatch to intents and refunds); True when it was applied now.

    Idempotent: the event row is locked and marked processed in the same transaction as its effects, so a
    second run (a redelivered task, the sweeper) does nothing. PaymentUnavailable propagates, leaving the
    event unprocessed for a retry; any other conflict is logged and the event closed, as a retry cannot help.
    """
    with transaction.atomic():
        stored = StripeEvent.objects.select_for_update().filter(pk=event_pk, processed_at__isnull=True).first()
        if stored is None:
            return False
        obj = (stored.payload.get("data") or {}).get("object") or {}
        try:
            with transaction.atomic():
                if stored.type in INTENT_EVENTS:
                    intents.apply_intent(intent=obj)
                elif stored.type == "charge.refunded":
                    refunds.record_charge_refunds(charge=obj)
                elif stored.type == "charge.refund.updated":
                    refunds.record_refund_update(refund=obj)
        except gateway.PaymentUnavailable:
            raise
        except ConflictError as exc:
            log.error("Stripe event %s (%s) could not be applied: %s", stored.event_id, stored.type, exc.message)
        except (KeyError, TypeError, ValueError):
            log.exception("Stripe event %s (%s) is malformed; closed without effect", stored.event_id, stored.type)
        stored.processed_at = timezone.now()
        stored.save(update_fields=["processed_at"])
        return True


def process_pending_events(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Apply events stored but never applied (their task was lost with a broker or worker); returns the count."""
    cutoff = timezone.now() - older_than
    pending = (StripeEvent.objects.filter(processed_at__isnull=True, received_at__lte=cutoff)
               .order_by("received_at").values_list("pk", flat=True)[:500])
    applied = 0
    for event_pk in list(pending):
        try:
            applied += process_event(event_pk=event_pk)
        except gateway.PaymentUnavailable:
            break  # Stripe is down; the next run tries again
    return applied


@shared_task(name="orders.process_stripe_event", autoretry_for=(gateway.PaymentUnavailable,),
             retry_backoff=True, max_retries=8)
def process_stripe_event(event_pk: int) -> bool:
    return process_event(event_pk=event_pk)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    event = verified_event(payload=request.body, signature=request.headers.get("Stripe-Signature"))
    if event is None:
        return HttpResponseBadRequest("invalid signature")
    stored = record_event(event=event)
    if stored is not None:
        # robust: with in-process (eager) tasks a failure is logged, not turned into a 500 that makes Stripe
        # resend an event already stored; the reconcile task applies it later.
        transaction.on_commit(lambda: process_stripe_event.delay(stored.pk), robust=True)
    return JsonResponse({"received": True, "duplicate": stored is None})
