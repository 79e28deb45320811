"""The buyer's pre-orders: place, capture at hand-over, release (cancelled, failed harvest, unpaid)."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Address, User
from core.errors import ConflictError
from orders import services as order_services
from orders.models import Order, Payment, SavedCard
from orders.payments import cards, intents, refunds
from shops.cache import product_page_changed

from .. import stripe_holds
from ..models import (
    PreOrder,
    PreSale,
)
from ..states import move_preorder
from .common import (
    MAX_QUANTITY,
    OS,
    PS,
    RELEASABLE_PARTS,
    SHIPPED_PARTS,
    SS,
    _cancel_parts,
    _check_address,
    _check_min_order,
    _check_product_on_sale,
    _close_order,
    _new_order,
    _notify,
    _notify_managers,
    _release_parts_to_shop,
    _require_manager,
    _whole,
    log,
)
from .holds import _sync_preorder, _tell_shop_about_preorder, refresh_payment

# --- Pre-orders: the buyer -----------------------------------------------------------------------------------------

def _presale_problem(presale: PreSale) -> str:
    if presale.is_cancelled:
        return _("This pre-sale was cancelled: %(reason)s") % {"reason": presale.cancel_reason}
    if not presale.is_open:
        return _("This pre-sale is not taking orders right now.")
    if presale.harvest_end < timezone.localdate():
        return _("This harvest is over.")
    return ""


def is_long_presale(presale: PreSale, today=None) -> bool:
    """The harvest starts more than LONG_PRESALE_DAYS away: a card authorisation would lapse before it ships."""
    today = today or timezone.localdate()
    return (presale.harvest_start - today).days > settings.LONG_PRESALE_DAYS


def _check_saved_card(buyer: User, saved_card: SavedCard | None) -> None:
    if saved_card is None or saved_card.buyer_id != buyer.pk or not saved_card.is_usable:
        raise ValidationError({"saved_card": [_("Choose one of your saved cards (save one on your saved cards "
                                                "page).")]})


@transaction.atomic
def place_preorder(*, buyer: User, presale: PreSale, address: Address | None, quantity, payment: str,
                   saved_card: SavedCard | None = None) -> PreOrder:
    """Order units of a coming harvest now. Capacity is taken last, with one conditional UPDATE (race-free).

    `payment`: "card" (authorised now on the card, charged when the farm ships: open the hold next),
    "online" (Alipay or WeChat Pay, which cannot be authorised for later: paid in full now on the order's pay
    page) or "cod" (cash on delivery). An order not authorised or paid within ORDER_RESERVATION_MINUTES gives
    its units back.
    """
    _check_address(buyer, address)
    quantity = _whole(quantity, "quantity", 1, MAX_QUANTITY)
    if payment not in PreOrder.Payment.values:
        raise ValidationError({"payment": [_("Choose how to pay.")]})
    online = payment in (PreOrder.Payment.CARD, PreOrder.Payment.ONLINE, PreOrder.Payment.SAVED_CARD)
    if online and not intents.card_payments_enabled():
        raise ValidationError({"payment": [_("Online payment is not available right now. Please choose cash on "
                                             "delivery.")]})
    presale = PreSale.objects.select_related("product__shop__village").get(pk=presale.pk)
    product = presale.product
    if payment == PreOrder.Payment.CARD and is_long_presale(presale):
        raise ValidationError({"payment": [_("This harvest is more than %(days)d days away, longer than a card can "
                                             "be held: choose a saved card (charged when the farm ships), Alipay "
                                             "or WeChat Pay, or cash on delivery.") % {
                                                 "days": settings.LONG_PRESALE_DAYS}]})
    saved = payment == PreOrder.Payment.SAVED_CARD
    if saved:
        _check_saved_card(buyer, saved_card)
    _check_min_order(product, quantity)
    problem = _presale_problem(presale)
    if problem:
        raise ConflictError(problem, code="presale_closed")
    _check_product_on_sale(product)

    now = timezone.now()
    order = _new_order(buyer=buyer, address=address, product=product, quantity=quantity, unit_price=presale.price,
                       payment_method=Order.PaymentMethod.STRIPE if online else Order.PaymentMethod.COD,
                       origin=Order.Origin.PRESALE)
    # A saved card holds the pre-order at once (charged while the buyer is away when the farm ships).
    preorder = PreOrder.objects.create(
        presale=presale, order=order, buyer=buyer, quantity=quantity, unit_price=presale.price, payment=payment,
        saved_card=saved_card if saved else None,
        status=PS.AUTHORISED if saved else PS.PENDING if online else PS.CASH,
        pay_by=now + timedelta(minutes=settings.ORDER_RESERVATION_MINUTES) if online and not saved else None)
    if saved:
        _release_parts_to_shop(list(order.shop_orders.select_for_update().order_by("id")))

    params = {"number": order.number, "product": product.title, "total": order.total,
              "start": presale.harvest_start, "end": presale.harvest_end,
              "minutes": settings.ORDER_RESERVATION_MINUTES}
    link = preorder.get_absolute_url()
    bodies = {
        PreOrder.Payment.CARD: gettext_lazy(
            "Pre-order %(number)s for %(product)s (harvest %(start)s to %(end)s): ¥%(total)s. Please authorise your "
            "card within %(minutes)d minutes; it is charged only when the farm ships."),
        PreOrder.Payment.ONLINE: gettext_lazy(
            "Pre-order %(number)s for %(product)s (harvest %(start)s to %(end)s): ¥%(total)s. Please pay within "
            "%(minutes)d minutes; if the harvest fails you are refunded in full."),
        PreOrder.Payment.COD: gettext_lazy(
            "Pre-order %(number)s for %(product)s (harvest %(start)s to %(end)s): ¥%(total)s, paid in cash on "
            "delivery."),
        PreOrder.Payment.SAVED_CARD: gettext_lazy(
            "Pre-order %(number)s for %(product)s (harvest %(start)s to %(end)s): ¥%(total)s, charged to your saved "
            "card when the farm ships."),
    }
    _notify(recipient=buyer, kind="presale_order_placed", link=link, params=params,
            subject=gettext_lazy("Pre-order %(number)s received"), body=bodies[payment],
            dedupe_key=f"presale_order_placed:{preorder.pk}")
    if not online or saved:
        _tell_shop_about_preorder(preorder, order)

    # Capacity last: the pre-sale row stays locked from this UPDATE to commit, so keep that short.
    taken = PreSale.objects.filter(pk=presale.pk, is_open=True, cancelled_at__isnull=True,
                                   units_sold__lte=F("capacity") - quantity).update(
        units_sold=F("units_sold") + quantity, updated_at=now)
    if not taken:
        left = PreSale.objects.filter(pk=presale.pk).values_list(F("capacity") - F("units_sold"), flat=True).first()
        if not left or left <= 0:
            message = _("Sorry, this pre-sale has just sold out.")
        else:
            message = _("Only %(left)d %(unit)s are left in this pre-sale.") % {"left": left,
                                                                               "unit": product.get_unit_display()}
        raise ConflictError(message, code="sold_out")
    product_page_changed(product.pk)  # the units left
    return preorder


# --- Capture, release ----------------------------------------------------------------------------------------------

def capture_presale_order(*, order: Order) -> PreOrder:
    """Charge a card pre-order once its farm has shipped it (the ShopOrder handed over). Idempotent.

    Called by the `presales.capture_presale_order` task, which logistics' hand-over triggers through its
    tracking_events_recorded signal. If the authorisation is gone (released, or lapsed at the card network),
    the pre-order becomes "payment due": the buyer is asked to pay on the order's pay page and the farm is told.
    """
    preorder = PreOrder.objects.filter(order_id=order.pk).select_related("order", "presale__product").first()
    if preorder is None:
        raise ConflictError(_("This order is not a pre-order."), code="not_a_preorder")
    if preorder.status != PS.AUTHORISED:
        return preorder
    order = preorder.order
    if not order.shop_orders.filter(status__in=SHIPPED_PARTS).exists():
        raise ConflictError(_("Pre-order %(number)s has not been shipped yet.") % {"number": order.number},
                            code="not_shipped")
    if preorder.payment == PreOrder.Payment.SAVED_CARD:
        status = cards.charge_saved_card(order=order, card=preorder.saved_card, purpose="presale")
    else:
        payment = stripe_holds.held_payment(order)
        status = stripe_holds.capture(payment=payment) if payment is not None else Payment.Status.CANCELLED
    if status == Payment.Status.SUCCEEDED:
        _sync_preorder(preorder.pk)
    else:
        _payment_due(preorder)
    preorder.refresh_from_db()
    return preorder


@transaction.atomic
def _payment_due(preorder: PreOrder) -> None:
    Order.objects.select_for_update().filter(pk=preorder.order_id).first()
    preorder = PreOrder.objects.select_for_update().select_related("order__buyer", "presale__product").get(
        pk=preorder.pk)
    if preorder.status != PS.AUTHORISED:
        return
    move_preorder(preorder, PS.PAYMENT_DUE)
    preorder.save(update_fields=["status", "updated_at"])
    order = preorder.order
    params = {"number": order.number, "total": order.total, "product": preorder.presale.product.title}
    _notify(recipient=order.buyer, kind="presale_payment_due", link=reverse("orders:pay", args=[order.number]),
            params=params, subject=gettext_lazy("Please pay for pre-order %(number)s"),
            body=gettext_lazy("Your %(product)s is on its way, but the reservation on your card has lapsed, so "
                              "the charge of ¥%(total)s did not go through. Please pay on the order's page."),
            dedupe_key=f"presale_payment_due:{preorder.pk}")
    _notify_managers(preorder.presale.product.shop_id, kind="presale_payment_due_shop", params=params,
                     subject=gettext_lazy("Pre-order %(number)s: card charge failed"),
                     body=gettext_lazy("The card reservation for pre-order %(number)s (¥%(total)s) had lapsed when "
                                       "you shipped it. The buyer has been asked to pay online."),
                     dedupe_key=f"presale_payment_due_shop:{preorder.pk}")


def release_preorder(*, preorder: PreOrder, reason: str) -> PreOrder:
    """Cancel a pre-order that has not left the farm: its card authorisation is released (or an up-front payment
    refunded), its order cancelled, its units given back to the pre-sale, and the buyer told. Idempotent.

    Stripe first (its calls cannot be rolled back; each is idempotent here), then one transaction for the rows.
    """
    preorder = PreOrder.objects.select_related("order").get(pk=preorder.pk)
    if not preorder.is_live:
        return preorder
    order = preorder.order
    parts = list(order.shop_orders.all())
    if any(so.status not in RELEASABLE_PARTS | {SS.CANCELLED} for so in parts):
        raise ConflictError(_("Pre-order %(number)s has already left the farm, so it can no longer be cancelled.")
                            % {"number": order.number}, code="already_shipped")
    if order.payments.filter(provider=Payment.Provider.STRIPE).exists():
        stripe_holds.release(order=order)
    return _release_preorder_rows(preorder.pk, reason)


@transaction.atomic
def _release_preorder_rows(preorder_pk: int, reason: str) -> PreOrder:
    preorder = PreOrder.objects.get(pk=preorder_pk)
    order = Order.objects.select_for_update().select_related("buyer").get(pk=preorder.order_id)
    parts = list(order.shop_orders.select_for_update().order_by("id"))
    preorder = PreOrder.objects.select_for_update().select_related("presale__product").get(pk=preorder_pk)
    if not preorder.is_live:
        return preorder
    if any(so.status not in RELEASABLE_PARTS | {SS.CANCELLED} for so in parts):
        raise ConflictError(_("Pre-order %(number)s has already left the farm, so it can no longer be cancelled.")
                            % {"number": order.number}, code="already_shipped")
    now = timezone.now()
    shop_was_told = any(so.status != SS.AWAITING_PAYMENT for so in parts)
    _cancel_parts(parts, reason, now)
    refunded = Decimal("0.00")
    if order.status in (OS.PAID, OS.COMPLETED):
        for so in parts:
            refund = refunds.refund_shop_order(shop_order=so, reason=reason)
            if refund is not None:
                refunded += refund.amount
    _close_order(order, reason, now)
    PreSale.objects.filter(pk=preorder.presale_id).update(units_sold=F("units_sold") - preorder.quantity,
                                                          updated_at=now)
    was_held = preorder.status == PS.AUTHORISED
    move_preorder(preorder, PS.CANCELLED)
    preorder.cancelled_at, preorder.cancel_reason, preorder.pay_by = now, reason[:200], None
    preorder.save(update_fields=["status", "cancelled_at", "cancel_reason", "pay_by", "updated_at"])

    product = preorder.presale.product
    params = {"number": order.number, "product": product.title, "reason": reason, "total": order.total,
              "refunded": refunded}
    if refunded:
        body = gettext_lazy("Pre-order %(number)s for %(product)s is cancelled: %(reason)s. ¥%(refunded)s is "
                            "refunded to the way you paid.")
    elif was_held:
        body = gettext_lazy("Pre-order %(number)s for %(product)s is cancelled: %(reason)s. The ¥%(total)s reserved "
                            "on your card is released; you are not charged.")
    else:
        body = gettext_lazy("Pre-order %(number)s for %(product)s is cancelled: %(reason)s.")
    _notify(recipient=order.buyer, kind="presale_order_cancelled", link=preorder.get_absolute_url(), params=params,
            subject=gettext_lazy("Pre-order %(number)s is cancelled"), body=body,
            dedupe_key=f"presale_order_cancelled:{preorder.pk}")
    if shop_was_told:
        _notify_managers(product.shop_id, kind="presale_order_cancelled_shop", params=params,
                         subject=gettext_lazy("Pre-order %(number)s is cancelled"),
                         body=gettext_lazy("Pre-order %(number)s for %(product)s is cancelled: %(reason)s. Nothing "
                                           "needs to be sent."),
                         dedupe_key=f"presale_order_cancelled_shop:{preorder.pk}")
    product_page_changed(product.pk)  # the units left
    return preorder


def cancel_preorder(*, preorder: PreOrder, actor: User, reason: str = "") -> PreOrder:
    """The buyer cancels, possible until the farm accepts the order (as for any order)."""
    if preorder.buyer_id != actor.pk:
        raise PermissionDenied(_("This is not your order."))
    if not preorder.is_live:
        raise ConflictError(_("This pre-order is already cancelled."), code="already_cancelled")
    if preorder.order.shop_orders.exclude(status__in=order_services.BUYER_CANCELLABLE).exists():
        raise ConflictError(_("The farm has already started on this pre-order, so it can no longer be cancelled. "
                              "Please contact the farm."), code="already_accepted")
    reason = (reason or "").strip()[:200] or _("Cancelled by the buyer.")
    return release_preorder(preorder=preorder, reason=reason)


def seller_cancel_preorder(*, preorder: PreOrder, actor: User, reason: str) -> PreOrder:
    """The farm cancels one pre-order (until it ships), telling the buyer why."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Tell the buyer why you cancel.")]})
    if len(reason) > 200:
        raise ValidationError({"reason": [_("Keep the reason under 200 characters.")]})
    _require_manager(actor, preorder.presale.product.shop)
    if not preorder.is_live:
        raise ConflictError(_("This pre-order is already cancelled."), code="already_cancelled")
    return release_preorder(preorder=preorder, reason=reason)


