"""The allowed status changes of orders and shop orders, in one place.

Every status change goes through `move_order` / `move_shop_order`: an illegal change raises
ConflictError (HTTP 409 in the API, a message on a page), never a silent write.
"""
from django.utils.translation import gettext as _

from core.errors import ConflictError

from .models import Order, ShopOrder

OS = Order.Status
SS = ShopOrder.Status

ORDER_TRANSITIONS: dict[str, set[str]] = {
    OS.PENDING_PAYMENT: {OS.PAID, OS.CANCELLED},
    # Paid orders end completed when every part is delivered, or cancelled/refunded when every part is.
    OS.PAID: {OS.COMPLETED, OS.CANCELLED, OS.REFUNDED},
    OS.COMPLETED: {OS.REFUNDED},
    OS.CANCELLED: set(),
    OS.REFUNDED: set(),
}

SHOP_ORDER_TRANSITIONS: dict[str, set[str]] = {
    SS.AWAITING_PAYMENT: {SS.NEW, SS.CANCELLED},
    SS.NEW: {SS.ACCEPTED, SS.CANCELLED},
    SS.ACCEPTED: {SS.PACKED, SS.CANCELLED},
    SS.PACKED: {SS.HANDED_OVER, SS.CANCELLED},
    SS.HANDED_OVER: {SS.IN_TRANSIT, SS.DELIVERED},
    SS.IN_TRANSIT: {SS.DELIVERED},
    SS.DELIVERED: {SS.COMPLETED},
    SS.COMPLETED: set(),
    SS.CANCELLED: set(),
}


def can_move(table: dict[str, set[str]], current: str, target: str) -> bool:
    return target in table.get(current, set())


# Predicates for pages and the API: what a row may do next, read from the tables above (templates get these
# as flags and never compare status strings).

def can_move_shop_order(shop_order: ShopOrder, target: str) -> bool:
    return can_move(SHOP_ORDER_TRANSITIONS, shop_order.status, target)


def shop_order_is_final(shop_order: ShopOrder) -> bool:
    """Completed or cancelled: nothing moves this part any more."""
    return not SHOP_ORDER_TRANSITIONS.get(shop_order.status)


def awaits_cash(order: Order) -> bool:
    """A cash-on-delivery order whose cash is not recorded yet: the agent collects it at delivery."""
    return order.payment_method == Order.PaymentMethod.COD and order.status == OS.PENDING_PAYMENT


def move_order(order: Order, target: str) -> None:
    """Set a new status in memory; the caller saves inside its transaction (with the row locked)."""
    if not can_move(ORDER_TRANSITIONS, order.status, target):
        raise ConflictError(
            _("Order %(number)s cannot go from “%(current)s” to “%(target)s”.")
            % {"number": order.number, "current": order.get_status_display(), "target": OS(target).label},
            code="illegal_transition",
        )
    order.status = target


def move_shop_order(shop_order: ShopOrder, target: str) -> None:
    if not can_move(SHOP_ORDER_TRANSITIONS, shop_order.status, target):
        raise ConflictError(
            _("This part of the order cannot go from “%(current)s” to “%(target)s”.")
            % {"current": shop_order.get_status_display(), "target": SS(target).label},
            code="illegal_transition",
        )
    shop_order.status = target


def reopen_for_late_payment(order: Order) -> None:
    """The one way back from “cancelled”: Stripe took the buyer's money after the unpaid online order
    expired, and the stock has been reserved again (orders.payments.outcomes settles it). Nothing else reopens."""
    if order.status != OS.CANCELLED or order.payment_method != Order.PaymentMethod.STRIPE:
        raise ConflictError(_("Only an expired online order can be reopened for its late payment."),
                            code="illegal_transition")
    order.status = OS.PENDING_PAYMENT


def reopen_part_for_late_payment(shop_order: ShopOrder) -> None:
    """The same way back for each cancelled part of that order, after reopen_for_late_payment(order)."""
    if shop_order.status != SS.CANCELLED:
        raise ConflictError(_("Only a cancelled part of a reopened order can wait for its payment again."),
                            code="illegal_transition")
    shop_order.status = SS.AWAITING_PAYMENT
