"""Every write to the ledger: keyword-only arguments, one transaction each (or the caller's, for the receivers).

Money events and their entries (debit +, credit -; see ledger.postings):

- card payment captured: Dr stripe_clearing, Cr buyer_funds. Cash recorded by an agent: Dr station cash drawer,
  Cr buyer_funds. The money is the buyer's until the order is paid with it;
- order paid, per part: sale (Dr buyer_funds goods+shipping, Cr shop pending goods, Cr shipping revenue) and
  commission (Dr shop pending, Cr commission revenue); the part's Earning fixes goods, shipping and commission;
- part completed: its net moves from pending to available (release);
- refund of a part (whole or partial): goods first, then shipping; the commission on the refunded goods is given
  back (all of what is left when the goods are refunded in full). Dr shop (pending, or available once released:
  it may go negative and is recovered from the next payout), Dr commission, Dr shipping, Cr refunds; when Stripe
  says it succeeded, Dr refunds, Cr stripe_clearing. A refund of money that was never a sale: Dr buyer_funds;
- payout scheduled: Dr shop available, Cr shop payouts; paid: Dr shop payouts, Cr bank; failed: Dr shop
  payouts, Cr shop available (the money is the shop's again);
- cash remitted by a station (staff confirm): Dr bank, Cr station cash drawer;
- adjustment by staff with a reason: Dr adjustments, Cr shop available (a credit), or the other way round.

Locks: an Earning row is locked before its entries are written; payout runs lock ShopBalance rows in primary-key
order, so two runs (or a run and a refund, which locks the balance row through its update) never pay twice.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from core.errors import ConflictError
from logistics.models import Agent, Station
from notifications.services import Phrase, notify
from orders.models import Order, Payment, Refund, ShopOrder
from orders.selectors import managers_of_shops
from shops.models import Shop
from shops.selectors import can_manage_shop

from . import commission, signals
from .models import (
    CashCount,
    CashRemittance,
    Earning,
    JournalEntry,
    JournalLine,
    Payout,
    PayoutAccount,
    PayoutBatch,
    ShopBalance,
)
from .money import ZERO, to_fen
from .postings import (
    ADJUSTMENTS,
    BANK,
    BUYER_FUNDS,
    COMMISSION,
    REFUNDS,
    SHIPPING,
    STRIPE_CLEARING,
    accounts_for,
    post,
    shop_account,
    station_cash,
)

E = JournalEntry.Kind
PS = Payout.Status
# The allowed payout status changes; an illegal one is a ConflictError (409). Nothing moves back.
PAYOUT_TRANSITIONS: dict[str, set[str]] = {PS.SCHEDULED: {PS.PAID, PS.FAILED}, PS.PAID: set(), PS.FAILED: set()}
MAX_AMOUNT = Decimal("10000000.00")
RUN_CHUNK = 500


# --- Helpers ----------------------------------------------------------------------------------------------------------

def _money(value, field: str, *, positive: bool = True) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({field: [_("Enter an amount such as 12.50.")]})
    if not amount.is_finite() or amount != to_fen(amount):
        raise ValidationError({field: [_("Enter an amount with at most two decimal places.")]})
    if positive and amount <= 0:
        raise ValidationError({field: [_("Enter an amount greater than zero.")]})
    if abs(amount) > MAX_AMOUNT:
        raise ValidationError({field: [_("This amount is too large.")]})
    return amount


def _require_staff(actor: User) -> None:
    if not (actor.is_authenticated and actor.is_staff):
        raise PermissionDenied(_("Only staff may do this."))


def _tell_managers(shop_ids, *, kind: str, subject, body, link: str, dedupe: str) -> None:
    for shop_id, people in managers_of_shops(shop_ids).items():
        for person in people:
            notify(recipient=person, kind=kind, subject=subject, body=body, link=link,
                   dedupe_key=f"{dedupe}:{shop_id}:{person.pk}")


# --- Money coming in --------------------------------------------------------------------------------------------------

def _station_of(user: User | None) -> int | None:
    if user is None:
        return None
    return Agent.objects.filter(user=user).values_list("station_id", flat=True).first()


def book_payment_received(*, payment: Payment, amount: Decimal | None = None) -> JournalEntry | None:
    """A captured card payment or cash an agent took: the buyer's money, not a sale yet. Idempotent."""
    amount = payment.amount if amount is None else amount
    if payment.provider == Payment.Provider.CASH:
        debit, kind = station_cash(_station_of(payment.collected_by)), E.CASH
        memo = gettext_noop("Cash collected for order %(number)s")
    else:
        debit, kind = STRIPE_CLEARING, E.CAPTURE
        memo = gettext_noop("Card payment for order %(number)s")
    return post(kind=kind, key=f"payment:{payment.pk}:received", memo=memo,
                memo_params={"number": payment.order.number}, payment=payment,
                order_id=payment.order_id, lines=[(debit, amount), (BUYER_FUNDS, -amount)])


