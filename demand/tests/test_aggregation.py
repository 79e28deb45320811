"""Aggregation correctness: the demand summary and the seller insights, against hand-computed figures."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from demand import selectors
from demand.models import DemandPost
from demand.selectors import Period
from orders.models import ShopOrder
from shops.models import Category, Product
from shops.tests.factories import ProductFactory, ShopFactory

from .factories import DemandPostFactory, SearchLogFactory, local, review, sale

pytestmark = pytest.mark.django_db

S = ShopOrder.Status


def _month(day: date) -> date:
    return day.replace(day=1)


@pytest.fixture
def demand_posts():
    today = timezone.localdate()
    soon, later = today + timedelta(days=5), today + timedelta(days=40)  # 40 days on is always another month
    apples, pears = Category.objects.get(slug="apples"), Category.objects.get(slug="pears")
    box, kg = Product.Unit.BOX, Product.Unit.KG
    for category, province, needed_by, quantity, unit in [
        (apples, "上海市", soon, 10, box), (apples, "上海市", soon, 5, box), (apples, "上海市", soon, 20, kg),
        (apples, "浙江省", soon, 7, box), (apples, "上海市", later, 3, box), (pears, "上海市", soon, 4, box),
        (None, "上海市", soon, 2, kg),
    ]:
        DemandPostFactory(category=category, province=province, needed_by=needed_by, quantity=quantity, unit=unit)
    # Neither a closed post nor one past its date is demand any more.
    DemandPostFactory(category=apples, needed_by=soon, quantity=100, status=DemandPost.Status.CLOSED)
    DemandPostFactory(category=apples, needed_by=today - timedelta(days=1), quantity=100)
    return soon, later


def _rows(queryset) -> set[tuple]:
    return {(r["month"], r["category__slug"], r["province"], r["unit"], r["posts"], r["quantity"]) for r in queryset}


def test_demand_summary_groups_open_posts_by_month_category_province_and_unit(demand_posts):
    soon, later = demand_posts
    assert _rows(selectors.demand_summary()) == {
        (_month(soon), "apples", "上海市", "box", 2, 15),
        (_month(soon), "apples", "上海市", "kg", 1, 20),
        (_month(soon), "apples", "浙江省", "box", 1, 7),
        (_month(soon), "pears", "上海市", "box", 1, 4),
        (_month(soon), None, "上海市", "kg", 1, 2),
        (_month(later), "apples", "上海市", "box", 1, 3),
    }


def test_demand_summary_filters_before_grouping(demand_posts):
    soon, _later = demand_posts
    fruit = Category.objects.get(slug="fruit")
    from shops.filters import category_with_descendants

    rows = selectors.demand_summary(category_ids=category_with_descendants(fruit), province="上海市",
                                    month=_month(soon))
    assert _rows(rows) == {
        (_month(soon), "apples", "上海市", "box", 2, 15),
        (_month(soon), "apples", "上海市", "kg", 1, 20),
        (_month(soon), "pears", "上海市", "box", 1, 4),
    }


# --- Insights ---------------------------------------------------------------------------

# 2024-12-16 (Mon, 2024-W51) to 2025-01-12 (Sun, 2025-W02): four ISO weeks across the new year.
PERIOD = Period(start=date(2024, 12, 16), end=date(2025, 1, 12))


@pytest.fixture
def shop_sales():
    from accounts.tests.factories import BuyerFactory

    shop = ShopFactory()
    p1 = ProductFactory(shop=shop, title="红富士苹果", category=Category.objects.get(slug="apples"))
    p2 = ProductFactory(shop=shop, title="秋月梨", category=Category.objects.get(slug="pears"))
    a, b, x, y = BuyerFactory(), BuyerFactory(), BuyerFactory(), BuyerFactory()
    s1 = sale(product=p1, buyer=a, quantity=2, status=S.ACCEPTED, at=local(2024, 12, 29))  # Sunday: 2024-W52
    s2 = sale(product=p1, buyer=x, quantity=1, status=S.COMPLETED, at=local(2024, 12, 30),  # Monday: 2025-W01
              lines=[(p2, 3, "5.00")])
    s3 = sale(product=p2, buyer=x, quantity=4, unit_price="5.00", status=S.DELIVERED, at=local(2025, 1, 1))
    # Cancelled and unpaid orders are no sales (and would make y a repeat buyer).
    sale(product=p1, buyer=y, quantity=5, status=S.CANCELLED, at=local(2025, 1, 2))
    sale(product=p1, buyer=y, quantity=6, status=S.AWAITING_PAYMENT, at=local(2025, 1, 3))
    sale(product=p1, buyer=y, quantity=1, status=S.NEW, at=local(2025, 1, 7))  # 2025-W02
    s7 = sale(product=p1, buyer=a, quantity=9, status=S.COMPLETED, at=local(2024, 12, 10))  # before the period
    # 00:30 on Monday in Shanghai is still Sunday in UTC: the local week (2025-W01) must count.
    sale(product=p2, buyer=b, quantity=2, unit_price="5.00", status=S.HANDED_OVER, at=local(2024, 12, 30, 0) +
         timedelta(minutes=30))
    other = ProductFactory(category=Category.objects.get(slug="apples"))
    s8 = sale(product=other, buyer=x, quantity=50, status=S.COMPLETED, at=local(2025, 1, 2))
    review(s2, 5, at=local(2025, 1, 5))
    review(s3, 4, at=local(2025, 1, 6))
    review(s7, 1, at=local(2024, 12, 11))
    review(s8, 1, at=local(2025, 1, 6))
    assert s1
    return shop


def test_sales_by_week_are_local_iso_weeks_across_the_year_boundary(shop_sales):
    weeks = selectors.sales_by_week(shop_sales, PERIOD)
    assert [(w["label"], w["orders"], w["units"], w["revenue"]) for w in weeks] == [
        ("2024-W51", 0, 0, Decimal("0.00")),
        ("2024-W52", 1, 2, Decimal("20.00")),
        ("2025-W01", 3, 10, Decimal("55.00")),
        ("2025-W02", 1, 1, Decimal("10.00")),
    ]
    assert weeks[2]["monday"] == date(2024, 12, 30)


def test_sales_by_product(shop_sales):
    rows = selectors.sales_by_product(shop_sales, PERIOD)
    assert [(r["title"], r["orders"], r["units"], r["revenue"]) for r in rows] == [
        ("秋月梨", 3, 9, Decimal("45.00")),
        ("红富士苹果", 3, 4, Decimal("40.00")),
    ]


def test_repeat_buyers_count_only_sold_orders(shop_sales):
    assert selectors.repeat_buyers(shop_sales, PERIOD) == {"buyers": 4, "repeat": 1, "share": Decimal("25.0")}


def test_rating_averages_the_shops_reviews_of_the_period(shop_sales):
    assert selectors.rating(shop_sales, PERIOD) == {"average": Decimal("4.50"), "reviews": 2}


def test_no_sales_gives_zeros_not_errors():
    shop = ShopFactory()
    assert selectors.repeat_buyers(shop, PERIOD) == {"buyers": 0, "repeat": 0, "share": None}
    assert selectors.rating(shop, PERIOD) == {"average": None, "reviews": 0}
    assert selectors.sales_by_product(shop, PERIOD) == []
    assert [w["orders"] for w in selectors.sales_by_week(shop, PERIOD)] == [0, 0, 0, 0]


def test_searches_without_results_in_the_shops_categories_and_their_parents(shop_sales):
    SearchLogFactory(query="阿克苏苹果", category="apples", day=date(2025, 1, 2), count=3)
    SearchLogFactory(query="阿克苏苹果", category="apples", day=date(2025, 1, 3), count=2)
    SearchLogFactory(query="阿克苏苹果", category="apples", province="新疆维吾尔自治区", day=date(2025, 1, 3), count=1)
    SearchLogFactory(query="榴莲", category="fruit", day=date(2025, 1, 4), count=4)
    SearchLogFactory(query="香梨", category="pears", day=date(2025, 1, 10), count=1)
    SearchLogFactory(query="碧螺春", category="green-tea", day=date(2025, 1, 4), count=9)  # not sold here
    SearchLogFactory(query="阿克苏苹果", category="apples", day=date(2024, 12, 1), count=50)  # before the period
    rows = selectors.shop_searches_without_results(shop_sales, PERIOD)
    assert [(r["query"], r["category"], r["searches"], r["days"]) for r in rows] == [
        ("阿克苏苹果", "apples", 6, 2), ("榴莲", "fruit", 4, 1), ("香梨", "pears", 1, 1)]
    assert rows[1]["category_name"] == "Fruit"


def test_period_iso_weeks_and_default():
    assert PERIOD.iso_weeks() == [(2024, 51), (2024, 52), (2025, 1), (2025, 2)]
    default = Period.last_weeks(12, today=date(2025, 1, 8))
    assert default.start == date(2024, 10, 21) and default.start.weekday() == 0 and len(default.iso_weeks()) == 12
