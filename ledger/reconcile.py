"""Proof that the books are right (manage.py check_ledger, and a daily task that tells staff when they are not).

Checks, each naming what differs:
1. every entry balances (its lines sum to zero), so the whole journal sums to zero;
2. every captured card payment and every cash collection has its receipt entry;
3. every part of a paid order has its sale (Earning and entries); every refund is booked while it has not failed,
   and one that succeeded has its payment out of Stripe clearing;
4. each shop's balance row equals the sums of its accounts' lines (pending, available, scheduled, paid out).
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, Sum

from orders.models import Order, Payment, Refund, ShopOrder

from .models import Account, Earning, JournalEntry, JournalLine, ShopBalance
from .money import ZERO

E = JournalEntry.Kind
LIMIT = 50  # problems named per check; the count says how many more


def _named(problems: list[str], found: list, text) -> None:
    for item in found[:LIMIT]:
        problems.append(text(item))
    if len(found) > LIMIT:
        problems.append(f"... and {len(found) - LIMIT} more like it")


def check() -> list[str]:
    """Everything that does not reconcile, as sentences (empty: the ledger is right)."""
    problems: list[str] = []
    unbalanced = list(JournalLine.objects.values("entry_id").annotate(total=Sum("amount")).exclude(total=0)
                      .values_list("entry_id", "total"))
    _named(problems, unbalanced, lambda row: f"entry {row[0]} does not balance: lines sum to {row[1]}")
    total = JournalLine.objects.aggregate(s=Sum("amount"))["s"] or ZERO
    if total != 0:
        problems.append(f"the journal does not sum to zero: {total}")
    empty = list(JournalEntry.objects.annotate(n=Count("lines")).filter(n__lt=2).values_list("pk", flat=True))
    _named(problems, empty, lambda pk: f"entry {pk} has fewer than two lines")

    booked = set(JournalEntry.objects.filter(kind__in=[E.CAPTURE, E.CASH]).values_list("payment_id", flat=True))
    missing = [p for p in Payment.objects.filter(status=Payment.Status.SUCCEEDED).values_list("pk", "provider")
               if p[0] not in booked]
    _named(problems, missing, lambda p: f"{p[1]} payment {p[0]} succeeded but has no receipt entry")

    sold = set(Earning.objects.values_list("shop_order_id", flat=True))
    unsold = list(ShopOrder.objects.filter(order__status__in=[Order.Status.PAID, Order.Status.COMPLETED],
                                           order__payments__status=Payment.Status.SUCCEEDED)
                  .exclude(status=ShopOrder.Status.CANCELLED).exclude(pk__in=sold).distinct()
                  .values_list("pk", flat=True))
    _named(problems, unsold, lambda pk: f"shop order {pk} is paid but has no sale entry")

    counts = {row["refund_id"]: row for row in JournalEntry.objects.filter(refund__isnull=False)
              .values("refund_id").annotate(booked=Count("pk", filter=Q(kind=E.REFUND)),
                                            paid=Count("pk", filter=Q(kind=E.REFUND_PAID)))}
    wrong = []
    for pk, status in Refund.objects.values_list("pk", "status"):
        row = counts.get(pk, {"booked": 0, "paid": 0})
        if (row["booked"] % 2 == 1) != (status != Refund.Status.FAILED):
            wrong.append((pk, status, "booked"))
        if (row["paid"] % 2 == 1) != (status == Refund.Status.SUCCEEDED):
            wrong.append((pk, status, "paid out of Stripe clearing"))
    _named(problems, wrong, lambda w: f"refund {w[0]} ({w[1]}) is not {w[2]} as its status says")

    problems += check_shop_balances()
    return problems


def shop_sums() -> dict[int, dict[str, Decimal]]:
    sums: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    field = {Account.Kind.SHOP_PENDING: "pending", Account.Kind.SHOP_AVAILABLE: "available",
             Account.Kind.SHOP_PAYOUTS: "scheduled"}
    for shop_id, kind, total in (JournalLine.objects.filter(account__shop__isnull=False)
                                 .values_list("account__shop_id", "account__kind").annotate(s=Sum("amount"))
                                 .values_list("account__shop_id", "account__kind", "s")):
        sums[shop_id][field[kind]] = -total
    for shop_id, total in (JournalLine.objects.filter(entry__kind=E.PAYOUT_PAID,
                                                      account__kind=Account.Kind.SHOP_PAYOUTS)
                           .values_list("account__shop_id").annotate(s=Sum("amount"))
                           .values_list("account__shop_id", "s")):
        sums[shop_id]["paid_out"] = total
    return sums


def check_shop_balances() -> list[str]:
    problems: list[str] = []
    sums = shop_sums()
    fields = ("pending", "available", "scheduled", "paid_out")
    seen = set()
    wrong = []
    for balance in ShopBalance.objects.all().iterator(chunk_size=2000):
        seen.add(balance.shop_id)
        expected = sums.get(balance.shop_id, {})
        for name in fields:
            if getattr(balance, name) != expected.get(name, ZERO):
                wrong.append((balance.shop_id, name, getattr(balance, name), expected.get(name, ZERO)))
    for shop_id in set(sums) - seen:
        if any(sums[shop_id].get(name, ZERO) for name in fields):
            wrong.append((shop_id, "balance row", "missing", "present"))
    _named(problems, wrong, lambda w: f"shop {w[0]}: {w[1]} is {w[2]} but its entries sum to {w[3]}")
    return problems
