"""Every write of standing orders: keyword-only arguments, one transaction each (the job: one per subscription).

make_standing_orders(day) is what the beat job and `manage.py make_standing_orders` run: for each box whose
cut-off is `day`, each active subscription gets its week's order through orders.services.create_order (stock
reserved in the same transaction, the farm told), recorded in a StandingOrderRun whose unique (subscription,
cut-off date) makes a second run create nothing. A saved card is then charged while the buyer is away
(orders.payments.cards); a decline or a bank asking for authentication leaves the order waiting for payment,
the buyer told with a link to pay it, and it expires as any unpaid order. Without a card: cash on delivery.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.models import Address, User
from core.errors import ConflictError
from core.money import quantize
from notifications.services import Phrase, notify
from orders import services as order_services
from orders.models import Order, Payment, SavedCard
from orders.payments import cards
from shops import stock
from shops.models import Product, Shop
from shops.selectors import can_manage_shop

from . import schedule
from .models import Box, BoxItem, SkippedDelivery, StandingOrderRun, Subscription
from .states import SS, is_live, move_subscription

log = logging.getLogger(__name__)
LIVE = (SS.ACTIVE, SS.PAUSED)
BOX_FIELDS = ("title", "description", "frequency", "cutoff_weekday", "delivery_weekday", "capacity", "is_active",
              "price")


# --- Boxes (the farm) -------------------------------------------------------------------------------------------------

def _require_manager(shop: Shop, actor: User) -> None:
    if not can_manage_shop(actor, shop):
        raise PermissionDenied(_("You do not manage this shop."))


def _check_items(shop: Shop, kind: str, items: list[tuple[Product, int]]) -> None:
    if not items:
        raise ValidationError({"items": [_("Put at least one product in the box.")]})
    if kind == Box.Kind.FARM_CHOICE and len(items) != 1:
        raise ValidationError({"items": [_("A box of the farm's choice is one product: the box you sell.")]})
    seen = set()
    for product, quantity in items:
        if product.shop_id != shop.pk:
            raise ValidationError({"items": [_("“%(title)s” is not a product of this shop.") % {
                "title": product.title}]})
        if product.is_weighed:
            raise ValidationError({"items": [_("“%(title)s” is sold by weight; a box holds products sold by the "
                                               "unit.") % {"title": product.title}]})
        if not 1 <= int(quantity) <= 1000:
            raise ValidationError({"items": [_("Enter a quantity between 1 and 1000.")]})
        if product.pk in seen:
            raise ValidationError({"items": [_("Each product once, please.")]})
        seen.add(product.pk)


def _check_weekdays(cutoff_weekday, delivery_weekday) -> None:
    for name, value in (("cutoff_weekday", cutoff_weekday), ("delivery_weekday", delivery_weekday)):
        if value not in range(7):
            raise ValidationError({name: [_("Choose a day of the week.")]})


@transaction.atomic
def create_box(*, shop: Shop, actor: User, title: str, kind: str = Box.Kind.FIXED,
               items: Iterable[tuple[Product, int]], frequency: str = Box.Frequency.WEEKLY, cutoff_weekday: int,
               delivery_weekday: int, capacity: int, price: Decimal | None = None, description: str = "",
               starts_on: date | None = None) -> Box:
    """A new standing-order box. A fixed set is priced as its items are; the farm's choice at `price`."""
    _require_manager(shop, actor)
    items = [(product, int(quantity)) for product, quantity in items]
    if kind not in Box.Kind.values:
        raise ValidationError({"kind": [_("Choose a fixed set or the farm's choice.")]})
    _check_items(shop, kind, items)
    _check_weekdays(cutoff_weekday, delivery_weekday)
    if kind == Box.Kind.FIXED:
        price = sum((quantize(product.price * quantity) for product, quantity in items), Decimal("0.00"))
    elif price is None:
        raise ValidationError({"price": [_("Enter the price of one box.")]})
    box = Box(shop=shop, title=(title or "").strip(), description=description or "", kind=kind, price=price,
              frequency=frequency, cutoff_weekday=cutoff_weekday, delivery_weekday=delivery_weekday,
              capacity=capacity, starts_on=starts_on or timezone.localdate())
    box.full_clean(exclude=["shop"])
    box.save()
    BoxItem.objects.bulk_create([BoxItem(box=box, product=product, quantity=quantity) for product, quantity in items])
    return box


