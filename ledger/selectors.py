"""Reads for the money pages and the API; the one place that scopes ledger rows to the user."""
from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from shops.models import Shop
from shops.selectors import shops_managed_by

from .models import CashRemittance, JournalEntry, Payout, PayoutBatch, ShopBalance

E = JournalEntry.Kind
# What a seller sees in their entries: the moves of their own money (a release or a confirmed transfer moves
# nothing of theirs).
SELLER_KINDS = (E.SALE, E.COMMISSION, E.REFUND, E.PAYOUT, E.PAYOUT_FAILED, E.ADJUSTMENT)


def money_shops(user: User) -> QuerySet[Shop]:
    """Shops whose money the user may see: staff any, a farmer those they own or manage."""
    if not user.is_authenticated:
        return Shop.objects.none()
    if user.is_staff:
        return Shop.objects.all()
    return shops_managed_by(user)


def shop_for(user: User, slug: str | None) -> Shop:
    """The shop named by `slug` (or the user's only/first shop); Shop.DoesNotExist when not theirs."""
    shops = money_shops(user)
    if slug:
        return shops.get(slug=slug)
    shop = shops.order_by("pk").first()
    if shop is None:
        raise Shop.DoesNotExist()
    return shop


def balance_of(shop: Shop) -> ShopBalance:
    return ShopBalance.objects.filter(shop=shop).first() or ShopBalance(shop=shop)


def seller_entries(shop: Shop) -> QuerySet[JournalEntry]:
    return (JournalEntry.objects.filter(shop=shop, kind__in=SELLER_KINDS)
            .select_related("order").order_by("-id"))


def payouts_of(shop: Shop) -> QuerySet[Payout]:
    return Payout.objects.filter(shop=shop).select_related("shop").order_by("-created_at", "-id")


def payouts_for(user: User) -> QuerySet[Payout]:
    return Payout.objects.filter(shop__in=money_shops(user)).select_related("shop").order_by("-created_at", "-id")


def statement_entries(payout: Payout) -> QuerySet[JournalEntry]:
    """What a payout paid: the shop's entries since its previous payout, up to this one."""
    previous = (JournalEntry.objects.filter(shop_id=payout.shop_id, kind=E.PAYOUT, payout__created_at__lt=payout.created_at)
                .order_by("-id").values_list("pk", flat=True).first())
    this = (JournalEntry.objects.filter(payout=payout, kind=E.PAYOUT).values_list("pk", flat=True).first())
    qs = seller_entries(payout.shop).filter(pk__lte=this or 0)
    if previous:
        qs = qs.filter(pk__gt=previous)
    return qs.order_by("id")


def batches() -> QuerySet[PayoutBatch]:
    return PayoutBatch.objects.order_by("-created_at", "-id")


def batch_payouts(batch: PayoutBatch) -> QuerySet[Payout]:
    return batch.payouts.select_related("shop").order_by("shop_id")


def remittances_of(station_id: int) -> QuerySet[CashRemittance]:
    return CashRemittance.objects.filter(station_id=station_id).order_by("-created_at", "-id")
