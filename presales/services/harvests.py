"""The farm's pre-sales of a coming harvest: open, change, cancel (which releases every pre-order)."""
from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import ConflictError
from shops.cache import product_page_changed
from shops.models import Product

from ..models import (
    MAX_CAPACITY,
    PreOrder,
    PreSale,
)
from ..selectors import OFFERS
from .common import MAX_LEAD_DAYS, MAX_WINDOW_DAYS, _enqueue, _price, _require_manager, _whole

# --- Pre-sales: the farm -------------------------------------------------------------------------------------------

def _check_window(harvest_start, harvest_end, errors: dict) -> None:
    today = timezone.localdate()
    if not isinstance(harvest_start, date):
        errors["harvest_start"] = [_("Enter a date.")]
    elif harvest_start <= today:
        errors["harvest_start"] = [_("The harvest must start in the future.")]
    elif (harvest_start - today).days > MAX_LEAD_DAYS:
        errors["harvest_start"] = [_("Open a pre-sale at most a year before the harvest.")]
    if not isinstance(harvest_end, date):
        errors["harvest_end"] = [_("Enter a date.")]
    elif isinstance(harvest_start, date) and harvest_end < harvest_start:
        errors["harvest_end"] = [_("The harvest cannot end before it starts.")]
    elif isinstance(harvest_start, date) and (harvest_end - harvest_start).days > MAX_WINDOW_DAYS:
        errors["harvest_end"] = [_("Keep the harvest window under six months.")]


@transaction.atomic
def create_presale(*, actor: User, product: Product, harvest_start: date, harvest_end: date, capacity: int,
                   price) -> PreSale:
    """Offer a product for a coming harvest: a window in the future, a capacity in sale units, a price."""
    _require_manager(actor, product.shop)
    errors: dict[str, list[str]] = {}
    _check_window(harvest_start, harvest_end, errors)
    values = {}
    for field, check in (("capacity", lambda: _whole(capacity, "capacity", 1, MAX_CAPACITY)),
                         ("price", lambda: _price(price, "price"))):
        try:
            values[field] = check()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if not product.is_active:
        errors["product"] = [_("This product is not on sale.")]
    if errors:
        raise ValidationError(errors)
    presale = PreSale.objects.create(product=product, harvest_start=harvest_start, harvest_end=harvest_end,
                                     **values)
    product_page_changed(product.pk, OFFERS)
    return presale


@transaction.atomic
def update_presale(*, presale: PreSale, actor: User, is_open: bool | None = None, capacity=None,
                   price=None) -> PreSale:
    """Stop or resume taking orders, or change the capacity (never below what is sold) or the price of new orders."""
    presale = PreSale.objects.select_for_update().select_related("product__shop").get(pk=presale.pk)
    _require_manager(actor, presale.product.shop)
    if presale.is_cancelled:
        raise ConflictError(_("This pre-sale was cancelled."), code="presale_cancelled")
    fields = []
    if capacity is not None:
        capacity = _whole(capacity, "capacity", 1, MAX_CAPACITY)
        if capacity < presale.units_sold:
            raise ValidationError({"capacity": [_("%(sold)d units are already sold, so the capacity cannot be lower.")
                                                % {"sold": presale.units_sold}]})
        presale.capacity = capacity
        fields.append("capacity")
    if price is not None:
        presale.price = _price(price, "price")
        fields.append("price")
    if is_open is not None:
        presale.is_open = bool(is_open)
        fields.append("is_open")
    if fields:
        presale.save(update_fields=[*fields, "updated_at"])
        product_page_changed(presale.product_id, OFFERS)
    return presale


@transaction.atomic
def cancel_presale(*, presale: PreSale, actor: User, reason: str) -> PreSale:
    """The harvest failed: close the pre-sale for good; every buyer is released or refunded and told, one
    Celery task per pre-order (release_for_failed_harvest). A second call changes nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Tell your buyers what happened to the harvest.")]})
    if len(reason) > 200:
        raise ValidationError({"reason": [_("Keep the reason under 200 characters.")]})
    presale = PreSale.objects.select_for_update().select_related("product__shop").get(pk=presale.pk)
    _require_manager(actor, presale.product.shop)
    if presale.is_cancelled:
        return presale
    presale.is_open = False
    presale.cancelled_at = timezone.now()
    presale.cancel_reason = reason
    presale.save(update_fields=["is_open", "cancelled_at", "cancel_reason", "updated_at"])
    for pk in presale.preorders.filter(status__in=PreOrder.LIVE).values_list("pk", flat=True):
        _enqueue("release_for_failed_harvest", pk)
    product_page_changed(presale.product_id, OFFERS)
    return presale


