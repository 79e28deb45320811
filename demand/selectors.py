"""Reads for the demand board and the seller insights, scoped to the user asking.

Who sees what: a buyer sees their own posts (and every offer on them); a farmer sees the open posts,
the posts they have offered on, and only their own shops' offers. Aggregates are computed by the
database (GROUP BY), one query each, whatever the number of rows.
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Avg, Count, Max, Q, QuerySet, Sum
from django.db.models.functions import ExtractIsoYear, ExtractWeek, TruncMonth
from django.utils import timezone

from accounts.models import User
from logistics.models import Review
from orders.models import OrderLine, ShopOrder
from shops.models import Category, Product, Shop
from shops.selectors import products_managed_by, shops_managed_by

from .models import DemandPost, Offer, SearchLog
from .services import normalise_query

ZERO = Decimal("0.00")
# A ShopOrder counts as a sale once paid (or accepted for cash on delivery), until it is cancelled.
NOT_SOLD = (ShopOrder.Status.AWAITING_PAYMENT, ShopOrder.Status.CANCELLED)


# --- Demand board ---------------------------------------------------------------------

def _with_offer_count(queryset: QuerySet[DemandPost]) -> QuerySet[DemandPost]:
    return queryset.select_related("category").annotate(offer_count=Count("offers"))


def open_posts(*, today: date | None = None) -> QuerySet[DemandPost]:
    """Posts still taking offers: open, and not past the date the buyer needs them by."""
    today = today or timezone.localdate()
    return DemandPost.objects.filter(status=DemandPost.Status.OPEN, needed_by__gte=today)


def posts_of_buyer(user: User) -> QuerySet[DemandPost]:
    if not user.is_authenticated:
        return DemandPost.objects.none()
    return _with_offer_count(DemandPost.objects.filter(buyer=user)).order_by("-created_at", "-id")


def board_posts(user: User) -> QuerySet[DemandPost]:
    """The open posts a farmer may answer, soonest needed first."""
    if not user.is_authenticated or not user.is_farmer:
        return DemandPost.objects.none()
    return _with_offer_count(open_posts()).order_by("needed_by", "-id")


def listed_posts(user: User) -> QuerySet[DemandPost]:
    """The API's list: the board for a farmer, their own posts for anyone else."""
    return board_posts(user) if getattr(user, "is_farmer", False) else posts_of_buyer(user)


def visible_posts(user: User) -> QuerySet[DemandPost]:
    """Posts a user may open: their own; for a farmer also the open ones and those they have offered on."""
    if not user.is_authenticated:
        return DemandPost.objects.none()
    condition = Q(buyer=user)
    if user.is_farmer:
        condition |= Q(pk__in=open_posts().values("pk"))
        condition |= Q(pk__in=Offer.objects.filter(shop__in=shops_managed_by(user)).values("post_id"))
    return _with_offer_count(DemandPost.objects.filter(condition))


def offers_visible_on(post: DemandPost, user: User) -> QuerySet[Offer]:
    """Every offer for the post's buyer; a farmer sees only the offers of the shops they manage."""
    offers = Offer.objects.filter(post=post).select_related("product", "shop", "shop__village")
    if post.buyer_id == user.pk:
        return offers.order_by("price", "id")
    if user.is_authenticated and user.is_farmer:
        return offers.filter(shop__in=shops_managed_by(user)).order_by("price", "id")
    return Offer.objects.none()


def products_to_offer(user: User) -> QuerySet[Product]:
    """The farmer's products that may be offered: on sale, in a shop they manage."""
    return products_managed_by(user).filter(is_active=True).order_by("shop__name", "title")


def filter_posts(queryset: QuerySet[DemandPost], *, category_ids=None, province: str = "",
                 month: date | None = None) -> QuerySet[DemandPost]:
    if category_ids is not None:
        queryset = queryset.filter(category_id__in=category_ids)
    if province:
        queryset = queryset.filter(province=province)
    if month is not None:
        queryset = queryset.filter(needed_by__year=month.year, needed_by__month=month.month)
    return queryset


def demand_summary(*, category_ids=None, province: str = "", month: date | None = None) -> QuerySet:
    """Open demand by category, province, month needed and unit: posts and total quantity, one GROUP BY.

    Quantities are added only within one unit (kg are never added to boxes).
    """
    return summarise(filter_posts(open_posts(), category_ids=category_ids, province=province, month=month))


def summarise(posts: QuerySet[DemandPost]) -> QuerySet:
    """Group posts by month needed, category, province and unit: posts and total quantity."""
    return (posts.annotate(month=TruncMonth("needed_by"))
            .values("month", "category_id", "category__slug", "category__name_zh", "category__name_en",
                    "province", "unit")
            .annotate(posts=Count("id"), quantity=Sum("quantity"))
            .order_by("month", "category__slug", "province", "unit"))


def provinces_with_demand() -> list[str]:
    return list(open_posts().values_list("province", flat=True).distinct().order_by("province"))


# --- Seller insights ------------------------------------------------------------------

@dataclass(frozen=True)
class Period:
    """Whole local days, start and end included."""

    start: date
    end: date

    @classmethod
    def last_weeks(cls, weeks: int, *, today: date | None = None) -> "Period":
        today = today or timezone.localdate()
        # From the Monday `weeks - 1` weeks ago, so every ISO week shown is whole.
        monday = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
        return cls(start=monday, end=today)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        zone = timezone.get_current_timezone()
        return (datetime.combine(self.start, time.min, tzinfo=zone),
                datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone))

    def iso_weeks(self) -> list[tuple[int, int]]:
        weeks, day = [], self.start - timedelta(days=self.start.weekday())
        while day <= self.end:
            year, week, _weekday = day.isocalendar()
            weeks.append((year, week))
            day += timedelta(weeks=1)
        return weeks


