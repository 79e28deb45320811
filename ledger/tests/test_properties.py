"""Random sequences of money events on PostgreSQL: the ledger always balances, no shop is paid twice, and every
fen is accounted for (money in = payouts + balances + commission + shipping + refunds, card or cash)."""
from decimal import Decimal

import pytest
from django.db.models import Count, Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import reconcile, services
from ledger.models import Earning, JournalLine, Payout, ShopBalance
from ledger.money import ZERO
from logistics.tests.factories import StationFactory, agent_at, staff
from orders import services as order_services
from orders.models import Order, Payment, Refund, ShopOrder
from orders.tests.factories import place
from shops.tests.factories import ProductFactory

from .helpers import complete, fake_stripe_refunds, give_account, partial_refund, pay_by_card

pytestmark = [pytest.mark.services]

step = st.one_of(
    st.tuples(st.just("checkout"), st.sampled_from(["card", "cash"]), st.integers(1, 3), st.integers(1, 9_999),
              st.integers(1, 4)),
    st.tuples(st.just("partial_refund"), st.integers(0, 50), st.integers(1, 99)),
    st.tuples(st.just("cancel_part"), st.integers(0, 50)),
    st.tuples(st.just("complete"), st.integers(0, 50)),
    st.tuples(st.just("run_payouts")),
    st.tuples(st.just("payout_fails"), st.integers(0, 50)),
    st.tuples(st.just("payout_paid"), st.integers(0, 50)),
)


def every_fen_accounted_for() -> None:
    money_in = Payment.objects.filter(status=Payment.Status.SUCCEEDED).aggregate(s=Sum("amount"))["s"] or ZERO
    refunds = Refund.objects.exclude(status=Refund.Status.FAILED).aggregate(s=Sum("amount"))["s"] or ZERO
    payouts = Payout.objects.exclude(status=Payout.Status.FAILED).aggregate(s=Sum("amount"))["s"] or ZERO
    balances = ShopBalance.objects.aggregate(s=Sum("pending") + Sum("available"))["s"] or ZERO
    kept = Earning.objects.aggregate(c=Sum("commission") - Sum("refunded_commission"),
                                     s=Sum("shipping") - Sum("refunded_shipping"))
    adjustments = JournalLine.objects.filter(account__code="adjustments").aggregate(s=Sum("amount"))["s"] or ZERO
    # Cash of a cancelled part of a cash order, handed back to the buyer from the station's drawer.
    cash_back = -(JournalLine.objects.filter(entry__kind="refund", account__kind="station_cash")
                  .aggregate(s=Sum("amount"))["s"] or ZERO)
    assert money_in + adjustments == (payouts + balances + (kept["c"] or ZERO) + (kept["s"] or ZERO) + refunds
                                      + cash_back)


def nobody_paid_twice() -> None:
    """Per shop, what it was paid (or is being paid) plus what it still has equals what it earned: a payout taken
    twice from the same money would leave the shop short of that identity by its amount."""
    paid = dict(Payout.objects.exclude(status=Payout.Status.FAILED).values_list("shop_id").annotate(
        s=Sum("amount")).values_list("shop_id", "s"))
    earned: dict[int, Decimal] = {}
    for earning in Earning.objects.all():
        earned[earning.shop_id] = earned.get(earning.shop_id, ZERO) + earning.net
    for balance in ShopBalance.objects.all():
        assert paid.get(balance.shop_id, ZERO) + balance.pending + balance.available == earned.get(
            balance.shop_id, ZERO), balance.shop_id
    assert not Payout.objects.values("batch_id", "shop_id").annotate(n=Count("pk")).filter(n__gt=1).exists()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=14))
def test_random_money_events_keep_the_books_right(postgres, monkeypatch, steps):
    fake_stripe_refunds(monkeypatch)
    admin = staff()
    agent = agent_at(StationFactory())
    products = [ProductFactory(price=Decimal("1.00"), stock=1_000_000) for _ in range(3)]
    for product in products:
        give_account(product.shop)
    parts: list[int] = []
    periods = iter(range(10_000))
    for op, *args in steps:
        if op == "checkout":
            method, shops, cents, quantity = args
            for product in products[:shops]:
                product.price = Decimal(cents) / 100
                product.save(update_fields=["price"])
            order = place(payment_method="stripe" if method == "card" else "cod",
                          lines=[(p, quantity) for p in products[:shops]])
            if method == "card":
                pay_by_card(order)
            else:
                order_services.record_cash_payment(order=order, agent=agent)
            parts += list(order.shop_orders.values_list("pk", flat=True))
        elif op in ("partial_refund", "cancel_part", "complete") and parts:
            part = ShopOrder.objects.select_related("order").get(pk=parts[args[0] % len(parts)])
            card = part.order.payment_method == Order.PaymentMethod.STRIPE
            if op == "partial_refund" and card and part.status != ShopOrder.Status.CANCELLED:
                left = part.total - part.refunded_amount
                amount = (left * args[1] / 100).quantize(Decimal("0.01"))
                if amount > 0:
                    partial_refund(part, amount)
            elif op == "cancel_part" and part.status in (ShopOrder.Status.NEW, ShopOrder.Status.ACCEPTED):
                order_services.cancel_shop_order(shop_order=part, actor=part.shop.owner, reason="Frost")
            elif op == "complete" and part.status == ShopOrder.Status.NEW:
                complete(part)
        elif op == "run_payouts":
            services.run_payouts(period=f"p{next(periods)}-{id(steps)}")
        elif op in ("payout_fails", "payout_paid"):
            scheduled = list(Payout.objects.filter(status=Payout.Status.SCHEDULED).order_by("pk"))
            if scheduled:
                payout = scheduled[args[0] % len(scheduled)]
                if op == "payout_fails":
                    services.mark_payout_failed(payout=payout, actor=admin, reason="Account closed")
                else:
                    services.mark_payout_paid(payout=payout, actor=admin, reference="REF")
        assert reconcile.check() == []
    every_fen_accounted_for()
    nobody_paid_twice()
