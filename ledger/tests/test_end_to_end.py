"""End to end against a local Stripe-compatible server: the buyer pays by card, the farm's parcel travels and
the buyer confirms it, the payout run pays the farm, and the statement shows the sale, the commission and the
payout; then a refund after the payout leaves the farm owing it, recovered from the next payout."""
from decimal import Decimal

import pytest

from ledger import reconcile, services
from ledger.models import Payout, ShopBalance
from logistics import services as logistics_services
from logistics.tests.factories import StationFactory, agent_at, shop_at, staff
from orders import services as order_services
from orders.models import Order, Refund
from orders.payments import gateway, intents, refunds
from orders.tests.factories import place
from shops.tests.factories import HarvestLotFactory, ProductFactory

from .helpers import give_account

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_card_sale_to_payout_and_statement(localstripe, client):
    station = StationFactory()
    agent = agent_at(station)
    shop = shop_at(station)
    give_account(shop)
    product = ProductFactory(shop=shop, price=Decimal("88.00"), stock=10)
    HarvestLotFactory(product=product, quantity=100)
    order = place(lines=[(product, 2)], payment_method=Order.PaymentMethod.STRIPE)

    # The buyer pays at (local) Stripe; Farmgate records Stripe's answer as the webhook would.
    intent_id = intents.start_payment(order=order)["payment_intent"]
    stripe = gateway.stripe_client()
    stripe.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    intents.apply_intent(intent=stripe.v1.payment_intents.confirm(intent_id).to_dict())
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert ShopBalance.objects.get(shop=shop).pending == Decimal("167.20")  # 176 - 5%

    # The farm packs and hands over; the agent ships; the buyer confirms with the delivery code.
    part = order_services.accept_shop_order(shop_order=order.shop_orders.get(), actor=shop.owner)
    lots = {part.lines.get().pk: product.lots.get()}
    logistics_services.pack_shop_order(shop_order=part, actor=shop.owner, lots=lots)
    parcel = logistics_services.hand_over_shop_order(shop_order=part, actor=shop.owner)
    logistics_services.receive_parcel(actor=agent, code=parcel.code)
    shipment = logistics_services.create_shipment(actor=agent, destination="杭州市", carrier="顺丰速运")
    logistics_services.add_parcels_to_shipment(shipment=shipment, actor=agent, codes=[parcel.code])
    logistics_services.record_shipment_event(shipment=shipment, actor=agent, kind="departed")
    parcel.refresh_from_db()
    logistics_services.confirm_delivery_by_buyer(order=order, buyer=order.buyer, code=parcel.delivery_code)
    balance = ShopBalance.objects.get(shop=shop)
    assert (balance.pending, balance.available) == (0, Decimal("167.20"))

    # Monday: the payout run; staff confirm the bank transfer.
    _batch, made = services.run_payouts(period="e2e-1")
    assert made == 1
    payout = Payout.objects.get()
    services.mark_payout_paid(payout=payout, actor=staff(), reference="ABC-BANK-1")

    client.force_login(shop.owner)
    page = client.get(f"/seller/money/payouts/{payout.pk}/").content.decode()
    assert order.number in page and "176.00" in page and "-8.80" in page and "-167.20" in page
    assert "ABC-BANK-1" in page
    money = client.get("/seller/money/").content.decode()
    assert "167.20" in money and order.number in money

    # A refund after the payout: at Stripe for real; the farm owes it until its next sales cover it.
    refund = refunds.refund_shop_order(shop_order=part, reason="Bruised on arrival")
    assert refund.status == Refund.Status.SUCCEEDED
    balance.refresh_from_db()
    assert balance.available == Decimal("-167.20") and balance.paid_out == Decimal("167.20")
    assert reconcile.check() == []


def test_a_weighed_card_order_is_booked_at_the_captured_amount_not_the_authorised_most(
        localstripe, django_capture_on_commit_callbacks):
    from ledger.models import Earning
    from orders.tests.test_weighed import accepted, authorised_order, pack, weighed_product

    order = authorised_order([(weighed_product(kg_price="12.00", piece_kg="2.000"), 3)])
    assert not Earning.objects.exists()  # an authorisation is not money in
    part = accepted(order)
    with django_capture_on_commit_callbacks(execute=True):
        pack(part, {part.lines.get().pk: "5.5"})  # 5.5 kg x 12.00 = 66.00, against a most of 79.20
    order.refresh_from_db()
    earning = Earning.objects.get(shop_order=part)
    assert earning.goods == Decimal("66.00") and order.total < order.max_total
    assert ShopBalance.objects.get(shop=part.shop).pending > 0
    # The receipt booked is the captured payment; every payment has its entries and the ledger balances.
    assert reconcile.check() == []
