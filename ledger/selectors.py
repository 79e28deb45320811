"""Reads for the money pages and the API; the one place that scopes ledger rows to the user."""
from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from shops.models import Shop, ShopMember

from . import services
from .commission import default_rate
from .models import CashRemittance, JournalEntry, Payout, PayoutBatch, ShopBalance, memo_text
from .money import ZERO, to_fen

E = JournalEntry.Kind
# What a seller sees in their entries: the moves of their own money (a release or a confirmed transfer moves
# nothing of theirs).
SELLER_KINDS = (E.SALE, E.COMMISSION, E.REFUND, E.PAYOUT, E.PAYOUT_FAILED, E.ADJUSTMENT)
# What a list of entries shows (pages, API, statements): the rest of an entry (and of its order) stays unread.
ENTRY_FIELDS = ("id", "kind", "created_at", "memo", "memo_params", "shop_id", "shop_amount", "order_id",
                "order__number", "shop_order_id", "payout_id")


def money_shops(user: User) -> QuerySet[Shop]:
    """Shops whose money the user may see: staff any, a farmer those they own or manage."""
    if not user.is_authenticated:
        return Shop.objects.none()
    if user.is_staff:
        return Shop.objects.all()
    # shops.selectors.shops_managed_by's rule (owner, or a manager member), read as two indexed lookups: its one
    # query ORs across a join, which PostgreSQL answers by scanning every shop (9 ms at 10,000 shops).
    ids = set(Shop.objects.filter(owner=user).values_list("pk", flat=True))
    ids |= set(ShopMember.objects.filter(user=user, role=ShopMember.Role.MANAGER).values_list("shop_id", flat=True))
    return Shop.objects.filter(pk__in=sorted(ids))


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


SUMMARY_SQL = """
    SELECT b.pending, b.available, b.scheduled, b.paid_out,
           (SELECT r.rate FROM ledger_commissionrule r WHERE r.shop_id = %(shop)s AND r.valid_from <= %(now)s
            ORDER BY r.valid_from DESC, r.id DESC LIMIT 1),
           EXISTS (SELECT 1 FROM ledger_payoutaccount a WHERE a.shop_id = %(shop)s)
    FROM (SELECT 1) AS one LEFT JOIN ledger_shopbalance b ON b.shop_id = %(shop)s
"""


def money_summary(shop: Shop) -> dict:
    """The balance page's head in one small query (written out: the page's budget is tight, and the ORM takes
    longer to build it than the database to answer): the balances, the shop's commission rate now (the default
    unless a shop rule applies; see ledger.commission) and whether the shop has a payout account."""
    with connection.cursor() as cursor:
        cursor.execute(SUMMARY_SQL, {"shop": shop.pk, "now": timezone.now()})
        pending, available, scheduled, paid_out, rate, has_account = cursor.fetchone()
    # Two places whatever the driver hands back (SQLite answers raw SQL on decimals with floats).
    money = [ZERO if value is None else to_fen(str(value)) for value in (pending, available, scheduled, paid_out)]
    return {"pending": money[0], "available": money[1], "scheduled": money[2], "paid_out": money[3],
            "rate": default_rate() if rate is None else rate, "has_account": bool(has_account)}


def managed_shops_list(user: User, limit: int = 20) -> list[Shop]:
    """The shops of money_shops, by name, in one query (the shop switcher of the balance page)."""
    if not user.is_authenticated:
        return []
    if user.is_staff:
        return list(Shop.objects.only("pk", "slug", "name").order_by("name")[:limit])
    owned = Shop.objects.filter(owner=user).only("pk", "slug", "name").order_by()
    managed = Shop.objects.filter(memberships__user=user, memberships__role=ShopMember.Role.MANAGER).only(
        "pk", "slug", "name").order_by()
    return list(owned.union(managed).order_by("name")[:limit])


def seller_entries(shop: Shop) -> QuerySet[JournalEntry]:
    return (JournalEntry.objects.filter(shop=shop, kind__in=SELLER_KINDS)
            .select_related("order").only(*ENTRY_FIELDS).order_by("-id"))


def latest_entry_rows(shop: Shop, limit: int) -> list[dict]:
    """The newest `limit` entries as plain rows (the balance page: no model instances to build)."""
    rows = list(JournalEntry.objects.filter(shop=shop, kind__in=SELLER_KINDS).order_by("-id")
                .values("id", "kind", "created_at", "memo", "memo_params", "shop_amount", "order_id", "shop_order_id",
                        "order__number")[:limit])
    for row in rows:
        row["memo"] = memo_text(row["memo"], row["memo_params"])  # in the reader's language
    return rows


def payouts_of(shop: Shop) -> QuerySet[Payout]:
    return Payout.objects.filter(shop=shop).select_related("shop").order_by("-created_at", "-id")


def payouts_for(user: User) -> QuerySet[Payout]:
    return Payout.objects.filter(shop__in=money_shops(user)).select_related("shop").order_by("-created_at", "-id")


def statement_entries(payout: Payout) -> QuerySet[JournalEntry]:
    """What a payout paid: the shop's entries since its previous payout, up to this one."""
    previous = (JournalEntry.objects.filter(shop_id=payout.shop_id, kind=E.PAYOUT,
                                            payout__created_at__lt=payout.created_at)
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


def cash_position(station) -> dict:
    """A station's cash: held in the drawer (not yet handed over), handed over and waiting for staff, confirmed."""
    pending = services.pending_remittances(station)
    remitted = (CashRemittance.objects.filter(station=station, status=CashRemittance.Status.CONFIRMED)
                .aggregate(s=Sum("amount"))["s"]) or ZERO
    return {"station": station.pk, "held": services.drawer_balance(station) - pending, "pending": pending,
            "remitted": to_fen(remitted)}
