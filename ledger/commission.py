"""Commission: which rate applies to a sale, and how much it comes to.

The rate of a line is the one valid when its order is paid, looked up in this order:
1. the shop's own rule (staff set it for a negotiated deal), the latest with valid_from <= that time;
2. the rule of the product's category, else of its parent category, likewise;
3. settings.COMMISSION_RATE (default 0.05).
The commission of a shop's part is sum(line total x line rate) over its lines, on goods only (never on shipping),
rounded once to the fen with ledger.money.to_fen (half up). It is fixed on the Earning when booked: a rule made
later never changes a past sale.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from orders.models import ShopOrder
from shops.models import Shop

from .models import CommissionRule
from .money import ZERO, to_fen


def default_rate() -> Decimal:
    return Decimal(str(settings.COMMISSION_RATE))


def _rules(shop_id: int, category_ids: set[int], at: datetime) -> tuple[Decimal | None, dict[int, Decimal]]:
    shop_rate = None
    by_category: dict[int, Decimal] = {}
    for rule in (CommissionRule.objects.filter(Q(shop_id=shop_id) | Q(category_id__in=category_ids),
                                               valid_from__lte=at).order_by("-valid_from", "-id")):
        if rule.shop_id and shop_rate is None:
            shop_rate = rule.rate
        elif rule.category_id and rule.category_id not in by_category:
            by_category[rule.category_id] = rule.rate
    return shop_rate, by_category


def shop_rate(shop: Shop, *, at: datetime | None = None) -> Decimal:
    """The rate a shop's sales get now (its own rule, else the default): what the balance page shows."""
    at = at or timezone.now()
    rule = (CommissionRule.objects.filter(shop=shop, valid_from__lte=at).order_by("-valid_from", "-id")
            .values_list("rate", flat=True).first())
    return rule if rule is not None else default_rate()


def commission_of(shop_order: ShopOrder, *, at: datetime) -> Decimal:
    """The commission on a part's goods at the rates valid at `at` (two queries)."""
    lines = list(shop_order.lines.select_related("product__category"))
    categories = {}
    for line in lines:
        category = line.product.category if line.product_id else None
        categories[line.pk] = [c for c in (category.pk if category else None,
                                           category.parent_id if category else None) if c]
    own, by_category = _rules(shop_order.shop_id, {c for cs in categories.values() for c in cs}, at)
    total = ZERO
    for line in lines:
        rate = own
        if rate is None:
            rate = next((by_category[c] for c in categories[line.pk] if c in by_category), default_rate())
        total += line.line_total * rate
    return to_fen(total)
