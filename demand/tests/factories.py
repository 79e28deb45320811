"""Demand posts, offers, search log rows, and sold order lines with chosen dates and statuses."""
import itertools
from datetime import datetime, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.tests.factories import BuyerFactory
from demand.models import DemandPost, Offer, SearchLog
from logistics.models import Review
from orders.models import Order, OrderLine, ShopOrder
from shops.models import Category, Product
from shops.tests.factories import ProductFactory

_numbers = itertools.count(1)


class DemandPostFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DemandPost

    buyer = factory.SubFactory(BuyerFactory)
    category = factory.LazyFunction(lambda: Category.objects.get(slug="apples"))
    words = "红富士苹果"
    quantity = 10
    unit = Product.Unit.BOX
    province = "上海市"
    city = "上海市"
    needed_by = factory.LazyFunction(lambda: timezone.localdate() + timedelta(days=10))
    max_price = Decimal("80.00")


class OfferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Offer

    post = factory.SubFactory(DemandPostFactory)
    product = factory.SubFactory(ProductFactory)
    shop = factory.LazyAttribute(lambda o: o.product.shop)
    made_by = factory.LazyAttribute(lambda o: o.product.shop.owner)
    price = Decimal("75.00")
    quantity = 10


class SearchLogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SearchLog

    day = factory.LazyFunction(timezone.localdate)
    query = "阿克苏苹果"
    category = "apples"
    count = 1


def local(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.get_current_timezone())


def sale(*, product, buyer=None, quantity: int = 1, unit_price: Decimal | str = "10.00",
         status: str = ShopOrder.Status.ACCEPTED, at: datetime | None = None, lines=()) -> ShopOrder:
    """One order with one ShopOrder for the product's shop, placed at `at`, with the given status.

    `lines` adds more (product, quantity, unit_price) lines to the same ShopOrder.
    """
    buyer = buyer or BuyerFactory()
    order = Order.objects.create(number=f"T{next(_numbers):08d}", buyer=buyer, payment_method=Order.PaymentMethod.COD,
                                 recipient="李娜", phone="13800138000", province="上海市", city="上海市",
                                 address_line="漕溪北路 88 号", status=Order.Status.PAID)
    shop_order = ShopOrder.objects.create(order=order, shop=product.shop, status=status)
    for item, count, price in [(product, quantity, unit_price), *lines]:
        price = Decimal(price)
        OrderLine.objects.create(shop_order=shop_order, product=item, title=item.title, unit=item.unit,
                                 unit_weight_kg=item.unit_weight_kg, unit_price=price, quantity=count,
                                 line_total=price * count)
    if at is not None:
        Order.objects.filter(pk=order.pk).update(created_at=at)
        ShopOrder.objects.filter(pk=shop_order.pk).update(created_at=at)
    return shop_order


def review(shop_order: ShopOrder, rating: int, *, at: datetime | None = None) -> Review:
    item = Review.objects.create(shop_order=shop_order, buyer=shop_order.order.buyer, rating=rating)
    if at is not None:
        Review.objects.filter(pk=item.pk).update(created_at=at)
    return item
