"""Writing balanced entries: the one function that adds to the journal, and the chart of accounts by code.

`post` takes (account code, amount) pairs, debits positive and credits negative, drops zero amounts, refuses a
set that does not sum to zero, and writes the entry, its lines and the shop's balance row in the caller's
transaction. An entry whose key exists already is not written again (an event booked twice is booked once).

Sign of a shop's balances: its accounts are liabilities (the platform owes the shop), so a credit (negative line)
raises the balance: pending = -(sum of lines on shop:<id>:pending), and so on.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import F

from .models import Account, JournalEntry, JournalLine, ShopBalance
from .money import ZERO, to_fen

K = Account.Kind

STRIPE_CLEARING = "stripe_clearing"
BANK = "bank"
BUYER_FUNDS = "buyer_funds"
COMMISSION = "commission"
SHIPPING = "shipping"
REFUNDS = "refunds"
ADJUSTMENTS = "adjustments"
PLATFORM = {STRIPE_CLEARING: K.STRIPE_CLEARING, BANK: K.BANK, BUYER_FUNDS: K.BUYER_FUNDS,
            COMMISSION: K.COMMISSION, SHIPPING: K.SHIPPING, REFUNDS: K.REFUNDS, ADJUSTMENTS: K.ADJUSTMENTS}
SHOP_KINDS = {"pending": K.SHOP_PENDING, "available": K.SHOP_AVAILABLE, "payouts": K.SHOP_PAYOUTS}
# ShopBalance field moved by a line on each shop account kind.
BALANCE_FIELD = {K.SHOP_PENDING: "pending", K.SHOP_AVAILABLE: "available", K.SHOP_PAYOUTS: "scheduled"}


class Unbalanced(ValueError):
    """Debits and credits of an entry differ: a bug, never user input."""


def shop_account(shop_id: int, which: str) -> str:
    return f"shop:{shop_id}:{which}"


def station_cash(station_id: int | None) -> str:
    return f"station:{station_id}:cash" if station_id else "station:none:cash"


def _kind_of(code: str) -> tuple[str, int | None, int | None]:
    if code in PLATFORM:
        return PLATFORM[code], None, None
    scope, ident, which = code.split(":")
    if scope == "shop":
        return SHOP_KINDS[which], int(ident), None
    return K.STATION_CASH, None, (None if ident == "none" else int(ident))


def accounts_for(codes: Iterable[str]) -> dict[str, Account]:
    """The accounts of these codes, created when missing (one query when they all exist)."""
    codes = set(codes)
    found = {a.code: a for a in Account.objects.filter(code__in=codes)}
    missing = codes - found.keys()
    if missing:
        fresh = []
        for code in sorted(missing):
            kind, shop_id, station_id = _kind_of(code)
            fresh.append(Account(code=code, kind=kind, shop_id=shop_id, station_id=station_id))
        Account.objects.bulk_create(fresh, ignore_conflicts=True)
        found.update({a.code: a for a in Account.objects.filter(code__in=missing)})
    return found


def ensure_balance(shop_id: int) -> None:
    ShopBalance.objects.get_or_create(shop_id=shop_id)


def post(*, kind: str, key: str, lines: Iterable[tuple[str, Decimal]], memo: str = "", memo_params: dict | None = None,
         shop_id: int | None = None, **links) -> JournalEntry | None:
    """Write one balanced entry (None when `key` is booked already, or nothing moves)."""
    if JournalEntry.objects.filter(key=key).exists():
        return None
    merged: dict[str, Decimal] = {}
    for code, amount in lines:
        merged[code] = merged.get(code, ZERO) + to_fen(amount)
    merged = {code: amount for code, amount in merged.items() if amount}
    if sum(merged.values(), ZERO) != ZERO:
        raise Unbalanced(f"{key}: debits and credits differ by {sum(merged.values(), ZERO)}")
    if not merged:
        return None
    accounts = accounts_for(merged)
    changes: dict[int, dict[str, Decimal]] = {}
    shop_amount = ZERO
    for code, amount in merged.items():
        account = accounts[code]
        field = BALANCE_FIELD.get(account.kind)
        if field is None:
            continue
        changes.setdefault(account.shop_id, {}).setdefault(field, ZERO)
        changes[account.shop_id][field] -= amount
        if account.shop_id == shop_id and field in ("pending", "available"):
            shop_amount -= amount
    if kind == JournalEntry.Kind.PAYOUT_PAID:
        for code, amount in merged.items():
            if accounts[code].kind == K.SHOP_PAYOUTS:
                changes[accounts[code].shop_id]["paid_out"] = amount
    entry = JournalEntry.objects.create(kind=kind, key=key, memo=str(memo)[:200], shop_id=shop_id,
                                        memo_params={k: str(v) for k, v in (memo_params or {}).items()},
                                        shop_amount=shop_amount, **links)
    JournalLine.objects.bulk_create([JournalLine(entry=entry, account=accounts[code], amount=amount)
                                     for code, amount in merged.items()])
    for changed_shop, fields in changes.items():
        ensure_balance(changed_shop)
        ShopBalance.objects.filter(shop_id=changed_shop).update(
            **{field: F(field) + delta for field, delta in fields.items()})
    return entry