def book_order_paid(*, order: Order, payment: Payment | None) -> list[Earning]:
    """The order is paid: each live part becomes a sale of its shop, pending until it completes. Idempotent."""
    if payment is None:
        payment = order.payments.filter(status=Payment.Status.SUCCEEDED).order_by("id").first()
    if payment is not None:
        book_payment_received(payment=payment)
    at = order.paid_at or timezone.now()
    earnings = []
    for so in order.shop_orders.exclude(status=ShopOrder.Status.CANCELLED).select_related("shop").order_by("id"):
        earning = _book_sale(so, order, at)
        if earning is not None:
            earnings.append(earning)
    return earnings


def _book_sale(so: ShopOrder, order: Order, at: datetime) -> Earning | None:
    if Earning.objects.filter(shop_order=so).exists():
        return None
    goods, shipping = so.items_total, so.shipping_fee
    fee = min(commission.commission_of(so, at=at), goods)
    earning = Earning.objects.create(shop_order=so, shop_id=so.shop_id, goods=goods, shipping=shipping,
                                     commission=fee)
    pending = shop_account(so.shop_id, "pending")
    params = {"number": order.number}
    post(kind=E.SALE, key=f"shop_order:{so.pk}:sale", shop_id=so.shop_id, order=order, shop_order=so,
         memo=gettext_noop("Sale, order %(number)s"), memo_params=params,
         lines=[(BUYER_FUNDS, goods), (pending, -goods)])
    post(kind=E.SHIPPING, key=f"shop_order:{so.pk}:shipping", shop_id=so.shop_id, order=order, shop_order=so,
         memo=gettext_noop("Shipping, order %(number)s"), memo_params=params,
         lines=[(BUYER_FUNDS, shipping), (SHIPPING, -shipping)])
    post(kind=E.COMMISSION, key=f"shop_order:{so.pk}:commission", shop_id=so.shop_id, order=order, shop_order=so,
         memo=gettext_noop("Commission on ¥%(goods)s, order %(number)s"),
         memo_params={"goods": goods, "number": order.number},
         lines=[(pending, fee), (COMMISSION, -fee)])
    return earning


def release_shop_order(*, shop_order: ShopOrder) -> JournalEntry | None:
    """The part is completed: what it earned (after refunds and commission) is the shop's, available. Idempotent."""
    earning = Earning.objects.select_for_update().filter(shop_order_id=shop_order.pk).first()
    if earning is None or earning.released_at is not None:
        return None
    earning.released_at = timezone.now()
    earning.save(update_fields=["released_at"])
    net = earning.net
    return post(kind=E.RELEASE, key=f"shop_order:{shop_order.pk}:release", shop_id=earning.shop_id,
                order_id=shop_order.order_id, shop_order=shop_order,
                memo=gettext_noop("Delivered and completed: now available"),
                lines=[(shop_account(earning.shop_id, "pending"), net),
                       (shop_account(earning.shop_id, "available"), -net)])


# --- Refunds ----------------------------------------------------------------------------------------------------------

