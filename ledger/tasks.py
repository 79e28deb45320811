"""Ledger's Celery tasks: thin, call a service, safe to run twice."""
from celery import shared_task

from . import services
from .alerts import check_and_alert


@shared_task(name="ledger.run_payouts")
def run_payouts() -> int:
    """Beat, weekly: one payout per shop with enough available money, in this week's batch (idempotent)."""
    _batch, made = services.run_payouts()
    return made


@shared_task(name="ledger.check_ledger")
def check_ledger() -> int:
    """Beat, daily: reconcile the ledger; staff are told what differs. Returns how many problems."""
    return len(check_and_alert())
