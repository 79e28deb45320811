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
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from core.errors import ConflictError

from .cache import stock_band_changed
from .models import STOCK_SOLD_OUT, Product, stock_band

IN_STOCK = Q(stock__gte=F("min_order"))
CERTIFIED = Q(organic=True) | Q(green_food=True) | Q(geographical_indication=True)


def in_stock(queryset: QuerySet[Product], value: bool = True) -> QuerySet[Product]:
    """Products with at least one minimum order left (or, with value=False, those without)."""
    return queryset.filter(IN_STOCK) if value else queryset.exclude(IN_STOCK)


def certified(queryset: QuerySet[Product], value: bool = True) -> QuerySet[Product]:
    """Products with an organic, green food or geographical indication mark (or without any)."""
    return queryset.filter(CERTIFIED) if value else queryset.exclude(CERTIFIED)


def orderable(queryset: QuerySet[Product] | None = None) -> QuerySet[Product]:
    """Products a buyer can order now: on sale, in an open shop, at least one minimum order left."""
    queryset = Product.objects.all() if queryset is None else queryset
    return queryset.filter(IN_STOCK, is_active=True, shop__is_open=True)


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
