"""Reads of standing orders, scoped to who may see them: a buyer their own subscriptions, a farm its boxes."""
from __future__ import annotations

from datetime import date

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from shops.selectors import shops_managed_by

from . import schedule
from .models import Box, SkippedDelivery, Subscription

LIVE = (Subscription.Status.ACTIVE, Subscription.Status.PAUSED)


def public_boxes() -> QuerySet[Box]:
    """Boxes taking subscribers, with their places taken counted in the same query."""
    return (Box.objects.filter(is_active=True, shop__is_open=True)
            .select_related("shop").prefetch_related("items__product")
            .annotate(taken=Count("subscriptions", filter=Q(subscriptions__status__in=LIVE))))


def boxes_for_seller(user: User) -> QuerySet[Box]:
    """The boxes of the shops the user manages (another shop's box is a 404)."""
    return (Box.objects.filter(shop__in=shops_managed_by(user)).select_related("shop")
            .prefetch_related("items__product")
            .annotate(taken=Count("subscriptions", filter=Q(subscriptions__status__in=LIVE))))


def subscriptions_for_buyer(user: User) -> QuerySet[Subscription]:
    if not user.is_authenticated:
        return Subscription.objects.none()
    return (Subscription.objects.filter(buyer=user).select_related("box__shop", "address", "payment_method")
            .prefetch_related("skipped", "runs").order_by("-created_at", "-id"))


def next_delivery(subscription: Subscription, today: date | None = None) -> date | None:
    """The next delivery that will be ordered for it (skipped ones passed over); None unless active."""
    if subscription.status != Subscription.Status.ACTIVE:
        return None
    today = today or timezone.localdate()
    # .all(): read from prefetch_related("skipped", "runs") when the caller loaded them (a page of subscriptions).
    skipped = {s.delivery_date for s in subscription.skipped.all() if s.delivery_date >= today}
    made = {r.cutoff_date for r in subscription.runs.all() if r.cutoff_date >= today}
    for cutoff, delivery in schedule.deliveries_from(subscription.box, today, 12):
        if delivery not in skipped and cutoff not in made:
            return delivery
    return None


def preparation(box: Box, today: date | None = None) -> dict:
    """What the farm prepares for the box's next delivery: how many boxes and how many of each product."""
    today = today or timezone.localdate()
    cutoff, delivery = schedule.deliveries_from(box, today, 1)[0]
    active = box.subscriptions.filter(status=Subscription.Status.ACTIVE)
    skipping = SkippedDelivery.objects.filter(subscription__in=active, delivery_date=delivery).count()
    count = active.count() - skipping
    products = [{"product": item.product, "quantity": item.quantity * count}
                for item in box.items.select_related("product").order_by("id")]
    if box.kind == Box.Kind.FARM_CHOICE:
        products = [{"product": p["product"], "quantity": count} for p in products]
    return {"box": box, "cutoff": cutoff, "delivery": delivery, "boxes": count, "skipped": skipping,
            "products": products}
