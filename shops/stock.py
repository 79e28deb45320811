"""Stock: the one module that takes units from a product and gives them back.

Checkout, a payment that arrives after its order expired, group buying and every cancellation
or expiry go through `reserve` and `release`; nothing else in the project writes `Product.stock`
except the seller's own edit (`shops.services.set_price_and_stock`).

Algorithm: one conditional UPDATE per product (`stock >= quantity`), in ascending product id
order. PostgreSQL re-checks the condition on the newest row version after a concurrent writer
commits, so stock never goes below zero, and two reservations that share products always lock
them in the same order, so they never deadlock. A failure raises `ConflictError` naming the
first product that cannot be served; the caller's transaction rolls back whatever it had taken.

Invariant (tests/test_stock_invariants.py): for every product, stock + units held by live orders
= the stock it started with plus what the seller added.

The rules "orderable" (on sale, stock at least one minimum order) and "certified" (organic, green
food or geographical indication) are written here once, as query conditions, and used by the
catalogue filters, search and the product model.

The pre-harvest interval rule is here too, once: a lot is held while a pesticide sprayed on it is
inside its interval (applied on + interval days is still to come), or when it is flagged as harvested
too soon with no dated spraying on record. A held lot is not offered on the product page nor packed,
and a product whose every lot is held cannot be bought (`lot_held`, `lot_holds`, `sale_hold_annotations`,
`orderable`).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from django.db.models import (
    BooleanField,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.errors import ConflictError

from .cache import stock_band_changed
from .models import STOCK_SOLD_OUT, HarvestLot, InputApplication, Product, stock_band

IN_STOCK = Q(stock__gte=F("min_order"))
CERTIFIED = Q(organic=True) | Q(green_food=True) | Q(geographical_indication=True)


def in_stock(queryset: QuerySet[Product], value: bool = True) -> QuerySet[Product]:
    """Products with at least one minimum order left (or, with value=False, those without)."""
    return queryset.filter(IN_STOCK) if value else queryset.exclude(IN_STOCK)


def certified(queryset: QuerySet[Product], value: bool = True) -> QuerySet[Product]:
    """Products with an organic, green food or geographical indication mark (or without any)."""
    return queryset.filter(CERTIFIED) if value else queryset.exclude(CERTIFIED)


# --- Pre-harvest interval ---------------------------------------------------------------------------------------------

class _DaysAfter(Func):
    """A date plus a number of days, as a date: `date + integer` on PostgreSQL, date(d, '+n days') on SQLite."""

    output_field = DateField()
    arity = 2

    def as_sql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="(%(expressions)s)", arg_joiner=" + ", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="date(%(expressions)s || ' days')",
                              arg_joiner=", '+' || ", **extra)


def _sprayings() -> QuerySet[InputApplication]:
    """The lot's pesticide applications that carry an interval (correlated to the outer lot)."""
    return InputApplication.objects.filter(lot=OuterRef("pk"), kind=InputApplication.Kind.PESTICIDE,
                                           pre_harvest_interval_days__isnull=False)


def _running(today: date) -> QuerySet[InputApplication]:
    return (_sprayings().annotate(ends=_DaysAfter("applied_on", "pre_harvest_interval_days"))
            .filter(ends__gt=today))


def _lot_clears_on(today: date) -> Subquery:
    """The day the outer lot's last running interval ends (NULL when none runs)."""
    return Subquery(_running(today).order_by("-ends").values("ends")[:1], output_field=DateField())


def lot_held(today: date | None = None) -> Q:
    """The condition on HarvestLot: inside its pre-harvest interval today (see the module docstring)."""
    today = today or timezone.localdate()
    return Q(Exists(_running(today))) | (Q(phi_violation=True) & ~Q(Exists(_sprayings())))


def cleared_lots(queryset: QuerySet[HarvestLot], today: date | None = None) -> QuerySet[HarvestLot]:
    """The lots that may be offered and packed: those not held by a pre-harvest interval."""
    return queryset.exclude(lot_held(today))


