"""Reads for stations, parcels, shipments, tracking and reviews, scoped to the user.

The one place that says who sees what: an agent sees the parcels and shipments of their own
station; a seller the parcels of the shops they manage; a buyer their own orders'; anyone the
public tracking of a parcel whose code they hold (without any personal data).
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.paginator import Page, Paginator
from django.db.models import Avg, Count, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from orders.models import ShopOrder
from shops.models import Product, Shop
from shops.selectors import shops_managed_by

from .models import Agent, Parcel, Review, Shipment, Station, TrackingEvent

# --- Stations and agents ----------------------------------------------------------------------------------------------


def stations_for(user: User) -> QuerySet[Station]:
    """Stations are visible to every signed-in user (farmers see where to bring their parcels)."""
    if not user.is_authenticated:
        return Station.objects.none()
    return Station.objects.prefetch_related("villages").order_by("name", "id")


def station_for_village(village_id: int) -> Station | None:
    """The station serving a village (the oldest one if staff set up two)."""
    return Station.objects.filter(villages=village_id).order_by("id").first()


def agent_station(user: User) -> Station | None:
    """The station the user runs as an active agent, or None."""
    if not user.is_authenticated or user.role != User.Role.AGENT:
        return None
    agent = Agent.objects.filter(user=user, active=True).select_related("station").first()
    return agent.station if agent else None


# --- Parcels ----------------------------------------------------------------------------------------------------------


def _parcel_rows(queryset: QuerySet[Parcel]) -> QuerySet[Parcel]:
    """What a parcel list shows, in a fixed number of queries whatever the row count."""
    return (queryset.select_related("shop_order", "shop_order__shop", "shop_order__order", "shipment", "station")
            # The order's parts: the cash to collect on delivery is theirs together.
            .prefetch_related("lots", "shop_order__order__shop_orders"))


def parcels_for_agent(user: User) -> QuerySet[Parcel]:
    """The parcels of the agent's station; nothing for anyone else."""
    station = agent_station(user)
    if station is None:
        return Parcel.objects.none()
    return _parcel_rows(Parcel.objects.filter(station=station))


def agent_parcel_list(user: User, view: str = "") -> QuerySet[Parcel]:
    """An agent's list: `expected` (not yet brought in), `received_today`, `waiting` (received, not loaded),
    `on_the_way` (left the station, not delivered) or everything."""
    queryset = parcels_for_agent(user)
    today = timezone.localdate()
    if view == "expected":
        return queryset.filter(status=Parcel.Status.EXPECTED).order_by("handed_over_at", "id")
    if view == "received_today":
        return queryset.filter(received_at__date=today).order_by("-received_at", "-id")
    if view == "waiting":
        return queryset.filter(status=Parcel.Status.RECEIVED).order_by("received_at", "id")
    if view == "on_the_way":
        return queryset.filter(status__in=[Parcel.Status.IN_TRANSIT, Parcel.Status.ARRIVED,
                                           Parcel.Status.OUT_FOR_DELIVERY, Parcel.Status.EXCEPTION]
                               ).order_by("updated_at", "id")
    return queryset.order_by("-created_at", "-id")


def agent_counts(user: User) -> dict[str, int]:
    """How many parcels each agent list holds, in one query."""
    station = agent_station(user)
    if station is None:
        return {}
    today = timezone.localdate()
    S = Parcel.Status
    return Parcel.objects.filter(station=station).aggregate(
        expected=Count("id", filter=Q(status=S.EXPECTED)),
        received_today=Count("id", filter=Q(received_at__date=today)),
        waiting=Count("id", filter=Q(status=S.RECEIVED)),
        on_the_way=Count("id", filter=Q(status__in=[S.IN_TRANSIT, S.ARRIVED, S.OUT_FOR_DELIVERY, S.EXCEPTION])),
    )


def with_events(queryset: QuerySet[Parcel]) -> QuerySet[Parcel]:
    return queryset.prefetch_related(Prefetch("events", queryset=TrackingEvent.objects.order_by("occurred_at", "id")))


def parcel_for_tracking(code: str) -> Parcel | None:
    """A parcel by its exact canonical code, with its events: two queries."""
    return with_events(Parcel.objects.filter(code=code).select_related("shipment")).first()


