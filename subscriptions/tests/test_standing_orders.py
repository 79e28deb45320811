"""Standing orders: boxes, subscriptions, and the weekly job that makes each week's order once."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from accounts.tests.factories import AddressFactory, BuyerFactory
from core.errors import ConflictError
from notifications.models import Notification
from orders import services as order_services
from orders.models import Order, Payment, SavedCard, ShopOrder
from orders.payments import cards, gateway
from shops.models import Product
from shops.tests.factories import ProductFactory, ShopFactory
from subscriptions import selectors, services
from subscriptions.models import Box, StandingOrderRun, Subscription

pytestmark = pytest.mark.django_db

# A Monday cut-off, delivered on the Thursday after.
CUTOFF = date(2026, 12, 7)
DELIVERY = date(2026, 12, 10)


def make_box(*, capacity: int = 10, frequency: str = Box.Frequency.WEEKLY, stock: int = 100) -> Box:
    shop = ShopFactory()
    carrots = ProductFactory(shop=shop, price=Decimal("6.00"), stock=stock)
    eggs = ProductFactory(shop=shop, price=Decimal("15.00"), stock=stock)
    return services.create_box(shop=shop, actor=shop.owner, title="时令菜箱", items=[(carrots, 2), (eggs, 1)],
                               frequency=frequency, cutoff_weekday=0, delivery_weekday=3, capacity=capacity,
                               starts_on=CUTOFF - timedelta(days=14))


def subscriber(box: Box, card: SavedCard | None = None, buyer=None) -> Subscription:
    buyer = buyer or (card.buyer if card else BuyerFactory())
    return services.subscribe(buyer=buyer, box=box, address=AddressFactory(user=buyer), payment_method=card)


def saved_card(method: str = "pm_card_visa") -> SavedCard:
    buyer = BuyerFactory()
    setup = cards.start_card_setup(buyer=buyer, consent=True)
    gateway.confirm_setup_intent(setup.id, payment_method=method)
    return cards.record_card_setup(card=SavedCard.objects.get(setup_intent_id=setup.id))


def test_a_fixed_box_is_priced_as_its_products_and_scheduled():
    box = make_box()
    assert box.price == Decimal("27.00")
    plan = selectors.preparation(box, today=CUTOFF)
    assert (plan["cutoff"], plan["delivery"], plan["boxes"]) == (CUTOFF, DELIVERY, 0)


def test_the_job_makes_one_cash_order_per_subscription_and_week_however_often_it_runs():
    box = make_box()
    first, second = subscriber(box), subscriber(box)
    assert services.make_standing_orders(day=CUTOFF)["ordered"] == 2
    assert services.make_standing_orders(day=CUTOFF)["ordered"] == 0
    call_command("make_standing_orders", "--date", CUTOFF.isoformat())
    assert StandingOrderRun.objects.count() == 2 and Order.objects.count() == 2
    order = Order.objects.get(buyer=first.buyer)
    assert (order.origin, order.payment_method, order.status) == (Order.Origin.SUBSCRIPTION, Order.PaymentMethod.COD,
                                                                  Order.Status.PENDING_PAYMENT)
    assert order.shop_orders.get().status == ShopOrder.Status.NEW and order.items_total == Decimal("27.00")
    # Stock is reserved through the normal checkout service; the farm is told.
    assert sorted(Product.objects.values_list("stock", flat=True)) == [96, 98]
    assert Notification.objects.filter(recipient=box.shop.owner, kind="shop_order_new").exists()
    assert Notification.objects.filter(recipient=second.buyer, kind="standing_order_made").exists()
    # Next week is another week.
    assert services.make_standing_orders(day=CUTOFF + timedelta(days=7))["ordered"] == 2


def test_the_run_row_is_unique_per_subscription_and_cutoff():
    subscription = subscriber(make_box())
    services.make_standing_orders(day=CUTOFF)
    with pytest.raises(IntegrityError), transaction.atomic():
        StandingOrderRun.objects.create(subscription=subscription, cutoff_date=CUTOFF, delivery_date=DELIVERY,
                                        outcome=StandingOrderRun.Outcome.ORDERED)


def test_a_skipped_week_makes_no_order():
    box = make_box()
    subscription = subscriber(box)
    services.skip_delivery(subscription=subscription, actor=subscription.buyer, delivery_date=DELIVERY,
                           today=CUTOFF - timedelta(days=2))
    assert selectors.preparation(box, today=CUTOFF)["boxes"] == 0
    assert services.make_standing_orders(day=CUTOFF) == {"ordered": 0, "skipped": 1, "refused": 0, "charged": 0}
    assert Order.objects.count() == 0
    assert services.make_standing_orders(day=CUTOFF + timedelta(days=7))["ordered"] == 1


def test_a_paused_or_cancelled_subscription_makes_no_order():
    box = make_box()
    paused, cancelled = subscriber(box), subscriber(box)
    services.pause_subscription(subscription=paused, actor=paused.buyer)
    services.cancel_subscription(subscription=cancelled, actor=cancelled.buyer)
    assert services.make_standing_orders(day=CUTOFF)["ordered"] == 0
    services.resume_subscription(subscription=paused, actor=paused.buyer)
    assert services.make_standing_orders(day=CUTOFF)["ordered"] == 1


def test_a_fortnightly_box_orders_every_other_week():
    subscriber(box := make_box(frequency=Box.Frequency.FORTNIGHTLY))
    assert box.starts_on == CUTOFF - timedelta(days=14)
    assert services.make_standing_orders(day=CUTOFF)["ordered"] == 1
    assert services.make_standing_orders(day=CUTOFF + timedelta(days=7))["ordered"] == 0
    assert services.make_standing_orders(day=CUTOFF + timedelta(days=14))["ordered"] == 1


def test_a_box_with_no_capacity_left_is_409(api_client):
    box = make_box(capacity=1)
    subscriber(box)
    buyer = BuyerFactory()
    address = AddressFactory(user=buyer)
    with pytest.raises(ConflictError):
        services.subscribe(buyer=buyer, box=box, address=address)
    api_client.force_authenticate(buyer)
    response = api_client.post("/api/v1/subscriptions/", {"box": box.pk, "address": address.pk}, format="json")
    assert response.status_code == 409, response.json()
    assert Subscription.objects.count() == 1


def test_the_farm_cannot_cap_below_its_subscribers_and_sees_what_to_prepare(api_client):
    box = make_box(capacity=5)
    subscriber(box), subscriber(box)
    with pytest.raises(ConflictError):
        services.update_box(box=box, actor=box.shop.owner, capacity=1)
    api_client.force_authenticate(box.shop.owner)
    assert api_client.patch(f"/api/v1/boxes/{box.pk}/", {"capacity": 2}, format="json").status_code == 200
    plan = api_client.get(f"/api/v1/boxes/{box.pk}/preparation/").json()
    assert plan["boxes"] == 2 and sorted(p["quantity"] for p in plan["products"]) == [2, 4]
    api_client.force_authenticate(BuyerFactory())
    assert api_client.patch(f"/api/v1/boxes/{box.pk}/", {"capacity": 9}, format="json").status_code == 404


def test_subscriptions_api_subscribe_skip_pause_cancel(api_client):
    box = make_box()
    buyer = BuyerFactory()
    address = AddressFactory(user=buyer)
    api_client.force_authenticate(buyer)
    response = api_client.post("/api/v1/subscriptions/", {"box": box.pk, "address": address.pk,
                                                          "payment_method": None}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "active" and body["payment_method"] is None
    url = f"/api/v1/subscriptions/{body['id']}/"
    skip = api_client.post(url + "skip/", {"date": body["next_delivery"]}, format="json")
    assert skip.status_code == 200 and skip.json()["next_delivery"] != body["next_delivery"]
    assert api_client.post(url + "skip/", {"date": "2020-01-01"}, format="json").status_code == 400
    assert api_client.post(url + "pause/").json()["status"] == "paused"
    assert api_client.post(url + "resume/").json()["status"] == "active"
    assert api_client.post(url + "cancel/").json()["status"] == "cancelled"
    assert api_client.post(url + "resume/").status_code == 409
    api_client.force_authenticate(BuyerFactory())
    assert api_client.get(url).status_code == 404


def test_a_new_address_is_used_from_the_next_order():
    subscription = subscriber(make_box())
    new = AddressFactory(user=subscription.buyer, city="苏州市")
    services.change_subscription(subscription=subscription, actor=subscription.buyer, address=new)
    services.make_standing_orders(day=CUTOFF)
    assert Order.objects.get().city == "苏州市"
    with pytest.raises(ValidationError):
        services.change_subscription(subscription=subscription, actor=subscription.buyer,
                                     address=AddressFactory())  # another buyer's address


def test_out_of_stock_refuses_the_week_and_tells_the_buyer():
    subscription = subscriber(make_box(stock=1))
    assert services.make_standing_orders(day=CUTOFF)["refused"] == 1
    assert Order.objects.count() == 0
    assert Notification.objects.filter(recipient=subscription.buyer, kind="standing_order_refused").exists()


# --- Saved cards, charged while the buyer is away (localstripe) -------------------------------------------------------

def test_a_saved_card_is_charged_off_session_and_the_order_paid(localstripe):
    box = make_box()
    subscription = subscriber(box, card=saved_card())
    counts = services.make_standing_orders(day=CUTOFF)
    assert (counts["ordered"], counts["charged"]) == (1, 1)
    order = Order.objects.get()
    assert order.status == Order.Status.PAID and order.buyer == subscription.buyer
    assert order.shop_orders.get().status == ShopOrder.Status.NEW
    assert services.make_standing_orders(day=CUTOFF)["charged"] == 0
    assert Payment.objects.count() == 1


def test_a_declining_saved_card_leaves_the_order_waiting_and_tells_the_buyer(localstripe):
    subscription = subscriber(make_box(), card=saved_card("pm_card_chargeCustomerFail"))
    services.make_standing_orders(day=CUTOFF)
    order = Order.objects.get()
    assert order.status == Order.Status.PENDING_PAYMENT and order.reserved_until is not None
    assert order.shop_orders.get().status == ShopOrder.Status.AWAITING_PAYMENT
    note = Notification.objects.filter(recipient=subscription.buyer, kind="standing_order_payment_failed").first()
    assert note is not None and note.link == f"/orders/{order.number}/pay/"
    # It then expires as any unpaid order: stock back.
    assert order_services.expire_unpaid_orders(now=order.reserved_until + timedelta(minutes=1)) == 1
    assert sorted(Product.objects.values_list("stock", flat=True)) == [100, 100]