def _refund_bookings(refund: Refund) -> list[JournalEntry]:
    return list(JournalEntry.objects.filter(refund=refund, kind=E.REFUND).order_by("id").prefetch_related(
        "lines__account"))


def _book_refund(refund: Refund, sequence: int) -> None:
    amount = refund.amount
    earning = (Earning.objects.select_for_update().filter(shop_order_id=refund.shop_order_id).first()
               if refund.shop_order_id else None)
    key = f"refund:{refund.pk}:{sequence}"
    order_id = refund.payment.order_id
    if earning is None:
        # Money that never became a sale (a second payment, a payment after the order was cancelled).
        post(kind=E.REFUND, key=key, refund=refund, order_id=order_id, payment_id=refund.payment_id,
             memo=gettext_noop("Refund of a payment"), lines=[(BUYER_FUNDS, amount), (REFUNDS, -amount)])
        return
    goods_left = earning.goods - earning.refunded_goods
    fee_left = earning.commission - earning.refunded_commission
    goods = min(amount, goods_left)
    shipping = amount - goods
    if goods == goods_left:
        fee = fee_left
    else:
        fee = min(to_fen(goods * earning.commission / earning.goods) if earning.goods else ZERO, fee_left)
    earning.refunded_goods += goods
    earning.refunded_shipping += shipping
    earning.refunded_commission += fee
    earning.save(update_fields=["refunded_goods", "refunded_shipping", "refunded_commission"])
    which = "available" if earning.released_at else "pending"
    post(kind=E.REFUND, key=key, refund=refund, shop_id=earning.shop_id, order_id=order_id,
         shop_order_id=refund.shop_order_id, payment_id=refund.payment_id,
         memo=gettext_noop("Refund of ¥%(amount)s to the buyer"), memo_params={"amount": amount},
         lines=[(shop_account(earning.shop_id, which), goods - fee), (COMMISSION, fee), (SHIPPING, shipping),
                (REFUNDS, -amount)])


def _undo_refund(refund: Refund, booking: JournalEntry, sequence: int) -> None:
    """A refund that failed: its booking is reversed by a new entry, and the Earning counts it no more."""
    lines = [(line.account.code, -line.amount) for line in booking.lines.all()]
    if booking.shop_order_id:
        earning = Earning.objects.select_for_update().get(shop_order_id=booking.shop_order_id)
        by_kind = {line.account.kind: line.amount for line in booking.lines.all()}
        fee = by_kind.get("commission", ZERO)
        shop_part = by_kind.get("shop_pending", ZERO) + by_kind.get("shop_available", ZERO)
        earning.refunded_goods -= shop_part + fee
        earning.refunded_shipping -= by_kind.get("shipping", ZERO)
        earning.refunded_commission -= fee
        earning.save(update_fields=["refunded_goods", "refunded_shipping", "refunded_commission"])
        if earning.released_at:  # released meanwhile: the shop's part comes back to available
            lines = [(code.replace(":pending", ":available"), amount) for code, amount in lines]
    post(kind=E.REFUND, key=f"refund:{refund.pk}:{sequence}", refund=refund, shop_id=booking.shop_id,
         order_id=booking.order_id, shop_order_id=booking.shop_order_id, payment_id=booking.payment_id,
         memo=gettext_noop("Refund failed: the money is back"), lines=lines)


