"""After checkout: payment, cash, expiry, cancellation by buyer or shop, acceptance and completion."""
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.tests.factories import AgentFactory, BuyerFactory, FarmerFactory
from core.errors import ConflictError
from notifications.models import Notification
from orders import services, tasks
from orders.models import Order, Payment, ShopOrder
from shops.models import Product, ShopMember

from .factories import place

pytestmark = pytest.mark.django_db
OS, SS = Order.Status, ShopOrder.Status


@pytest.fixture(autouse=True)
def _card_payments_on(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"


def online_order(**kwargs) -> Order:
    return place(payment_method="stripe", **kwargs)


def stocks() -> list[int]:
    return list(Product.objects.order_by("pk").values_list("stock", flat=True))


# --- Paid ---


def test_mark_order_paid_releases_the_parts_to_the_shops_and_is_idempotent():
    order = online_order(shops=2)
    paid = services.mark_order_paid(order=order)
    assert (paid.status, paid.reserved_until) == (OS.PAID, None)
    assert paid.paid_at is not None
    assert set(order.shop_orders.values_list("status", flat=True)) == {SS.NEW}
    first_paid_at = paid.paid_at
    again = services.mark_order_paid(order=order)
    assert (again.status, again.paid_at) == (OS.PAID, first_paid_at)
    assert Notification.objects.filter(recipient=order.buyer, kind="order_paid", channel="inbox").count() == 1
    owners = {so.shop.owner_id for so in order.shop_orders.all()}
    told = Notification.objects.filter(kind="shop_order_new", channel="inbox")
    assert set(told.values_list("recipient", flat=True)) == owners and told.count() == 2


def test_payment_for_an_expired_order_is_a_conflict():
    order = online_order()
    services.expire_order(order=order)
    with pytest.raises(ConflictError) as exc:
        services.mark_order_paid(order=order)
    assert exc.value.code == "order_cancelled"


def test_cash_recorded_by_an_agent_pays_a_cash_order_once():
    order = place(payment_method="cod", shops=2)
    agent = AgentFactory()
    payment = services.record_cash_payment(order=order, agent=agent)
    assert (payment.provider, payment.status, payment.amount, payment.collected_by) == (
        Payment.Provider.CASH, Payment.Status.SUCCEEDED, order.total, agent)
    order.refresh_from_db()
    assert order.status == OS.PAID
    assert services.record_cash_payment(order=order, agent=agent) == payment
    assert Payment.objects.count() == 1


def test_only_agents_record_cash_and_only_for_cash_orders():
    with pytest.raises(PermissionDenied):
        services.record_cash_payment(order=place(payment_method="cod"), agent=BuyerFactory())
    with pytest.raises(ConflictError):
        services.record_cash_payment(order=online_order(), agent=AgentFactory())
    assert not Payment.objects.exists()


def test_switching_to_cash_on_delivery_sends_the_order_to_the_shops():
    order = online_order()
    services.switch_to_cash_on_delivery(order=order)
    order.refresh_from_db()
    assert (order.payment_method, order.reserved_until, order.status) == ("cod", None, OS.PENDING_PAYMENT)
    assert list(order.shop_orders.values_list("status", flat=True)) == [SS.NEW]
    assert services.expire_unpaid_orders(now=timezone.now() + timedelta(days=1)) == 0


# --- Expiry ---


def test_expire_order_returns_stock_cancels_everything_and_is_idempotent():
    order = online_order(shops=2, quantity=3)
    assert stocks() == [47, 47]
    services.expire_order(order=order)
    order.refresh_from_db()
    assert (order.status, order.reserved_until) == (OS.CANCELLED, None)
    assert set(order.shop_orders.values_list("status", flat=True)) == {SS.CANCELLED}
    assert stocks() == [50, 50]
    services.expire_order(order=order)
    assert stocks() == [50, 50]
    assert Notification.objects.filter(recipient=order.buyer, kind="order_expired", channel="inbox").count() == 1


def test_expiry_leaves_paid_and_cash_orders_alone():
    paid = services.mark_order_paid(order=online_order())
    cash = place(payment_method="cod")
    for order in (paid, cash):
        services.expire_order(order=order)
        order.refresh_from_db()
        assert order.status in (OS.PAID, OS.PENDING_PAYMENT) and order.cancelled_at is None


def test_the_beat_task_expires_only_orders_past_their_reservation(settings):
    due, fresh = online_order(), online_order()
    Order.objects.filter(pk=due.pk).update(reserved_until=timezone.now() - timedelta(seconds=1))
    assert settings.CELERY_BEAT_SCHEDULE["orders-expire-unpaid"]["task"] == "orders.expire_unpaid_orders"
    assert tasks.expire_unpaid_orders.delay().get() == 1
    assert Order.objects.get(pk=due.pk).status == OS.CANCELLED
    assert Order.objects.get(pk=fresh.pk).status == OS.PENDING_PAYMENT
    assert tasks.expire_unpaid_orders.delay().get() == 0


# --- Buyer cancels ---


def test_buyer_cancels_an_unpaid_order_and_the_stock_comes_back():
    order = online_order(quantity=4)
    services.cancel_order(order=order, actor=order.buyer)
    order.refresh_from_db()
    assert order.status == OS.CANCELLED and order.cancel_reason == "Cancelled by the buyer."
    assert stocks() == [50]


def test_buyer_cannot_cancel_once_a_shop_accepted_or_someone_elses():
    order = place(payment_method="cod", shops=2)
    with pytest.raises(PermissionDenied):
        services.cancel_order(order=order, actor=BuyerFactory())
    part = order.shop_orders.first()
    services.accept_shop_order(shop_order=part, actor=part.shop.owner)
    with pytest.raises(ConflictError) as exc:
        services.cancel_order(order=order, actor=order.buyer)
    assert exc.value.code == "already_accepted"
    assert Order.objects.get(pk=order.pk).status == OS.PENDING_PAYMENT
    assert stocks() == [48, 48]


def test_cancelling_a_cancelled_order_is_a_conflict():
    order = online_order()
    services.cancel_order(order=order, actor=order.buyer)
    with pytest.raises(ConflictError):
        services.cancel_order(order=order, actor=order.buyer)


# --- Seller accepts and cancels ---


def test_a_manager_accepts_and_accepting_twice_is_a_conflict():
    order = place(payment_method="cod")
    part = order.shop_orders.get()
    manager = FarmerFactory()
    ShopMember.objects.create(shop=part.shop, user=manager, role=ShopMember.Role.MANAGER)
    accepted = services.accept_shop_order(shop_order=part, actor=manager)
    assert accepted.status == SS.ACCEPTED and accepted.accepted_at is not None
    with pytest.raises(ConflictError) as exc:
        services.accept_shop_order(shop_order=part, actor=manager)
    assert exc.value.code == "illegal_transition"


def test_only_the_shops_managers_accept_or_cancel():
    part = place(payment_method="cod").shop_orders.get()
    member = FarmerFactory()
    ShopMember.objects.create(shop=part.shop, user=member, role=ShopMember.Role.MEMBER)
    for actor in (FarmerFactory(), member):
        with pytest.raises(PermissionDenied):
            services.accept_shop_order(shop_order=part, actor=actor)
        with pytest.raises(PermissionDenied):
            services.cancel_shop_order(shop_order=part, actor=actor, reason="no")
    assert ShopOrder.objects.get(pk=part.pk).status == SS.NEW


def test_an_unpaid_online_part_cannot_be_accepted_or_cancelled_by_the_shop():
    part = online_order().shop_orders.get()
    with pytest.raises(ConflictError):
        services.accept_shop_order(shop_order=part, actor=part.shop.owner)
    with pytest.raises(ConflictError):
        services.cancel_shop_order(shop_order=part, actor=part.shop.owner, reason="no stock")


def test_seller_cancel_needs_a_reason():
    part = place(payment_method="cod").shop_orders.get()
    for reason in ("", "   ", "x" * 201):
        with pytest.raises(ValidationError) as exc:
            services.cancel_shop_order(shop_order=part, actor=part.shop.owner, reason=reason)
        assert "reason" in exc.value.message_dict


def test_seller_cancels_one_part_then_the_other_and_the_order_follows():
    order = place(payment_method="cod", shops=2, quantity=5)
    first, second = order.shop_orders.order_by("pk")
    services.accept_shop_order(shop_order=first, actor=first.shop.owner)
    services.cancel_shop_order(shop_order=first, actor=first.shop.owner, reason="Hail damaged the crop")
    order.refresh_from_db()
    first.refresh_from_db()
    assert (first.status, first.cancel_reason) == (SS.CANCELLED, "Hail damaged the crop")
    assert order.status == OS.PENDING_PAYMENT
    assert stocks() == [50, 45]
    told = Notification.objects.get(recipient=order.buyer, kind="order_cancelled", channel="inbox")
    assert "Hail damaged the crop" in told.body
    services.cancel_shop_order(shop_order=second, actor=second.shop.owner, reason="Sold out")
    order.refresh_from_db()
    assert order.status == OS.CANCELLED
    assert stocks() == [50, 50]


def test_cancelling_after_hand_over_is_a_conflict():
    order = place(payment_method="cod")
    part = order.shop_orders.get()
    ShopOrder.objects.filter(pk=part.pk).update(status=SS.HANDED_OVER)
    with pytest.raises(ConflictError) as exc:
        services.cancel_shop_order(shop_order=part, actor=part.shop.owner, reason="late")
    assert exc.value.code == "illegal_transition"
    assert stocks() == [48]


# --- Completion ---


def test_the_order_completes_with_its_last_part_and_cancelled_parts_do_not_block_it():
    order = services.mark_order_paid(order=online_order(shops=3))
    a, b, c = order.shop_orders.order_by("pk")
    ShopOrder.objects.filter(pk__in=[a.pk, b.pk]).update(status=SS.DELIVERED)
    services.complete_shop_order(shop_order=a)
    assert Order.objects.get(pk=order.pk).status == OS.PAID
    ShopOrder.objects.filter(pk=c.pk).update(status=SS.CANCELLED)
    services.complete_shop_order(shop_order=b)
    assert Order.objects.get(pk=order.pk).status == OS.COMPLETED
    with pytest.raises(ConflictError):
        services.complete_shop_order(shop_order=ShopOrder.objects.get(pk=c.pk))


def test_a_cash_order_completes_once_the_cash_is_recorded():
    order = place(payment_method="cod")
    part = order.shop_orders.get()
    ShopOrder.objects.filter(pk=part.pk).update(status=SS.DELIVERED)
    services.complete_shop_order(shop_order=part)
    assert Order.objects.get(pk=order.pk).status == OS.PENDING_PAYMENT
    services.record_cash_payment(order=order, agent=AgentFactory())
    assert Order.objects.get(pk=order.pk).status == OS.COMPLETED


def test_completing_an_undelivered_part_is_a_conflict():
    part = place(payment_method="cod").shop_orders.get()
    with pytest.raises(ConflictError):
        services.complete_shop_order(shop_order=part)



def test_a_cash_payment_already_taken_is_not_cancelled_by_a_click():
    order = place(payment_method="cod")
    services.record_cash_payment(order=order, agent=AgentFactory())
    with pytest.raises(ConflictError) as exc:
        services.cancel_order(order=order, actor=order.buyer)
    assert exc.value.code == "paid_in_cash"
    assert Order.objects.get(pk=order.pk).status == OS.PAID
