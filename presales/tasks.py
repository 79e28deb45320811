"""Presales' Celery tasks: thin, load by id, call a service, idempotent; Stripe outages are retried."""
import logging

from celery import shared_task

from core.errors import ConflictError
from orders.models import Order
from orders.payments.gateway import PaymentUnavailable

from . import services
from .models import GroupMember, PreOrder

log = logging.getLogger(__name__)
RETRY = {"autoretry_for": (PaymentUnavailable,), "retry_backoff": True, "max_retries": 8}


def _outcome(call) -> str:
    """The status a service leaves; a conflict a retry cannot fix (shipped meanwhile ...) is logged, not raised."""
    try:
        return call().status
    except PaymentUnavailable:
        raise
    except ConflictError as exc:
        log.warning("Presales task stopped: %s", exc.message)
        return exc.code


@shared_task(name="presales.release_for_failed_harvest", **RETRY)
def release_for_failed_harvest(preorder_id: int) -> str:
    """One buyer of a cancelled pre-sale: authorisation released or payment refunded, order cancelled, told."""
    preorder = PreOrder.objects.filter(pk=preorder_id).first()
    if preorder is None:
        return "missing"
    return _outcome(lambda: services.release_for_failed_harvest(preorder=preorder))


@shared_task(name="presales.capture_presale_order", **RETRY)
def capture_presale_order(order_id: int) -> str:
    """The farm handed a card pre-order over: take the authorised money."""
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        return "missing"
    return _outcome(lambda: services.capture_presale_order(order=order))


@shared_task(name="presales.confirm_group_member", **RETRY)
def confirm_group_member(member_id: int) -> str:
    """The group filled: capture one member's authorisation."""
    member = GroupMember.objects.filter(pk=member_id).first()
    if member is None:
        return "missing"
    return _outcome(lambda: services.confirm_group_member(member=member))


@shared_task(name="presales.release_order_hold", **RETRY)
def release_order_hold(order_id: int) -> list[str]:
    """A released place or pre-order: cancel its card authorisation at Stripe."""
    order = Order.objects.filter(pk=order_id).first()
    return [] if order is None else services.release_order_hold(order=order)


@shared_task(name="presales.follow_order_payment", **RETRY)
def follow_order_payment(order_id: int) -> None:
    """A payment of a pre-order or group order changed: move the pre-order or the group on."""
    order = Order.objects.filter(pk=order_id).first()
    if order is not None:
        services.record_payment_state(order=order)


@shared_task(name="presales.expire_groups")
def expire_groups() -> int:
    """Beat, every minute: fail groups past their deadline, free places not authorised in time."""
    return services.expire_groups()


@shared_task(name="presales.release_unpaid_preorders")
def release_unpaid_preorders() -> int:
    """Beat, every minute: give back units of pre-orders not paid in time; finish failed-harvest releases."""
    return services.release_unpaid_preorders()