def book_refund(*, refund: Refund, previous_status: str | None) -> None:
    """Book a refund that was recorded or changed status (called in orders' transaction). Idempotent."""
    bookings = _refund_bookings(refund)
    # A refund is counted while it has not failed: an odd number of bookings (booked, undone, booked ...).
    counted = len(bookings) % 2 == 1
    should = refund.status != Refund.Status.FAILED
    if should and not counted:
        _book_refund(refund, len(bookings))
    elif counted and not should:
        _undo_refund(refund, bookings[-1], len(bookings))
    paid = JournalEntry.objects.filter(refund=refund, kind=E.REFUND_PAID).count()
    paid_out = paid % 2 == 1
    if refund.status == Refund.Status.SUCCEEDED and not paid_out:
        post(kind=E.REFUND_PAID, key=f"refund:{refund.pk}:paid:{paid}", refund=refund,
             order_id=refund.payment.order_id, memo=gettext_noop("Refund sent through Stripe"),
             lines=[(REFUNDS, refund.amount), (STRIPE_CLEARING, -refund.amount)])
    elif refund.status == Refund.Status.FAILED and paid_out:
        post(kind=E.REFUND_PAID, key=f"refund:{refund.pk}:paid:{paid}", refund=refund,
             order_id=refund.payment.order_id, memo=gettext_noop("Refund failed at Stripe"),
             lines=[(STRIPE_CLEARING, refund.amount), (REFUNDS, -refund.amount)])


def book_cash_part_cancelled(*, shop_order: ShopOrder, order: Order) -> JournalEntry | None:
    """A part of an order paid in cash is cancelled: its cash goes back to the buyer from the drawer of the
    station that collected it, and what it earned is undone (goods, commission, shipping). Idempotent. A card
    order's part is undone by its refund (book_refund) instead."""
    if order.payment_method != Order.PaymentMethod.COD:
        return None
    earning = Earning.objects.select_for_update().filter(shop_order_id=shop_order.pk).first()
    if earning is None:
        return None
    payment = order.payments.filter(provider=Payment.Provider.CASH, status=Payment.Status.SUCCEEDED).first()
    goods = earning.goods - earning.refunded_goods
    fee = earning.commission - earning.refunded_commission
    shipping = earning.shipping - earning.refunded_shipping
    earning.refunded_goods, earning.refunded_commission, earning.refunded_shipping = (
        earning.goods, earning.commission, earning.shipping)
    earning.save(update_fields=["refunded_goods", "refunded_shipping", "refunded_commission"])
    which = "available" if earning.released_at else "pending"
    drawer = station_cash(_station_of(payment.collected_by if payment else None))
    return post(kind=E.REFUND, key=f"shop_order:{shop_order.pk}:cash_returned", shop_id=earning.shop_id,
                order=order, shop_order=shop_order, payment=payment,
                memo=gettext_noop("Cancelled: ¥%(amount)s in cash goes back to the buyer"),
                memo_params={"amount": goods + shipping},
                lines=[(shop_account(earning.shop_id, which), goods - fee), (COMMISSION, fee), (SHIPPING, shipping),
                       (drawer, -(goods + shipping))])


# --- Payout accounts --------------------------------------------------------------------------------------------------

ACCOUNT_NUMBER = re.compile(r"^[0-9]{8,30}$")


@transaction.atomic
def set_payout_account(*, shop: Shop, actor: User, holder: str, bank: str, account_number: str,
                       now: datetime | None = None) -> PayoutAccount:
    """Save where the shop is paid. A change of an existing account holds the next payout for
    PAYOUT_ACCOUNT_HOLD_HOURS and every manager of the shop is told (the last four digits only)."""
    if not can_manage_shop(actor, shop):
        raise PermissionDenied(_("You do not manage this shop."))
    holder, bank = (holder or "").strip(), (bank or "").strip()
    number = re.sub(r"[\s-]", "", account_number or "")
    errors = {}
    if not holder or len(holder) > 80:
        errors["holder"] = [_("Enter the account holder's name (up to 80 characters).")]
    if not bank or len(bank) > 80:
        errors["bank"] = [_("Enter the bank and branch (up to 80 characters).")]
    if not ACCOUNT_NUMBER.match(number):
        errors["account_number"] = [_("Enter the account number: 8 to 30 digits, no letters.")]
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    account = PayoutAccount.objects.select_for_update().filter(shop=shop).first()
    changed = account is not None and (account.account_number, account.holder, account.bank) != (number, holder, bank)
    if account is None:
        account = PayoutAccount(shop=shop)
    elif not changed:
        return account
    account.holder, account.bank, account.account_number = holder, bank, number
    if changed:
        account.hold_until = now + timedelta(hours=settings.PAYOUT_ACCOUNT_HOLD_HOURS)
    account.save()
    params = {"shop": shop.name, "last4": account.account_last4, "hours": settings.PAYOUT_ACCOUNT_HOLD_HOURS}
    subject = Phrase(gettext_noop("Payout account of %(shop)s changed"), params)
    if changed:
        body = Phrase(gettext_noop("Payouts of %(shop)s now go to the account ending %(last4)s. The next payout waits "
                                   "%(hours)d hours. If you did not make this change, tell Farmgate at once."), params)
    else:
        body = Phrase(gettext_noop("Payouts of %(shop)s will go to the account ending %(last4)s."), params)
    _tell_managers([shop.pk], kind="payout_account_changed", subject=subject, body=body,
                   link=reverse("ledger:payout_account", args=[shop.slug]),
                   dedupe=f"payout_account:{account.pk}:{now.timestamp()}")
    return account


