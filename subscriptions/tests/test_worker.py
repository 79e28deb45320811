"""The standing-order job on a real Celery worker, and standing orders racing ordinary checkouts, on PostgreSQL."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import AddressFactory, BuyerFactory
from orders import services as order_services
from orders.models import Order, OrderLine
from orders.tests.factories import fill_cart
from orders.tests.test_concurrency import race
from shops.models import Product
from shops.tests.factories import ProductFactory, ShopFactory
from subscriptions import schedule, services, tasks
from subscriptions.models import Box, StandingOrderRun

from .test_standing_orders import subscriber

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def box_cut_off_today(*, stock: int = 100, capacity: int = 10) -> tuple[Box, Product]:
    """A weekly box whose cut-off is today (the beat task uses today's date), two carrots and a tray of eggs."""
    today = timezone.localdate()
    shop = ShopFactory()
    carrots = ProductFactory(shop=shop, price=Decimal("6.00"), stock=stock)
    eggs = ProductFactory(shop=shop, price=Decimal("15.00"), stock=100)
    box = services.create_box(shop=shop, actor=shop.owner, title="时令菜箱", items=[(carrots, 2), (eggs, 1)],
                              frequency=Box.Frequency.WEEKLY, cutoff_weekday=today.weekday(),
                              delivery_weekday=(today.weekday() + 3) % 7, capacity=capacity,
                              starts_on=today - timedelta(days=14))
    return box, carrots


def test_the_beat_task_sent_twice_and_run_alongside_makes_one_order_per_subscription(postgres,
                                                                                      celery_worker_process):
    box, _carrots = box_cut_off_today()
    subscriptions = [subscriber(box) for _ in range(3)]
    # Two beat processes overlapping: two messages for the worker, and the same job run here at the same time.
    first, second = tasks.make_standing_orders.delay(), tasks.make_standing_orders.delay()
    here = services.make_standing_orders()
    made = first.get(timeout=60)["ordered"] + second.get(timeout=60)["ordered"] + here["ordered"]
    assert made == 3
    assert StandingOrderRun.objects.filter(subscription__box=box).count() == 3
    assert Order.objects.filter(origin=Order.Origin.SUBSCRIPTION).count() == 3
    assert {o.buyer_id for o in Order.objects.filter(origin=Order.Origin.SUBSCRIPTION)} == {
        s.buyer_id for s in subscriptions}


def test_a_skipped_week_makes_no_order_on_the_worker(postgres, celery_worker_process):
    box, _carrots = box_cut_off_today()
    skipping, ordering = subscriber(box), subscriber(box)
    today = timezone.localdate()
    services.skip_delivery(subscription=skipping, actor=skipping.buyer,
                           delivery_date=schedule.delivery_after(today, box.delivery_weekday), today=today)
    assert tasks.make_standing_orders.delay().get(timeout=60)["ordered"] == 1
    assert list(Order.objects.values_list("buyer_id", flat=True)) == [ordering.buyer_id]


def test_standing_orders_racing_checkouts_never_oversell(postgres):
    box, carrots = box_cut_off_today(stock=7)
    for _ in range(3):
        subscriber(box)  # 3 boxes want 6 carrots
    buyers = []
    for _ in range(3):
        buyer = BuyerFactory()
        AddressFactory(user=buyer)
        fill_cart(buyer, (carrots, 2))  # 3 checkouts want 6 more
        buyers.append(buyer)

    def work(who):
        if who == "job":
            return services.make_standing_orders()
        return order_services.place_order(buyer=who, address=who.addresses.get(),
                                          payment_method=Order.PaymentMethod.COD)

    race(["job", *buyers], work)
    sold = sum(OrderLine.objects.filter(product=carrots).exclude(
        shop_order__order__status=Order.Status.CANCELLED).values_list("quantity", flat=True))
    left = Product.objects.get(pk=carrots.pk).stock
    # Every order takes two carrots, all or nothing: three of the six wanting orders get them, whoever wins.
    assert (sold, left) == (6, 1)