def live_count(box: Box) -> int:
    return box.subscriptions.filter(status__in=LIVE).count()


@transaction.atomic
def update_box(*, box: Box, actor: User, **fields) -> Box:
    """Change a box: its title, days, capacity (never below the subscribers it has), price (the farm's choice)."""
    box = Box.objects.select_for_update().get(pk=box.pk)
    _require_manager(box.shop, actor)
    for name, value in fields.items():
        if name not in BOX_FIELDS:
            raise ValidationError({name: [_("This field cannot be changed here.")]})
        if name == "price" and box.kind == Box.Kind.FIXED:
            raise ValidationError({"price": [_("A fixed set is priced as its products are.")]})
        setattr(box, name, value)
    _check_weekdays(box.cutoff_weekday, box.delivery_weekday)
    if "capacity" in fields and box.capacity < live_count(box):
        raise ConflictError(_("%(count)d buyers already subscribe to this box: the most per delivery cannot be "
                              "lower.") % {"count": live_count(box)}, code="below_subscribers")
    box.full_clean(exclude=["shop"])
    box.save()
    return box


# --- Subscriptions (the buyer) ----------------------------------------------------------------------------------------

def _check_address(buyer: User, address: Address | None) -> None:
    if address is None or address.user_id != buyer.pk:
        raise ValidationError({"address": [_("Choose one of your delivery addresses.")]})


def _check_card(buyer: User, card: SavedCard | None) -> None:
    if card is not None and (card.buyer_id != buyer.pk or not card.is_usable):
        raise ValidationError({"payment_method": [_("Choose one of your saved cards, or cash on delivery.")]})


def _tell_farm(box: Box, subject, body, params: dict, dedupe_key: str) -> None:
    managers = {box.shop.owner} | {m.user for m in box.shop.memberships.filter(role="manager").select_related("user")}
    for person in managers:
        notify(recipient=person, kind="box_subscription", link=reverse("subscriptions:seller_boxes"),
               subject=Phrase(subject, params), body=Phrase(body, params),
               dedupe_key=f"{dedupe_key}:{person.pk}")


@transaction.atomic
def subscribe(*, buyer: User, box: Box, address: Address | None, payment_method: SavedCard | None = None
              ) -> Subscription:
    """Subscribe to a box: delivered from its next cut-off on. A box with no place left is a ConflictError (409)."""
    if not buyer.is_authenticated:
        raise PermissionDenied(_("Sign in to subscribe."))
    _check_address(buyer, address)
    _check_card(buyer, payment_method)
    box = Box.objects.select_for_update().select_related("shop").get(pk=box.pk)
    if not box.is_active or not box.shop.is_open:
        raise ConflictError(_("This box is not taking subscribers now."), code="box_closed")
    if live_count(box) >= box.capacity:
        raise ConflictError(_("This box is full: the farm prepares at most %(capacity)d per delivery. Please try "
                              "another box or ask the farm.") % {"capacity": box.capacity}, code="box_full")
    subscription = Subscription.objects.create(box=box, buyer=buyer, address=address, payment_method=payment_method)
    params = {"title": box.title, "count": live_count(box), "capacity": box.capacity}
    _tell_farm(box, gettext_lazy("New subscriber to %(title)s"),
               gettext_lazy("%(title)s now has %(count)d of %(capacity)d subscribers."), params,
               f"box_subscribed:{subscription.pk}")
    return subscription


def _lock_own(subscription: Subscription, actor: User) -> Subscription:
    subscription = Subscription.objects.select_for_update().select_related("box").get(pk=subscription.pk)
    if subscription.buyer_id != actor.pk:
        raise PermissionDenied(_("This is not your standing order."))
    return subscription


@transaction.atomic
def pause_subscription(*, subscription: Subscription, actor: User) -> Subscription:
    """No orders until resumed; the place in the box is kept."""
    subscription = _lock_own(subscription, actor)
    move_subscription(subscription, SS.PAUSED)
    subscription.save(update_fields=["status"])
    return subscription


@transaction.atomic
def resume_subscription(*, subscription: Subscription, actor: User) -> Subscription:
    subscription = _lock_own(subscription, actor)
    move_subscription(subscription, SS.ACTIVE)
    subscription.save(update_fields=["status"])
    return subscription