# --- Payouts ----------------------------------------------------------------------------------------------------------

def current_period(now: datetime | None = None) -> str:
    year, week, _day = timezone.localdate(now or timezone.now()).isocalendar()
    return f"{year}-W{week:02d}"


def _batch(period: str, actor: User | None) -> PayoutBatch:
    batch = PayoutBatch.objects.filter(period=period).first()
    if batch is not None:
        return batch
    try:
        with transaction.atomic():
            return PayoutBatch.objects.create(period=period, created_by=actor if actor and actor.pk else None)
    except IntegrityError:  # a parallel run made it a moment ago
        return PayoutBatch.objects.get(period=period)


def _eligible_shop_ids(batch: PayoutBatch, minimum: Decimal, now: datetime) -> list[int]:
    from django.db.models import Q

    return list(ShopBalance.objects.filter(available__gte=minimum, available__gt=0,
                                           shop__payout_account__isnull=False)
                .filter(Q(shop__payout_account__hold_until__isnull=True) | Q(shop__payout_account__hold_until__lte=now))
                .exclude(shop__payouts__batch=batch).order_by("shop_id").values_list("shop_id", flat=True))


@transaction.atomic
def _pay_chunk(batch: PayoutBatch, shop_ids: list[int], minimum: Decimal, now: datetime) -> int:
    balances = list(ShopBalance.objects.select_for_update().filter(shop_id__in=shop_ids, available__gte=minimum,
                                                                   available__gt=0).order_by("pk"))
    if not balances:
        return 0
    ids = [b.shop_id for b in balances]
    already = set(Payout.objects.filter(batch=batch, shop_id__in=ids).values_list("shop_id", flat=True))
    accounts = {a.shop_id: a for a in PayoutAccount.objects.filter(shop_id__in=ids)
                if a.hold_until is None or a.hold_until <= now}
    balances = [b for b in balances if b.shop_id not in already and b.shop_id in accounts]
    if not balances:
        return 0
    payouts = Payout.objects.bulk_create([
        Payout(number=f"PO{batch.pk}-{b.shop_id}", batch=batch, shop_id=b.shop_id, amount=b.available,
               payee=accounts[b.shop_id].holder, bank=accounts[b.shop_id].bank,
               account_last4=accounts[b.shop_id].account_last4)
        for b in balances])
    if any(p.pk is None for p in payouts):  # a backend that does not return ids
        payouts = list(Payout.objects.filter(batch=batch, shop_id__in=[b.shop_id for b in balances]))
    by_shop = {p.shop_id: p for p in payouts}
    codes = [shop_account(b.shop_id, which) for b in balances for which in ("available", "payouts")]
    acc = accounts_for(codes)
    memo = gettext_noop("Payout %(period)s")
    entries = JournalEntry.objects.bulk_create([
        JournalEntry(kind=E.PAYOUT, key=f"payout:{by_shop[b.shop_id].pk}:scheduled", shop_id=b.shop_id,
                     shop_amount=-b.available, payout=by_shop[b.shop_id], memo=memo,
                     memo_params={"period": str(batch.period)})
        for b in balances])
    if any(e.pk is None for e in entries):
        entries = list(JournalEntry.objects.filter(payout__in=payouts, kind=E.PAYOUT))
    entry_of = {e.shop_id: e for e in entries}
    lines = []
    for b in balances:
        entry = entry_of[b.shop_id]
        lines.append(JournalLine(entry=entry, account=acc[shop_account(b.shop_id, "available")], amount=b.available))
        lines.append(JournalLine(entry=entry, account=acc[shop_account(b.shop_id, "payouts")], amount=-b.available))
    JournalLine.objects.bulk_create(lines)
    for b in balances:
        b.scheduled += b.available
        b.available = ZERO
    ShopBalance.objects.bulk_update(balances, ["available", "scheduled"])
    return len(balances)