def release_for_failed_harvest(*, preorder: PreOrder) -> PreOrder:
    """Task body after cancel_presale: release one buyer, with the farm's reason."""
    preorder = PreOrder.objects.select_related("presale").get(pk=preorder.pk)
    if not preorder.presale.is_cancelled:
        return preorder
    reason = _("The harvest failed: %(reason)s") % {"reason": preorder.presale.cancel_reason}
    return release_preorder(preorder=preorder, reason=reason)


def release_unpaid_preorders(*, now=None, limit: int = 200) -> int:
    """Beat: give back the units of pre-orders not authorised or paid in time, and finish releasing the buyers of
    cancelled pre-sales whose task was lost. Stripe is asked first, so an authorisation that did arrive is kept."""
    now = now or timezone.now()
    released = 0
    due = list(PreOrder.objects.filter(status=PS.PENDING, pay_by__lte=now).order_by("pay_by", "id")
               .values_list("pk", flat=True)[:limit])
    stale = list(PreOrder.objects.filter(status__in=PreOrder.LIVE, presale__cancelled_at__lte=now - timedelta(
        minutes=5)).exclude(order__shop_orders__status__in=SHIPPED_PARTS).order_by("id")
        .values_list("pk", flat=True)[:limit])
    for pk in dict.fromkeys(due + stale):
        preorder = PreOrder.objects.select_related("order", "presale").get(pk=pk)
        try:
            if pk in due:
                refresh_payment(order=preorder.order)
                preorder.refresh_from_db(fields=["status"])
                if preorder.status != PS.PENDING:
                    continue
                release_preorder(preorder=preorder, reason=_("The time to pay ran out."))
            else:
                release_for_failed_harvest(preorder=preorder)
        except ConflictError as exc:  # Stripe unreachable (retried next run), or shipped meanwhile
            log.warning("Pre-order %s not released now: %s", pk, exc.message)
            continue
        released += 1
    return released


