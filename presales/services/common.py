"""What every pre-sale and group write shares: constants, checks, the order it makes, notices, hand-offs to Celery."""
from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation

from celery import current_app
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Address, User
from core.errors import ConflictError
from core.money import quantize
from notifications.services import Phrase, notify
from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import Order, ShopOrder
from shops.models import Product
from shops.selectors import can_manage_shop

from .. import stripe_holds
from ..models import (
    GroupMember,
    PreOrder,
)

log = logging.getLogger(__name__)

OS = Order.Status
SS = ShopOrder.Status
PS = PreOrder.Status
MS = GroupMember.Status
MAX_QUANTITY = order_services.MAX_QUANTITY
MIN_PRICE, MAX_PRICE = Decimal("0.01"), Decimal("100000")
# The farm may name a harvest up to a year ahead, in a window of up to six months.
MAX_LEAD_DAYS = 366
MAX_WINDOW_DAYS = 183
# Parts that have not left the farm: a pre-order or group order may still be released.
RELEASABLE_PARTS = {SS.AWAITING_PAYMENT, SS.NEW, SS.ACCEPTED, SS.PACKED}
SHIPPED_PARTS = {SS.HANDED_OVER, SS.IN_TRANSIT, SS.DELIVERED, SS.COMPLETED}


# --- Small helpers ------------------------------------------------------------------------------------------------

def _text(message, params: dict) -> Phrase:
    """A notification text kept as its message id and values: shown in the reader's language."""
    return Phrase(message, params)


def _notify(*, recipient: User, kind: str, subject, body, params: dict, link: str = "",
            dedupe_key: str | None = None) -> None:
    notify(recipient=recipient, kind=kind, subject=_text(subject, params), body=_text(body, params), link=link,
           dedupe_key=dedupe_key)


def _notify_managers(shop_id: int, *, dedupe_key: str | None = None, **kwargs) -> None:
    for person in order_selectors.managers_of_shops({shop_id}).get(shop_id, []):
        _notify(recipient=person, dedupe_key=f"{dedupe_key}:{person.pk}" if dedupe_key else None, **kwargs)


def _enqueue(task_name: str, *args) -> None:
    """Hand work to Celery after commit; a broker outage is logged and the beat sweepers pick the work up.

    The task is named (`presales.<task_name>`), not imported: presales.tasks calls these services, so the
    import points one way. A signature bound to the registered task still runs in-process when tasks are eager.
    """
    def send():
        try:
            current_app.signature(f"presales.{task_name}", args=args).delay()
        except Exception:
            log.exception("Could not enqueue %s%r; the sweeper will retry it", task_name, args)

    transaction.on_commit(send)


def _require_manager(actor: User, shop) -> None:
    if not can_manage_shop(actor, shop):
        raise PermissionDenied(_("You do not manage this shop."))


def _price(value, field: str) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError({field: [_("Enter an amount such as 12.50.")]})
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise ValidationError({field: [_("Enter an amount with at most two decimal places.")]})
    if amount < MIN_PRICE or amount > MAX_PRICE:
        raise ValidationError({field: [_("Enter an amount between ¥0.01 and ¥100000.")]})
    return quantize(amount)


def _whole(value, field: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError({field: [_("Enter a whole number.")]})
    if number < low or number > high:
        raise ValidationError({field: [_("Enter a number between %(low)d and %(high)d.") % {"low": low,
                                                                                          "high": high}]})
    return number


def _check_address(buyer: User, address: Address | None) -> None:
    if address is None or address.user_id != buyer.pk:
        raise ValidationError({"address": [_("Choose one of your delivery addresses.")]})


def _check_product_on_sale(product: Product) -> None:
    if not product.is_active:
        raise ConflictError(_("“%(product)s” is no longer on sale.") % {"product": product.title}, code="not_on_sale")
    if not product.shop.is_open:
        raise ConflictError(_("%(shop)s is not taking orders right now.") % {"shop": product.shop.name},
                            code="shop_closed")


def _check_min_order(product: Product, quantity: int) -> None:
    if quantity < product.min_order:
        raise ValidationError({"quantity": [_("The minimum order of “%(product)s” is %(min)d %(unit)s.") % {
            "product": product.title, "min": product.min_order, "unit": product.get_unit_display()}]})


def _new_order(*, buyer: User, address: Address, product: Product, quantity: int, unit_price: Decimal,
               payment_method: str, origin: str) -> Order:
    """One Order with one ShopOrder and one OrderLine at the given unit price, made by orders' create_order
    (numbered, shipping quoted as at checkout; an online order's part waits for payment).

    The order holds nothing until paid through reserved_until: presales releases it itself (pay_by, hold_until).
    Its origin holds it, so orders' own cancel flows refuse it while it is a pre-order or an unfilled group's.
    """
    return order_services.create_order(buyer=buyer, address=address, payment_method=payment_method,
                                       lines=[(product, quantity, unit_price)], origin=origin)


def _cancel_parts(parts: list[ShopOrder], reason: str, now) -> None:
    order_services.cancel_parts_of_held_order(shop_orders=parts, reason=reason)


def _release_parts_to_shop(parts: list[ShopOrder]) -> list[ShopOrder]:
    return order_services.release_parts_to_shops(shop_orders=parts)


def _close_order(order: Order, reason: str, now) -> None:
    order_services.close_order(order=order, reason=reason)


def _card_holds_required() -> None:
    if not stripe_holds.card_holds_enabled():
        raise ConflictError(_("Group buying needs card payment, which is not available right now."),
                            code="card_payments_off")