def run_payouts(*, actor: User | None = None, period: str | None = None, now: datetime | None = None
                ) -> tuple[PayoutBatch, int]:
    """One payout per shop with at least PAYOUT_MINIMUM available, a payout account and no hold, in the batch of
    `period` (this ISO week by default). Running it again, or twice at once, pays nobody twice: a shop has one
    payout per batch, and its balance row is locked and re-read before it is paid. Returns (batch, payouts made)."""
    if actor is not None and actor.is_authenticated:
        _require_staff(actor)
    now = now or timezone.now()
    batch = _batch(period or current_period(now), actor)
    minimum = Decimal(str(settings.PAYOUT_MINIMUM))
    made = 0
    shop_ids = _eligible_shop_ids(batch, minimum, now)
    for start in range(0, len(shop_ids), RUN_CHUNK):
        made += _pay_chunk(batch, shop_ids[start:start + RUN_CHUNK], minimum, now)
    return batch, made


@transaction.atomic
def pay_shop_now(*, shop: Shop, actor: User, now: datetime | None = None) -> Payout:
    """Staff pay one shop's available balance now (outside the weekly run), in a batch of its own."""
    _require_staff(actor)
    now = now or timezone.now()
    account = PayoutAccount.objects.filter(shop=shop).first()
    if account is None:
        raise ConflictError(_("%(shop)s has no payout account yet: its manager must add one first.")
                            % {"shop": shop.name}, code="no_payout_account")
    if account.hold_until and account.hold_until > now:
        raise ConflictError(_("The payout account of %(shop)s changed recently; payouts wait until %(time)s.")
                            % {"shop": shop.name, "time": f"{timezone.localtime(account.hold_until):%Y-%m-%d %H:%M}"},
                            code="payout_on_hold")
    balance = ShopBalance.objects.select_for_update().filter(shop=shop).first()
    if balance is None or balance.available <= 0:
        raise ConflictError(_("%(shop)s has no money available to pay out.") % {"shop": shop.name},
                            code="nothing_available")
    batch = PayoutBatch.objects.create(period=f"manual-{uuid.uuid4().hex[:12]}", created_by=actor)
    _pay_chunk(batch, [shop.pk], Decimal("0.01"), now)
    return Payout.objects.get(batch=batch, shop=shop)


def _move_payout(payout: Payout, target: str) -> None:
    if target not in PAYOUT_TRANSITIONS.get(payout.status, set()):
        raise ConflictError(_("Payout %(number)s is “%(status)s” already; it cannot become “%(target)s”.")
                            % {"number": payout.number, "status": payout.get_status_display(),
                               "target": PS(target).label}, code="illegal_transition")
    payout.status = target


def _payout_link(payout: Payout) -> str:
    return reverse("ledger:payout", args=[payout.pk])