def insight_shop(user: User, slug: str) -> Shop | None:
    """The shop, if the user manages it (owner or manager); None otherwise, which the view turns into a 404."""
    return shops_managed_by(user).select_related("village").filter(slug=slug).first()


def _sold_lines(shop: Shop, period: Period) -> QuerySet[OrderLine]:
    start, end = period.bounds
    return (OrderLine.objects.filter(shop_order__shop=shop, shop_order__created_at__gte=start,
                                     shop_order__created_at__lt=end)
            .exclude(shop_order__status__in=NOT_SOLD))


def sales_by_week(shop: Shop, period: Period) -> list[dict]:
    """Each ISO week of the period (weeks without sales too): orders, units and revenue, in one query."""
    rows = (_sold_lines(shop, period)
            .annotate(iso_year=ExtractIsoYear("shop_order__created_at"), week=ExtractWeek("shop_order__created_at"))
            .values("iso_year", "week")
            .annotate(orders=Count("shop_order", distinct=True), units=Sum("quantity"), revenue=Sum("line_total"))
            .order_by("iso_year", "week"))
    found = {(row["iso_year"], row["week"]): row for row in rows}
    weeks = []
    for year, week in period.iso_weeks():
        row = found.get((year, week), {})
        weeks.append({"iso_year": year, "week": week, "label": f"{year}-W{week:02d}",
                      "monday": date.fromisocalendar(year, week, 1),
                      "orders": row.get("orders", 0), "units": row.get("units") or 0,
                      "revenue": row.get("revenue") or ZERO})
    return weeks


def sales_by_product(shop: Shop, period: Period) -> list[dict]:
    """Per product, best-selling first: units, orders and revenue (one query). Lines of a deleted
    product keep the title they were sold under."""
    rows = (_sold_lines(shop, period)
            .values("product_id", "unit")
            .annotate(title=Max("title"), orders=Count("shop_order", distinct=True), units=Sum("quantity"),
                      revenue=Sum("line_total"))
            .order_by("-revenue", "-units", "title"))
    return list(rows)


def repeat_buyers(shop: Shop, period: Period) -> dict:
    """Buyers with at least one sold order from the shop, and those with two or more (one query)."""
    start, end = period.bounds
    per_buyer = (ShopOrder.objects.filter(shop=shop, created_at__gte=start, created_at__lt=end)
                 .exclude(status__in=NOT_SOLD).values("order__buyer_id").annotate(orders=Count("id")))
    totals = per_buyer.aggregate(buyers=Count("order__buyer_id"),
                                 repeat=Count("order__buyer_id", filter=Q(orders__gte=2)))
    buyers, repeat = totals["buyers"] or 0, totals["repeat"] or 0
    share = (Decimal(repeat * 100) / buyers).quantize(Decimal("0.1")) if buyers else None
    return {"buyers": buyers, "repeat": repeat, "share": share}


def rating(shop: Shop, period: Period) -> dict:
    """Average stars of the reviews written in the period (one query)."""
    start, end = period.bounds
    result = Review.objects.filter(shop_order__shop=shop, created_at__gte=start, created_at__lt=end).aggregate(
        average=Avg("rating"), reviews=Count("id"))
    average = result["average"]
    return {"average": Decimal(str(average)).quantize(Decimal("0.01")) if average is not None else None,
            "reviews": result["reviews"]}


def shop_categories(shop: Shop) -> dict[str, Category]:
    """The categories the shop sells in, with their parents (a search in 水果 matters to an apple farm),
    by slug. One query: the category table is small and read whole."""
    categories = {c.pk: c for c in Category.objects.annotate(
        sold_here=Count("products", filter=Q(products__shop=shop, products__is_active=True)))}
    found: dict[str, Category] = {}
    for category in categories.values():
        current = category if category.sold_here else None
        while current is not None and current.slug not in found:
            found[current.slug] = current
            current = categories.get(current.parent_id)
    return found


def searches_without_results(category_slugs, period: Period, *, limit: int | None = 50) -> list[dict]:
    """Searches in these categories that found nothing during the period, most asked first (one query)."""
    rows = (SearchLog.objects.filter(category__in=list(category_slugs), day__gte=period.start, day__lte=period.end)
            .values("query", "category")
            .annotate(searches=Sum("count"), days=Count("day", distinct=True), last_day=Max("day"))
            .order_by("-searches", "query", "category"))
    return list(rows[:limit] if limit else rows)


def shop_searches_without_results(shop: Shop, period: Period, *, limit: int | None = 50) -> list[dict]:
    """The searches that found nothing in the shop's categories, each with its category's name (two queries)."""
    categories = shop_categories(shop)
    rows = searches_without_results(categories, period, limit=limit)
    for row in rows:
        row["category_name"] = categories[row["category"]].name
    return rows


# --- The catalogue's view of the search log -------------------------------------------

def search_miss_count(query: str, category: str = "") -> int:
    total = SearchLog.objects.filter(query=normalise_query(query), category=category or "").aggregate(n=Sum("count"))
    return total["n"] or 0


def recent_search_misses(*, days: int = 30, limit: int = 500) -> list[tuple[str, str, int]]:
    """(query, category slug, count) of the searches that found nothing lately, most counted first."""
    since = timezone.localdate() - timedelta(days=days - 1)
    rows = (SearchLog.objects.filter(day__gte=since).values("query", "category").annotate(n=Sum("count"))
            .order_by("-n", "query", "category")[:limit])
    return [(row["query"], row["category"], row["n"]) for row in rows]
