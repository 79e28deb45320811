"""Payout runs under real concurrency on PostgreSQL: each shop is paid once; a refund racing a run leaves the
right balance."""
from decimal import Decimal

import pytest

from ledger import reconcile, services
from ledger.models import Payout, ShopBalance
from orders.tests.test_concurrency import race
from shops.tests.factories import ProductFactory

from .helpers import card_sale, complete, fake_stripe_refunds, give_account, partial_refund

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def shops_with_money(n: int):
    parts = []
    for _ in range(n):
        product = ProductFactory(price=Decimal("100.00"), stock=100)
        give_account(product.shop)
        order = card_sale(lines=[(product, 1)])
        parts.append(complete(order.shop_orders.get()))
    return parts


@pytest.mark.parametrize("same_period", [True, False])
def test_two_payout_runs_at_once_pay_each_shop_once(postgres, same_period):
    parts = shops_with_money(6)
    results = race(["a", "b"], lambda who: services.run_payouts(period="w1" if same_period else f"w1-{who}"))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(made for _batch, made in results) == 6
    assert Payout.objects.count() == 6
    assert set(Payout.objects.values_list("shop_id", flat=True)) == {p.shop_id for p in parts}
    assert set(Payout.objects.values_list("amount", flat=True)) == {Decimal("95.00")}
    assert not ShopBalance.objects.exclude(available=0).exists()
    assert reconcile.check() == []


def test_a_refund_racing_a_payout_run_leaves_the_right_balance(postgres, monkeypatch):
    fake_stripe_refunds(monkeypatch)
    (part,) = shops_with_money(1)

    def work(who):
        if who == "run":
            return services.run_payouts(period="w1")
        return partial_refund(part, Decimal("30.00"))

    for outcome in race(["run", "refund"], work):
        assert not isinstance(outcome, Exception), outcome
    balance = ShopBalance.objects.get(shop_id=part.shop_id)
    paid = sum(Payout.objects.values_list("amount", flat=True), Decimal("0"))
    # 95 earned; 30 of goods refunded with 1.50 of commission given back: 66.50 is the shop's in the end,
    # paid out or (when the refund won) still available, or negative when the payout took all 95 first.
    assert paid + balance.available + balance.pending == Decimal("66.50")
    assert paid in (Decimal("95.00"), Decimal("66.50"))
    assert reconcile.check() == []