@transaction.atomic
def cancel_subscription(*, subscription: Subscription, actor: User) -> Subscription:
    """No more orders; the place in the box is freed. Orders already made stay (cancel them on their page)."""
    subscription = _lock_own(subscription, actor)
    move_subscription(subscription, SS.CANCELLED)
    subscription.cancelled_at = timezone.now()
    subscription.save(update_fields=["status", "cancelled_at"])
    return subscription


@transaction.atomic
def change_subscription(*, subscription: Subscription, actor: User, address: Address | None = None,
                        payment_method: SavedCard | None = None, cash: bool = False) -> Subscription:
    """A new delivery address and/or way to pay (a saved card, or `cash` for cash on delivery), from the next
    order on."""
    subscription = _lock_own(subscription, actor)
    if not is_live(subscription):
        raise ConflictError(_("This standing order is cancelled."), code="illegal_transition")
    fields = []
    if address is not None:
        _check_address(actor, address)
        subscription.address = address
        fields.append("address")
    if cash or payment_method is not None:
        _check_card(actor, payment_method)
        subscription.payment_method = None if cash else payment_method
        fields.append("payment_method")
    if fields:
        subscription.save(update_fields=fields)
    return subscription


@transaction.atomic
def skip_delivery(*, subscription: Subscription, actor: User, delivery_date: date, today: date | None = None
                  ) -> SkippedDelivery:
    """Skip one coming delivery (before its cut-off); idempotent."""
    subscription = _lock_own(subscription, actor)
    if not is_live(subscription):
        raise ConflictError(_("This standing order is cancelled."), code="illegal_transition")
    today = today or timezone.localdate()
    cutoff = schedule.cutoff_of(subscription.box, delivery_date, today)
    if cutoff is None:
        raise ValidationError({"date": [_("Choose one of the coming delivery dates of this box.")]})
    if StandingOrderRun.objects.filter(subscription=subscription, cutoff_date=cutoff).exists():
        raise ConflictError(_("The order for %(date)s is already made: cancel it on its order page instead.")
                            % {"date": delivery_date.isoformat()}, code="already_ordered")
    skipped, _created = SkippedDelivery.objects.get_or_create(subscription=subscription, delivery_date=delivery_date)
    return skipped


# --- The weekly job ---------------------------------------------------------------------------------------------------

def _lines(box: Box) -> list[tuple[Product, int, Decimal]]:
    items = list(box.items.select_related("product__shop__village").order_by("product_id"))
    if box.kind == Box.Kind.FARM_CHOICE:
        return [(item.product, 1, box.price) for item in items[:1]]
    return [(item.product, item.quantity, item.product.price) for item in items]


def _refuse(run: StandingOrderRun, reason: str) -> StandingOrderRun:
    run.outcome, run.note = StandingOrderRun.Outcome.REFUSED, reason[:200]
    run.save(update_fields=["outcome", "note"])
    subscription = run.subscription
    params = {"title": subscription.box.title, "date": run.delivery_date.isoformat(), "reason": reason}
    notify(recipient=subscription.buyer, kind="standing_order_refused", link=reverse("subscriptions:mine"),
           subject=Phrase(gettext_noop("No %(title)s box on %(date)s"), params),
           body=Phrase(gettext_noop("Your standing order for %(title)s could not be made for %(date)s: %(reason)s"),
                       params),
           dedupe_key=f"standing_refused:{run.pk}")
    return run


