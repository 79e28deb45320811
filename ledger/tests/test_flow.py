"""Money through a sale: pending while on its way, available when completed, paid out, refunded after."""
from decimal import Decimal

import pytest

from ledger import reconcile, services
from ledger.models import Earning, JournalEntry, Payout, ShopBalance
from logistics.tests.factories import staff
from orders import services as order_services

from .helpers import card_sale, cash_sale, complete, fake_stripe_refunds, give_account, partial_refund

pytestmark = pytest.mark.django_db


def balance(shop) -> ShopBalance:
    return ShopBalance.objects.get(shop=shop)


def test_a_card_sale_is_pending_then_available_net_of_commission():
    order = card_sale(price=Decimal("20.00"), quantity=3)
    part = order.shop_orders.get()
    b = balance(part.shop)
    assert (b.pending, b.available) == (Decimal("57.00"), Decimal("0"))  # 60 - 5% commission, shipping not the shop's
    assert Earning.objects.get(shop_order=part).commission == Decimal("3.00")
    complete(part)
    b.refresh_from_db()
    assert (b.pending, b.available) == (Decimal("0"), Decimal("57.00"))
    assert reconcile.check() == []


def test_cash_lands_in_the_station_drawer():
    order, agent = cash_sale(price=Decimal("15.50"))
    entry = JournalEntry.objects.get(kind="cash")
    assert entry.payment.collected_by == agent
    station = agent.agent.station
    assert services.drawer_balance(station) == order.total
    assert reconcile.check() == []


def test_a_refund_after_completion_makes_the_balance_negative_and_the_next_payout_recovers_it(monkeypatch):
    fake_stripe_refunds(monkeypatch)
    order = card_sale(price=Decimal("100.00"), quantity=1)
    part = order.shop_orders.get()
    give_account(part.shop)
    complete(part)
    services.run_payouts(period="w1")
    partial_refund(part, Decimal("40.00"))
    b = balance(part.shop)
    assert b.available == Decimal("-38.00")  # 40 of goods back, 2.00 of commission given back
    second = card_sale(lines=[(part.lines.get().product, 1)])
    complete(second.shop_orders.get())
    batch, made = services.run_payouts(period="w2")
    assert made == 1 and Payout.objects.get(batch=batch).amount == Decimal("57.00")  # 95 - 38
    assert reconcile.check() == []


def test_a_cancelled_paid_part_is_refunded_whole_and_leaves_nothing_pending(monkeypatch):
    fake_stripe_refunds(monkeypatch)
    order = card_sale(shops=2)
    first, second = order.shop_orders.order_by("pk")
    order_services.cancel_shop_order(shop_order=first, actor=first.shop.owner, reason="Frost")
    assert balance(first.shop).pending == 0
    assert balance(second.shop).pending == Decimal("38.00")
    assert reconcile.check() == []


def test_payout_paid_and_failed():
    order = card_sale(price=Decimal("50.00"), quantity=1)
    part = order.shop_orders.get()
    give_account(part.shop)
    complete(part)
    admin = staff()
    batch, made = services.run_payouts(period="w1")
    payout = Payout.objects.get(batch=batch)
    services.mark_payout_failed(payout=payout, actor=admin, reason="Account closed")
    b = balance(part.shop)
    assert (b.available, b.scheduled) == (Decimal("47.50"), 0)
    batch2, _ = services.run_payouts(period="w2")
    again = Payout.objects.get(batch=batch2)
    services.mark_payout_paid(payout=again, actor=admin, reference="BANK-1")
    b.refresh_from_db()
    assert (b.available, b.scheduled, b.paid_out) == (0, 0, Decimal("47.50"))
    assert reconcile.check() == []


def test_a_cancelled_part_of_a_cash_order_gives_its_cash_back_from_the_drawer():
    order, agent = cash_sale(shops=2, price=Decimal("20.00"))
    first, second = order.shop_orders.order_by("pk")
    order_services.cancel_shop_order(shop_order=first, actor=first.shop.owner, reason="Hail")
    assert balance(first.shop).pending == 0
    assert balance(second.shop).pending == Decimal("38.00")
    assert services.drawer_balance(agent.agent.station) == second.total
    assert reconcile.check() == []