def parcel_for_label(user: User, code: str) -> Parcel | None:
    """The label is for the shop that packed the parcel, the agent of its station and staff."""
    if not user.is_authenticated:
        return None
    if user.is_staff:
        queryset = Parcel.objects.all()
    else:
        station = agent_station(user)
        seller = Q(shop_order__shop__in=shops_managed_by(user))
        queryset = Parcel.objects.filter((seller | Q(station=station)) if station else seller)
    return (queryset.filter(code=code).select_related("shop_order__shop__village", "station")
            .prefetch_related("lots__product").first())


# --- Shipments --------------------------------------------------------------------------------------------------------


def shipments_for_agent(user: User) -> QuerySet[Shipment]:
    station = agent_station(user)
    if station is None:
        return Shipment.objects.none()
    return (Shipment.objects.filter(station=station).select_related("station")
            .prefetch_related(Prefetch("parcels", queryset=Parcel.objects.order_by("id")))
            .order_by("-created_at", "-id"))


# --- Reviews and ratings ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rating:
    """Average stars (one decimal) and how many reviews; draw with the `stars` filter of {% load ratings %}."""

    average: Decimal | None
    count: int


NO_RATING = Rating(None, 0)


def _rating(average, count) -> Rating:
    if not count:
        return NO_RATING
    return Rating(Decimal(str(average)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), count)


def shop_rating(shop: Shop) -> Rating:
    """The shop's average stars over every review of its orders: one query."""
    result = Review.objects.filter(shop_order__shop=shop).aggregate(average=Avg("rating"), count=Count("id"))
    return _rating(result["average"], result["count"])


def product_rating(product: Product) -> Rating:
    """The product's stars as stored on it (`shops.services.record_product_ratings`, kept by `count_product_ratings`):
    no query."""
    return _rating(product.rating_average, product.rating_count)


def product_ratings(product_ids) -> dict[int, Rating]:
    """Average stars per product, counted over the reviews of the orders that held it: one query for any number."""
    ids = list(product_ids)
    rows = (Review.objects.filter(shop_order__lines__product_id__in=ids)
            .values("shop_order__lines__product_id")
            .annotate(average=Avg("rating"), count=Count("id", distinct=True)))
    ratings = {row["shop_order__lines__product_id"]: _rating(row["average"], row["count"]) for row in rows}
    return {pk: ratings.get(pk, NO_RATING) for pk in ids}


def public_reviews() -> QuerySet[Review]:
    return Review.objects.select_related("shop_order__shop").order_by("-created_at", "-id")


def reviews_of_shop(shop: Shop) -> QuerySet[Review]:
    return public_reviews().filter(shop_order__shop=shop)


def reviews_of_product(product_id: int) -> QuerySet[Review]:
    return public_reviews().filter(shop_order__lines__product_id=product_id).distinct()


PRODUCT_REVIEWS_PER_PAGE = 5


def reviewer_first_name(user: User) -> str:
    """What a public review shows of its author: the first name, else the first word of a spaced display name;
    "" for a one-word display name (王秀英 is a whole name, not a first name)."""
    if user.first_name.strip():
        return user.first_name.strip().split()[0]
    words = user.display_name.split()
    return words[0] if len(words) > 1 else ""


def product_review_page(product_id: int, *, count: int, number) -> Page:
    """One page of the product's reviews, newest first, each with `reviewer` (first name only): one query, none
    when `count` (known from the product's rating) is 0. A bad or out-of-range number gives the first or last page."""
    if not count:
        return Paginator([], PRODUCT_REVIEWS_PER_PAGE).get_page(1)
    paginator = Paginator(reviews_of_product(product_id).select_related("buyer"), PRODUCT_REVIEWS_PER_PAGE)
    paginator.count = count  # already counted by product_ratings: no COUNT query
    page = paginator.get_page(number)
    page.object_list = list(page.object_list)
    for review in page.object_list:
        review.reviewer = reviewer_first_name(review.buyer)
    return page


def reviews_to_reply(user: User) -> QuerySet[Review]:
    """Reviews of the shops the user manages (where they may reply)."""
    return public_reviews().filter(shop_order__shop__in=shops_managed_by(user))


def buyer_shop_orders(user: User) -> QuerySet[ShopOrder]:
    """The user's own ShopOrders as a buyer (for rating and confirming delivery); others are a 404."""
    if not user.is_authenticated:
        return ShopOrder.objects.none()
    return ShopOrder.objects.filter(order__buyer=user).select_related("order", "shop")
