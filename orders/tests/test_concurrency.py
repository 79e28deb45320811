"""Checkout under real concurrency on PostgreSQL: stock is never oversold and never negative."""
import threading

import pytest
from django.db import connection

from accounts.tests.factories import AddressFactory, BuyerFactory
from core.errors import ConflictError
from orders import services
from orders.models import Order, OrderLine
from shops.models import Product
from shops.tests.factories import ProductFactory

from .factories import fill_cart

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def race(buyers, work) -> list:
    """Run work(buyer) in one thread per buyer, released together; each thread uses and closes its own connection."""
    gate = threading.Barrier(len(buyers))
    results: list = []
    lock = threading.Lock()

    def run(buyer):
        try:
            gate.wait(timeout=30)
            outcome = work(buyer)
        except Exception as exc:  # every outcome is recorded; the test says which are allowed
            outcome = exc
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=run, args=(buyer,)) for buyer in buyers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    # Eager Celery's apply_async saves and restores a process-wide "inside a task" flag; threads sending
    # notifications at once can leave it set, which would break later tests that wait on a result.
    from celery._state import _set_task_join_will_block

    _set_task_join_will_block(False)
    return results


def test_thirty_buyers_race_for_the_last_ten_units(postgres):
    product = ProductFactory(stock=10, title="最后十箱苹果")
    buyers = []
    for _ in range(30):
        buyer = BuyerFactory()
        AddressFactory(user=buyer)
        fill_cart(buyer, (product, 1))
        buyers.append(buyer)

    def checkout(buyer):
        return services.place_order(buyer=buyer, address=buyer.addresses.get(), payment_method="cod")

    results = race(buyers, checkout)
    orders = [r for r in results if isinstance(r, Order)]
    conflicts = [r for r in results if isinstance(r, ConflictError)]
    assert len(orders) == 10 and len(conflicts) == 20, [r for r in results if not isinstance(r, Order | ConflictError)]
    assert all("最后十箱苹果" in c.message for c in conflicts)
    assert Product.objects.get(pk=product.pk).stock == 0
    assert sum(OrderLine.objects.values_list("quantity", flat=True)) == 10
    assert Order.objects.count() == 10
    # Losers keep their cart; winners' carts are empty.
    assert sum(1 for b in buyers if b.cart.items.exists()) == 20


def test_carts_locking_products_in_opposite_orders_never_deadlock(postgres):
    first, second = ProductFactory(stock=100), ProductFactory(stock=100)
    buyers = []
    for n in range(20):
        buyer = BuyerFactory()
        AddressFactory(user=buyer)
        pair = [(first, 1), (second, 2)] if n % 2 else [(second, 2), (first, 1)]
        fill_cart(buyer, *pair)
        buyers.append(buyer)
    results = race(buyers, lambda b: services.place_order(buyer=b, address=b.addresses.get(), payment_method="cod"))
    assert all(isinstance(r, Order) for r in results), results
    assert (Product.objects.get(pk=first.pk).stock, Product.objects.get(pk=second.pk).stock) == (80, 60)


def test_expiry_and_payment_racing_on_one_order_leave_one_consistent_outcome(postgres, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    product = ProductFactory(stock=5)
    buyer = BuyerFactory()
    fill_cart(buyer, (product, 2))
    order = services.place_order(buyer=buyer, address=AddressFactory(user=buyer), payment_method="stripe")

    def act(kind):
        if kind == "pay":
            try:
                return services.mark_order_paid(order=order).status
            except ConflictError:
                return "refused"
        return services.expire_order(order=order).status

    results = race(["pay", "expire"] * 3, act)
    order.refresh_from_db()
    stock = Product.objects.get(pk=product.pk).stock
    if order.status == Order.Status.PAID:
        assert stock == 3
    else:
        assert order.status == Order.Status.CANCELLED and stock == 5 and "refused" in results