@transaction.atomic
def mark_payout_paid(*, payout: Payout, actor: User, reference: str) -> Payout:
    """The bank confirmed the transfer: the payout is paid (once; a second time is a 409)."""
    _require_staff(actor)
    reference = (reference or "").strip()
    if not reference or len(reference) > 80:
        raise ValidationError({"reference": [_("Enter the bank's reference for the transfer (up to 80 characters).")]})
    payout = Payout.objects.select_for_update().select_related("shop").get(pk=payout.pk)
    _move_payout(payout, PS.PAID)
    payout.reference, payout.paid_at = reference, timezone.now()
    payout.save(update_fields=["status", "reference", "paid_at"])
    post(kind=E.PAYOUT_PAID, key=f"payout:{payout.pk}:paid", shop_id=payout.shop_id, payout=payout,
         created_by=actor, memo=gettext_noop("Paid, bank reference %(reference)s"),
         memo_params={"reference": reference},
         lines=[(shop_account(payout.shop_id, "payouts"), payout.amount), (BANK, -payout.amount)])
    params = {"number": payout.number, "amount": payout.amount, "last4": payout.account_last4}
    _tell_managers([payout.shop_id], kind="payout_paid", link=_payout_link(payout), dedupe=f"payout_paid:{payout.pk}",
                   subject=Phrase(gettext_noop("Payout %(number)s is paid"), params),
                   body=Phrase(gettext_noop("¥%(amount)s was sent to your account ending %(last4)s."), params))
    signals.payout_paid.send(sender=Payout, payout=payout)
    return payout


@transaction.atomic
def mark_payout_failed(*, payout: Payout, actor: User, reason: str) -> Payout:
    """The bank returned the transfer: the money is the shop's (available) again for the next payout."""
    _require_staff(actor)
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise ValidationError({"reason": [_("Say why the transfer failed (up to 200 characters).")]})
    payout = Payout.objects.select_for_update().select_related("shop").get(pk=payout.pk)
    _move_payout(payout, PS.FAILED)
    payout.failure_reason, payout.failed_at = reason, timezone.now()
    payout.save(update_fields=["status", "failure_reason", "failed_at"])
    post(kind=E.PAYOUT_FAILED, key=f"payout:{payout.pk}:failed", shop_id=payout.shop_id, payout=payout,
         created_by=actor, memo=gettext_noop("Transfer failed: %(reason)s"), memo_params={"reason": reason},
         lines=[(shop_account(payout.shop_id, "payouts"), payout.amount),
                (shop_account(payout.shop_id, "available"), -payout.amount)])
    params = {"number": payout.number, "amount": payout.amount, "reason": reason}
    _tell_managers([payout.shop_id], kind="payout_failed", link=_payout_link(payout),
                   dedupe=f"payout_failed:{payout.pk}",
                   subject=Phrase(gettext_noop("Payout %(number)s failed"), params),
                   body=Phrase(gettext_noop("The bank returned ¥%(amount)s: %(reason)s. The money is back in your "
                                            "balance; please check your payout account."), params))
    return payout


# --- Adjustments ------------------------------------------------------------------------------------------------------

DIRECTIONS = ("credit", "debit")


@transaction.atomic
def adjust_balance(*, shop: Shop, actor: User, amount, reason: str, direction: str = "credit") -> JournalEntry:
    """Staff correct a shop's available balance with a reason: a credit (the shop is owed more) or a debit."""
    _require_staff(actor)
    errors = {}
    try:
        amount = _money(amount, "amount")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        errors["reason"] = [_("Give the reason for the adjustment (up to 200 characters).")]
    if direction not in DIRECTIONS:
        errors["direction"] = [_("Choose credit or debit.")]
    if errors:
        raise ValidationError(errors)
    signed = amount if direction == "credit" else -amount
    return post(kind=E.ADJUSTMENT, key=f"adjustment:{uuid.uuid4().hex}", shop_id=shop.pk, created_by=actor,
                memo=reason, lines=[(ADJUSTMENTS, signed), (shop_account(shop.pk, "available"), -signed)])


# --- Stations' cash ---------------------------------------------------------------------------------------------------

def station_of_agent(agent: User) -> Station:
    station = (Station.objects.filter(agents__user=agent, agents__active=True).first()
               if agent.is_authenticated else None)
    if station is None:
        raise PermissionDenied(_("Only an agent of a station handles its cash."))
    return station