def _phi_blocked(product: str = "pk", today: date | None = None) -> Q:
    """The condition on a row reaching a product through `product`: the product has lots and all are held."""
    lots = HarvestLot.objects.filter(product=OuterRef(product))
    return Q(Exists(lots)) & ~Q(Exists(lots.exclude(lot_held(today))))


@dataclass(frozen=True)
class HeldLot:
    pk: int
    code: str
    until: date | None  # the day its interval ends; None when no dated spraying explains the hold

    @property
    def message(self) -> str:
        """Why the lot cannot be offered or packed, in the reader's language."""
        if self.until is None:
            return _("Lot %(lot)s was harvested too soon after spraying and cannot be sold.") % {"lot": self.code}
        return _("Lot %(lot)s is inside its pre-harvest interval until %(date)s.") % {
            "lot": self.code, "date": date_format(self.until, "SHORT_DATE_FORMAT")}


@dataclass
class LotHolds:
    """One product's lots under the rule: those held (with their dates) and how many are cleared."""

    held: list[HeldLot] = field(default_factory=list)
    cleared: int = 0

    @property
    def blocks_sale(self) -> bool:
        return bool(self.held) and not self.cleared

    @property
    def until(self) -> date | None:
        """The first day a held lot clears (None when one never clears by waiting)."""
        dates = [lot.until for lot in self.held if lot.until is not None]
        return min(dates) if dates else None


@dataclass(frozen=True)
class SaleHold:
    """A product under the rule, read from `sale_hold_annotations` on a row (no query of its own)."""

    blocks_sale: bool
    until: date | None


def sale_hold_annotations(product: str = "pk", today: date | None = None) -> dict:
    """Annotations `phi_blocked` and `phi_clears_on` for rows that reach a product through `product` (a field
    path such as "product", or "pk" on Product itself): the rule joins the row's own query, no extra one."""
    today = today or timezone.localdate()
    clears_on = (HarvestLot.objects.filter(product=OuterRef(product)).annotate(ends=_lot_clears_on(today))
                 .filter(ends__isnull=False).order_by("ends").values("ends")[:1])
    return {
        "phi_blocked": ExpressionWrapper(_phi_blocked(product, today), output_field=BooleanField()),
        "phi_clears_on": Subquery(clears_on, output_field=DateField()),
    }


def sale_hold_of(row) -> SaleHold:
    """The SaleHold of a row annotated with `sale_hold_annotations`."""
    return SaleHold(blocks_sale=bool(row.phi_blocked), until=row.phi_clears_on)


def lot_holds(product_ids: Iterable[int], today: date | None = None) -> dict[int, LotHolds]:
    """Product id -> its lots under the pre-harvest rule, for products that have lots. One query."""
    today = today or timezone.localdate()
    ids = [pk for pk in set(product_ids) if pk]
    holds: dict[int, LotHolds] = {}
    if not ids:
        return holds
    rows = (HarvestLot.objects.filter(product_id__in=ids)
            .annotate(held=ExpressionWrapper(lot_held(today), output_field=BooleanField()),
                      held_until=_lot_clears_on(today))
            .order_by("-harvested_on", "-id").values_list("product_id", "pk", "code", "held", "held_until"))
    for product_id, pk, code, held, until in rows:
        entry = holds.setdefault(product_id, LotHolds())
        if held:
            entry.held.append(HeldLot(pk=pk, code=code, until=until))
        else:
            entry.cleared += 1
    return holds


def phi_problem(product: Product, holds: LotHolds | SaleHold | None) -> str:
    """Why a product cannot be bought under the pre-harvest rule, in words for the buyer; "" when it can."""
    if holds is None or not holds.blocks_sale:
        return ""
    if holds.until is None:
        return _("“%(product)s” cannot be bought: its harvest lots were picked too soon after spraying. "
                 "Please choose another product.") % {"product": product.title}
    return _("“%(product)s” cannot be bought until %(date)s: every harvest lot is inside its pre-harvest interval "
             "after spraying. Please come back then or choose another product.") % {
        "product": product.title, "date": date_format(holds.until, "SHORT_DATE_FORMAT")}