@transaction.atomic
def _order_week(subscription: Subscription, cutoff: date, delivery: date) -> StandingOrderRun | None:
    """One subscription's order for one cut-off, in one transaction; None when it was made already.

    The run row is written first: its unique (subscription, cut-off) makes a second job (or a parallel one,
    which waits on the insert) stop here.
    """
    try:
        with transaction.atomic():
            run = StandingOrderRun.objects.create(subscription=subscription, cutoff_date=cutoff,
                                                  delivery_date=delivery, outcome=StandingOrderRun.Outcome.ORDERED)
    except IntegrityError:
        return None
    if SkippedDelivery.objects.filter(subscription=subscription, delivery_date=delivery).exists():
        run.outcome = StandingOrderRun.Outcome.SKIPPED
        run.save(update_fields=["outcome"])
        return run
    if subscription.address is None:
        return _refuse(run, _("choose a delivery address for it."))
    card = subscription.payment_method
    method = Order.PaymentMethod.STRIPE if card is not None else Order.PaymentMethod.COD
    if method == Order.PaymentMethod.STRIPE and not order_services.card_payments_enabled():
        return _refuse(run, _("card payment is not available right now."))
    lines = _lines(subscription.box)
    needed: dict[int, int] = defaultdict(int)
    for product, quantity, _price in lines:
        needed[product.pk] += quantity
    try:
        with transaction.atomic():
            reserved_until = (timezone.now() + timedelta(hours=settings.STANDING_ORDER_PAY_HOURS)
                              if card is not None else None)
            order = order_services.create_order(
                buyer=subscription.buyer, address=subscription.address, payment_method=method, lines=lines,
                origin=Order.Origin.SUBSCRIPTION, reserved_until=reserved_until)
            stock.reserve(needed, in_cart=False)
    except ConflictError as exc:
        return _refuse(run, exc.message)
    run.order = order
    run.save(update_fields=["order"])
    if card is None:
        order_services.announce_order_to_shops(order=order)
    params = {"title": subscription.box.title, "number": order.number, "date": delivery.isoformat(),
              "total": order.total}
    notify(recipient=subscription.buyer, kind="standing_order_made", link=order.get_absolute_url(),
           subject=Phrase(gettext_noop("Your %(title)s box for %(date)s: order %(number)s"), params),
           body=Phrase(gettext_noop("Order %(number)s (¥%(total)s) is made for your %(title)s box, delivered on "
                                    "%(date)s."), params),
           dedupe_key=f"standing_made:{run.pk}")
    return run


def charge_run(*, run: StandingOrderRun) -> str:
    """Charge a run's order to the subscription's saved card while the buyer is away. Idempotent. A decline
    leaves the order waiting for payment and tells the buyer, with a link to pay it."""
    order = Order.objects.get(pk=run.order_id)
    card = run.subscription.payment_method
    if order.payment_method != Order.PaymentMethod.STRIPE or order.status != Order.Status.PENDING_PAYMENT:
        return order.status
    outcome = cards.charge_saved_card(order=order, card=card, purpose="subscription")
    if outcome == Payment.Status.FAILED:
        params = {"number": order.number, "title": run.subscription.box.title,
                  "hours": settings.STANDING_ORDER_PAY_HOURS}
        notify(recipient=order.buyer, kind="standing_order_payment_failed", channels=("inbox", "email", "sms"),
               link=reverse("orders:pay", args=[order.number]),
               subject=Phrase(gettext_noop("Please pay order %(number)s for your %(title)s box"), params),
               body=Phrase(gettext_noop("Your saved card could not be charged for order %(number)s (declined, or "
                                        "your bank wants you to confirm). Please pay it within %(hours)d hours, or "
                                        "it is cancelled."), params),
               dedupe_key=f"standing_payment_failed:{order.pk}")
    return outcome


def make_standing_orders(*, day: date | None = None) -> dict[str, int]:
    """The job for one cut-off date (default today): each active subscription of each box cut off that day gets
    its order, once; then saved cards are charged. Safe to run again: returns what this run did."""
    day = day or timezone.localdate()
    counts = {"ordered": 0, "skipped": 0, "refused": 0, "charged": 0}
    boxes = [box for box in Box.objects.filter(cutoff_weekday=day.weekday(), starts_on__lte=day)
             if schedule.runs_on(day=day, cutoff_weekday=box.cutoff_weekday, frequency=box.frequency,
                                 starts_on=box.starts_on)]
    for box in boxes:
        delivery = schedule.delivery_after(day, box.delivery_weekday)
        subscriptions = (Subscription.objects.filter(box=box, status=SS.ACTIVE, created_at__date__lte=day)
                         .select_related("box", "buyer", "address", "payment_method").order_by("id"))
        for subscription in subscriptions:
            run = _order_week(subscription, day, delivery)
            if run is not None:
                counts[run.outcome] += 1
    # Charge after the orders are committed, each on its own; a run interrupted before charging is charged now.
    for run in (StandingOrderRun.objects.filter(cutoff_date=day, outcome=StandingOrderRun.Outcome.ORDERED,
                                                order__status=Order.Status.PENDING_PAYMENT,
                                                order__payment_method=Order.PaymentMethod.STRIPE)
                .select_related("subscription__box", "subscription__payment_method").order_by("id")):
        try:
            counts["charged"] += charge_run(run=run) == Payment.Status.SUCCEEDED
        except ConflictError as exc:  # Stripe unreachable: the order waits; the buyer can pay it
            log.warning("Standing order %s not charged: %s", run.order_id, exc.message)
    return counts