def drawer_balance(station: Station) -> Decimal:
    from django.db.models import Sum

    total = JournalLine.objects.filter(account__code=station_cash(station.pk)).aggregate(s=Sum("amount"))["s"]
    return to_fen(total or ZERO)  # SQLite sums decimals as floats


def pending_remittances(station: Station) -> Decimal:
    from django.db.models import Sum

    return to_fen(CashRemittance.objects.filter(station=station, status=CashRemittance.Status.PENDING)
                  .aggregate(s=Sum("amount"))["s"] or ZERO)


@transaction.atomic
def remit_cash(*, agent: User, amount) -> CashRemittance:
    """The agent hands cash to Farmgate; it stays in the drawer's books until staff confirm they received it."""
    station = station_of_agent(agent)
    amount = _money(amount, "amount")
    Station.objects.select_for_update().filter(pk=station.pk).first()
    held = drawer_balance(station) - pending_remittances(station)
    if amount > held:
        raise ConflictError(_("The station holds ¥%(held)s not yet handed over; you cannot remit ¥%(amount)s.")
                            % {"held": held, "amount": amount}, code="more_than_held")
    return CashRemittance.objects.create(station=station, agent=agent, amount=amount)


@transaction.atomic
def confirm_remittance(*, remittance: CashRemittance, actor: User) -> CashRemittance:
    """Staff received the cash: it leaves the station's drawer for the platform's bank. A repeat is a 409."""
    _require_staff(actor)
    remittance = CashRemittance.objects.select_for_update().get(pk=remittance.pk)
    if remittance.status != CashRemittance.Status.PENDING:
        raise ConflictError(_("This remittance is confirmed already."), code="already_confirmed")
    remittance.status, remittance.confirmed_at, remittance.confirmed_by = (
        CashRemittance.Status.CONFIRMED, timezone.now(), actor)
    remittance.save(update_fields=["status", "confirmed_at", "confirmed_by"])
    post(kind=E.REMITTANCE, key=f"remittance:{remittance.pk}", created_by=actor,
         memo=gettext_noop("Cash remitted by %(station)s"), memo_params={"station": remittance.station.name},
         lines=[(BANK, remittance.amount), (station_cash(remittance.station_id), -remittance.amount)])
    return remittance


@transaction.atomic
def record_cash_count(*, agent: User, counted, note: str = "") -> CashCount:
    """The agent's end-of-day count: the difference from what the books expect is recorded for staff."""
    station = station_of_agent(agent)
    counted = _money(counted, "counted", positive=False)
    if counted < 0:
        raise ValidationError({"counted": [_("Enter the cash you counted (zero or more).")]})
    expected = drawer_balance(station) - pending_remittances(station)
    return CashCount.objects.create(station=station, agent=agent, expected=expected, counted=counted,
                                    difference=counted - expected, note=(note or "").strip()[:200])


# --- Commission rules -------------------------------------------------------------------------------------------------

@transaction.atomic
def set_commission_rule(*, actor: User, rate, valid_from: datetime, shop: Shop | None = None, category=None):
    """Staff set a shop's or a category's rate from a date on (never before now: past sales keep theirs)."""
    from .models import CommissionRule

    _require_staff(actor)
    try:
        rate = Decimal(str(rate))
    except (InvalidOperation, ValueError):
        raise ValidationError({"rate": [_("Enter a rate such as 0.05 for 5%.")]})
    if not rate.is_finite() or not Decimal("0") <= rate <= Decimal("1"):
        raise ValidationError({"rate": [_("Enter a rate from 0 to 1 (0.05 is 5%).")]})
    if (shop is None) == (category is None):
        raise ValidationError({"shop": [_("Choose a shop or a category.")]})
    if valid_from < timezone.now() - timedelta(minutes=5):
        raise ValidationError({"valid_from": [_("A new rate starts now or later; past sales keep their rate.")]})
    return CommissionRule.objects.create(shop=shop, category=category, rate=rate, valid_from=valid_from,
                                         created_by=actor)