def orderable(queryset: QuerySet[Product] | None = None) -> QuerySet[Product]:
    """Products a buyer can order now: on sale, in an open shop, at least one minimum order left, and
    not held whole by the pre-harvest interval."""
    queryset = Product.objects.all() if queryset is None else queryset
    return queryset.filter(IN_STOCK, is_active=True, shop__is_open=True).exclude(_phi_blocked())


def _out_of_stock(product_id: int, quantity: int, *, in_cart: bool) -> ConflictError:
    product = Product.objects.filter(pk=product_id).only("title", "unit", "stock").first()
    left = product.stock if product else 0
    title = product.title if product else ""
    if left <= 0:
        message = (_("Sorry, “%(product)s” has just sold out. Please remove it from your cart.") if in_cart
                   else _("Sorry, “%(product)s” has just sold out.")) % {"product": title}
    else:
        params = {"left": left, "unit": product.get_unit_display(), "product": title}
        message = (_("Only %(left)d %(unit)s of “%(product)s” left. Please change the quantity in your cart.")
                   if in_cart else _("Only %(left)d %(unit)s of “%(product)s” left.")) % params
    return ConflictError(message, code="out_of_stock")


def reserve(needed: Mapping[int, int], *, in_cart: bool = True) -> None:
    """Take `needed` (product id -> units) from stock, all or nothing, or raise ConflictError.

    Call inside the transaction that records what the units are held for (an order line).
    `in_cart` words the error for a buyer at the cart; otherwise for a single product page.
    """
    taken_from: list[int] = []
    for product_id in sorted(needed):
        quantity = needed[product_id]
        if quantity <= 0:
            continue
        taken = Product.objects.filter(pk=product_id, is_active=True, stock__gte=quantity).update(
            stock=F("stock") - quantity)
        if not taken:
            raise _out_of_stock(product_id, quantity, in_cart=in_cart)
        taken_from.append(product_id)
    if taken_from:
        _bands_moved({pk: -needed[pk] for pk in taken_from})


def release(returned: Mapping[int, int]) -> None:
    """Give `returned` (product id -> units) back to stock, in product id order."""
    given: dict[int, int] = {}
    for product_id in sorted(returned):
        quantity = returned[product_id]
        if quantity <= 0:
            continue
        Product.objects.filter(pk=product_id).update(stock=F("stock") + quantity)
        given[product_id] = quantity
    if given:
        _bands_moved(given)


def _bands_moved(change: Mapping[int, int]) -> None:
    """After stock moved by `change` (product id -> units, + or -): re-render only what shows a product
    whose stock band (in stock, few left, sold out) changed; a sale within a band leaves every cached page.
    One query for all the products."""
    moved = []
    rows = Product.objects.filter(pk__in=list(change)).values_list("pk", "stock", "min_order", "category_id")
    for pk, stock, min_order, category_id in rows:
        before, after = stock_band(stock - change[pk], min_order), stock_band(stock, min_order)
        if before != after:
            moved.append((pk, category_id, STOCK_SOLD_OUT in (before, after)))
    stock_band_changed(moved)


def units_of(lines: Iterable) -> dict[int, int]:
    """Product id -> units for order lines (anything with product_id and quantity); deleted products skipped."""
    units: dict[int, int] = defaultdict(int)
    for line in lines:
        if line.product_id:
            units[line.product_id] += line.quantity
    return dict(units)


def can_serve(needed: Mapping[int, int]) -> bool:
    """Whether every product is on sale in an open shop with enough stock; locks the rows in id order.

    For a decision that must hold until the caller reserves in the same transaction (a late payment).
    """
    if not needed:
        return False
    locked = (Product.objects.select_for_update(of=("self",)).filter(pk__in=list(needed))
              .select_related("shop").order_by("pk"))
    products = {p.pk: p for p in locked}
    return all(pid in products and products[pid].is_active and products[pid].shop.is_open
               and products[pid].stock >= qty for pid, qty in needed.items())
