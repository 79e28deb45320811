"""Money moving through the real services: checkout, card or cash payment, refunds, fulfilment, payouts.

Stripe is played here only where a test does not need the network: `pay_by_card` records Stripe's word that an
intent succeeded exactly as the webhook does (orders.payments.intents.apply_intent), and `fake_stripe_refunds`
answers refund requests the way Stripe does. The end-to-end test uses localstripe instead.
"""
from decimal import Decimal
from itertools import count

from core.money import to_minor_units
from ledger import services
from ledger.models import PayoutAccount
from logistics.tests.factories import StationFactory, agent_at
from orders import services as order_services
from orders.models import Order, Payment, ShopOrder
from orders.payments import gateway, intents, refunds
from orders.tests.factories import place

_ids = count(1)


def pay_by_card(order: Order) -> Payment:
    n = next(_ids)
    payment = Payment.objects.create(order=order, provider=Payment.Provider.STRIPE, intent_id=f"pi_fake_{order.pk}_{n}",
                                     idempotency_key=f"fake-{order.pk}-{n}", amount=order.total,
                                     currency=order.currency)
    minor = to_minor_units(order.total)
    intents.apply_intent(intent={"id": payment.intent_id, "status": "succeeded", "amount": minor,
                                 "amount_received": minor, "currency": "cny",
                                 "metadata": {"order_number": order.number}})
    payment.refresh_from_db()
    return payment


def fake_stripe_refunds(monkeypatch) -> None:
    def refund(*, intent_id, idempotency_key, amount=None, metadata=None):
        payment = Payment.objects.get(intent_id=intent_id)
        return gateway.IntentRefund(id=f"re_fake_{next(_ids)}", status="succeeded",
                                    amount=payment.amount if amount is None else amount,
                                    payment_intent=intent_id, metadata=dict(metadata or {}))

    monkeypatch.setattr(gateway, "refund", refund)


def partial_refund(part: ShopOrder, amount: Decimal, status: str = "succeeded") -> None:
    """A refund made at Stripe (the dashboard) for part of a shop's part, reported by charge.refunded."""
    payment = part.order.payments.get(status=Payment.Status.SUCCEEDED)
    refunds.record_charge_refunds(charge={"payment_intent": payment.intent_id, "refunds": {"data": [
        {"id": f"re_dash_{next(_ids)}", "status": status, "amount": to_minor_units(amount),
         "payment_intent": payment.intent_id, "metadata": {"shop_order": str(part.pk)}}]}})


def complete(part: ShopOrder) -> ShopOrder:
    """Accepted, packed, handed over, delivered and completed, through orders' public moves."""
    part = ShopOrder.objects.get(pk=part.pk)
    if part.status == ShopOrder.Status.NEW:
        order_services.accept_shop_order(shop_order=part, actor=part.shop.owner)
    order_services.mark_packed(shop_order=part)
    order_services.mark_handed_over(shop_order=part)
    order_services.mark_delivered(shop_orders=[part])
    return order_services.complete_shop_order(shop_order=part)


def card_sale(**kwargs) -> Order:
    order = place(payment_method=Order.PaymentMethod.STRIPE, **kwargs)
    pay_by_card(order)
    order.refresh_from_db()
    return order


def cash_sale(agent=None, **kwargs) -> tuple[Order, object]:
    agent = agent or agent_at(StationFactory())
    order = place(payment_method=Order.PaymentMethod.COD, **kwargs)
    order_services.record_cash_payment(order=order, agent=agent)
    order.refresh_from_db()
    return order, agent


def give_account(shop, number: str = "6222020202020202") -> PayoutAccount:
    return services.set_payout_account(shop=shop, actor=shop.owner, holder="李大山", bank="农业银行桃源支行",
                                       account_number=number)
