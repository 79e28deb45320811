"""Pre-sale and group-buy life cycles against a real local Stripe-compatible server (localstripe):
authorise (manual capture), capture when the farm ships or the group fills, release when the harvest fails
or the group expires. After-commit work (tasks, eager here) runs as on a real commit."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.errors import ConflictError
from logistics import services as logistics
from logistics.tests.factories import StationFactory, shop_at
from notifications.models import Notification
from orders import services as order_services
from orders.models import Order, Payment, Refund, ShopOrder
from orders.payments import gateway, intents
from presales import services
from presales.models import BuyingGroup, GroupMember, PreOrder
from shops.models import Product
from shops.tests.factories import HarvestLotFactory, ProductFactory

from .factories import join, make_deal, make_presale, preorder, start

pytestmark = pytest.mark.django_db


def intent_of(order: Order):
    payment = order.payments.filter(intent_id__isnull=False).order_by("-id").first()
    return gateway.stripe_client().v1.payment_intents.retrieve(payment.intent_id)


def authorise(order: Order, card: str = "pm_card_visa") -> dict:
    """What the hold page does with the buyer's card, confirmed on the server."""
    return services.authorise_card(order=order, payment_method=card)


@pytest.fixture
def run_after_commit(django_capture_on_commit_callbacks):
    """Run the block's after-commit callbacks (and those they schedule) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def farm_with_station():
    station = StationFactory()
    shop = shop_at(station)
    product = ProductFactory(shop=shop, price=Decimal("68.00"), stock=0)
    HarvestLotFactory(product=product, quantity=100)
    return shop, product


def ship(part: ShopOrder) -> None:
    """The farm accepts, packs from its lot and hands the parcel over at the village station."""
    owner = part.shop.owner
    order_services.accept_shop_order(shop_order=part, actor=owner)
    lots = {line.pk: line.product.lots.first() for line in part.lines.select_related("product")}
    logistics.pack_shop_order(shop_order=part, actor=owner, lots=lots)
    logistics.hand_over_shop_order(shop_order=part, actor=owner)


class TestCardPreOrder:
    def test_authorised_at_order_time_and_captured_when_the_farm_ships(self, localstripe, farm_with_station,
                                                                       run_after_commit):
        _shop, product = farm_with_station
        presale = make_presale(product=product, price=Decimal("50.00"))
        with run_after_commit():
            pre = preorder(presale, quantity=2, payment=PreOrder.Payment.CARD)
        order = pre.order
        assert pre.status == PreOrder.Status.PENDING
        assert order.shop_orders.get().status == ShopOrder.Status.AWAITING_PAYMENT

        with run_after_commit():
            result = authorise(order)
        assert result["status"] == "requires_capture"
        intent = intent_of(order)
        assert (intent.status, intent.capture_method, intent.amount) == ("requires_capture", "manual",
                                                                         int(order.total * 100))
        pre.refresh_from_db()
        part = order.shop_orders.get()
        assert pre.status == PreOrder.Status.AUTHORISED
        assert part.status == ShopOrder.Status.NEW  # the farm sees it now
        assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING_PAYMENT  # nothing charged yet
        assert Notification.objects.filter(kind="presale_order_new", recipient=product.shop.owner).exists()

        with run_after_commit():
            ship(part)
        assert intent_of(order).status == "succeeded"
        pre.refresh_from_db()
        order.refresh_from_db()
        assert pre.status == PreOrder.Status.PAID
        assert order.status == Order.Status.PAID
        assert order.payments.get().status == Payment.Status.SUCCEEDED

    def test_capture_is_idempotent(self, localstripe, farm_with_station, run_after_commit):
        _shop, product = farm_with_station
        with run_after_commit():
            pre = preorder(make_presale(product=product), payment=PreOrder.Payment.CARD)
            authorise(pre.order)
        with run_after_commit():
            ship(pre.order.shop_orders.get())
        again = services.capture_presale_order(order=pre.order)
        assert again.status == PreOrder.Status.PAID
        assert Payment.objects.filter(order=pre.order).count() == 1

    def test_capture_before_shipping_is_refused(self, localstripe, run_after_commit):
        with run_after_commit():
            pre = preorder(make_presale(), payment=PreOrder.Payment.CARD)
            authorise(pre.order)
        with pytest.raises(ConflictError) as caught:
            services.capture_presale_order(order=pre.order)
        assert caught.value.code == "not_shipped"
        assert intent_of(pre.order).status == "requires_capture"

    def test_harvest_failed_releases_the_authorisation(self, localstripe, run_after_commit):
        presale = make_presale(capacity=10)
        with run_after_commit():
            held = preorder(presale, quantity=3, payment=PreOrder.Payment.CARD)
            authorise(held.order)
            cash = preorder(presale, quantity=2)
        with run_after_commit():
            services.cancel_presale(presale=presale, actor=presale.product.shop.owner, reason="冰雹 Hail")
        assert intent_of(held.order).status == "canceled"
        held.refresh_from_db()
        cash.refresh_from_db()
        presale.refresh_from_db()
        assert held.status == cash.status == PreOrder.Status.CANCELLED
        assert held.order.status == Order.Status.CANCELLED
        assert held.order.payments.get().status == Payment.Status.CANCELLED
        assert presale.units_sold == 0
        note = Notification.objects.get(recipient=held.buyer, kind="presale_order_cancelled",
                                        channel=Notification.Channel.INBOX)
        assert "released" in note.body and "Hail" in note.body

    def test_release_task_runs_twice_without_harm(self, localstripe, run_after_commit):
        from presales import tasks

        presale = make_presale()
        with run_after_commit():
            held = preorder(presale, payment=PreOrder.Payment.CARD)
            authorise(held.order)
        with run_after_commit():
            services.cancel_presale(presale=presale, actor=presale.product.shop.owner, reason="Hail")
        assert tasks.release_for_failed_harvest(held.pk) == PreOrder.Status.CANCELLED
        assert services.release_order_hold(order=held.order) == [Payment.Status.CANCELLED]
        # One message per channel (inbox and email), however often the release ran.
        assert Notification.objects.filter(recipient=held.buyer, kind="presale_order_cancelled").count() == 2

    def test_a_declined_card_leaves_the_preorder_waiting_and_a_good_card_works(self, localstripe, run_after_commit):
        with run_after_commit():
            pre = preorder(make_presale(), payment=PreOrder.Payment.CARD)
        with pytest.raises(gateway.CardDeclined):
            authorise(pre.order, card="pm_card_chargeCustomerFail")
        pre.refresh_from_db()
        assert pre.status == PreOrder.Status.PENDING
        with run_after_commit():
            assert authorise(pre.order)["status"] == "requires_capture"
        pre.refresh_from_db()
        assert pre.status == PreOrder.Status.AUTHORISED

    def test_a_lapsed_authorisation_makes_the_payment_due(self, localstripe, farm_with_station, run_after_commit):
        _shop, product = farm_with_station
        with run_after_commit():
            pre = preorder(make_presale(product=product), payment=PreOrder.Payment.CARD)
            authorise(pre.order)
        # The card network drops the authorisation (as after about 7 days): cancelled at Stripe, unknown here.
        gateway.stripe_client().v1.payment_intents.cancel(intent_of(pre.order).id)
        with run_after_commit():
            ship(pre.order.shop_orders.get())
        pre.refresh_from_db()
        assert pre.status == PreOrder.Status.PAYMENT_DUE
        assert pre.order.status == Order.Status.PENDING_PAYMENT
        assert Notification.objects.filter(recipient=pre.buyer, kind="presale_payment_due").exists()
        # The ordinary pay page then takes the money, and the pre-order follows.
        details = intents.start_payment(order=pre.order)
        client = gateway.stripe_client()
        client.v1.payment_intents.update(details["payment_intent"], params={"payment_method": "pm_card_visa"})
        with run_after_commit():
            intents.apply_intent(intent=client.v1.payment_intents.confirm(details["payment_intent"]).to_dict())
        pre.refresh_from_db()
        assert pre.status == PreOrder.Status.PAID

    def test_not_authorised_in_time_gives_the_units_back(self, localstripe, run_after_commit):
        presale = make_presale(capacity=5)
        with run_after_commit():
            pre = preorder(presale, quantity=5, payment=PreOrder.Payment.CARD)
            services.card_hold_details(order=pre.order)  # the hold page opened, the buyer walked away
        with run_after_commit():
            released = services.release_unpaid_preorders(now=timezone.now() + timedelta(hours=1))
        assert released == 1
        pre.refresh_from_db()
        presale.refresh_from_db()
        assert pre.status == PreOrder.Status.CANCELLED and presale.units_sold == 0
        assert intent_of(pre.order).status == "canceled"

    def test_an_authorisation_the_site_missed_is_kept_not_released(self, localstripe, run_after_commit):
        with run_after_commit():
            pre = preorder(make_presale(), payment=PreOrder.Payment.CARD)
            details = services.card_hold_details(order=pre.order)
        # The device confirmed at Stripe, but the site never heard (no webhook for an authorisation here).
        client = gateway.stripe_client()
        client.v1.payment_intents.update(details["payment_intent"], params={"payment_method": "pm_card_visa"})
        client.v1.payment_intents.confirm(details["payment_intent"])
        with run_after_commit():
            assert services.release_unpaid_preorders(now=timezone.now() + timedelta(hours=1)) == 0
        pre.refresh_from_db()
        assert pre.status == PreOrder.Status.AUTHORISED
        assert intent_of(pre.order).status == "requires_capture"


class TestPaidUpFront:
    def test_alipay_or_wechat_preorders_are_paid_in_full_and_refunded_if_the_harvest_fails(self, localstripe,
                                                                                             run_after_commit):
        presale = make_presale()
        with run_after_commit():
            pre = preorder(presale, quantity=2, payment=PreOrder.Payment.ONLINE)
        # The ordinary pay page: an intent for the full amount, paid at once (cards stand in for Alipay here).
        details = intents.start_payment(order=pre.order)
        client = gateway.stripe_client()
        client.v1.payment_intents.update(details["payment_intent"], params={"payment_method": "pm_card_visa"})
        with run_after_commit():
            intents.apply_intent(intent=client.v1.payment_intents.confirm(details["payment_intent"]).to_dict())
        pre.refresh_from_db()
        assert pre.status == PreOrder.Status.PAID and pre.order.status == Order.Status.PAID
        assert pre.order.shop_orders.get().status == ShopOrder.Status.NEW

        with run_after_commit():
            services.cancel_presale(presale=presale, actor=presale.product.shop.owner, reason="Hail")
        pre.refresh_from_db()
        refund = Refund.objects.get(payment__order=pre.order)
        assert refund.amount == pre.order.total and refund.status == Refund.Status.SUCCEEDED
        assert pre.status == PreOrder.Status.CANCELLED
        assert Order.objects.get(pk=pre.order_id).status == Order.Status.REFUNDED


class TestGroup:
    def test_every_member_is_authorised_then_captured_when_the_group_fills(self, localstripe, run_after_commit):
        deal = make_deal(size=3, price=Decimal("48.00"))
        with run_after_commit():
            first = start(deal)
            authorise(first.order)
            second = join(first.group, quantity=2)
            authorise(second.order)
            third = join(first.group)
        group = BuyingGroup.objects.get(pk=first.group_id)
        assert group.status == BuyingGroup.Status.OPEN
        for member in (first, second):
            assert intent_of(member.order).status == "requires_capture"
            assert member.order.shop_orders.get().status == ShopOrder.Status.AWAITING_PAYMENT
        with run_after_commit():
            authorise(third.order)  # the last place authorised: the group fills
        group.refresh_from_db()
        assert group.status == BuyingGroup.Status.FILLED and group.filled_at
        for member in (first, second, third):
            member.refresh_from_db()
            order = member.order
            assert member.status == GroupMember.Status.CONFIRMED
            assert intent_of(order).status == "succeeded"
            assert order.status == Order.Status.PAID
            assert order.items_total == Decimal("48.00") * member.quantity
            assert order.shop_orders.get().status == ShopOrder.Status.NEW  # now the farm sees it
            assert Notification.objects.filter(kind="group_filled", recipient=member.buyer).exists()

    def test_time_runs_out_and_every_authorisation_is_released(self, localstripe, run_after_commit):
        deal = make_deal(size=3)
        with run_after_commit():
            first = start(deal, quantity=2)
            authorise(first.order)
            second = join(first.group)
            authorise(second.order)
        with run_after_commit():
            assert services.expire_groups(now=first.group.expires_at + timedelta(seconds=1)) == 1
        assert BuyingGroup.objects.get(pk=first.group_id).status == BuyingGroup.Status.FAILED
        for member in (first, second):
            member.refresh_from_db()
            assert member.status == GroupMember.Status.RELEASED
            assert intent_of(member.order).status == "canceled"
            assert member.order.payments.get().status == Payment.Status.CANCELLED
            assert member.order.status == Order.Status.CANCELLED
        assert Product.objects.get(pk=deal.product_id).stock == 50

    def test_leaving_releases_the_authorisation(self, localstripe, run_after_commit):
        deal = make_deal(size=3)
        with run_after_commit():
            member = start(deal)
            authorise(member.order)
        with run_after_commit():
            services.leave_group(member=member, actor=member.buyer)
        assert intent_of(member.order).status == "canceled"
        member.refresh_from_db()
        assert member.status == GroupMember.Status.RELEASED

    def test_authorising_a_released_place_is_refused(self, localstripe, run_after_commit):
        deal = make_deal(size=3)
        with run_after_commit():
            member = start(deal)
            services.leave_group(member=member, actor=member.buyer)
        with pytest.raises(ConflictError):
            authorise(member.order)


class TestWebhooksAndEdges:
    def test_an_authorisation_reported_by_webhook_moves_the_preorder_on(self, client, localstripe, settings,
                                                                          run_after_commit):
        """Real Stripe reports a device-side authorisation with payment_intent.amount_capturable_updated; the
        orders webhook records it and presales follows, with no call from the hold page."""
        from orders.tests.test_payments_support import event, post_event

        settings.STRIPE_WEBHOOK_SECRET = "whsec_presales_test"
        with run_after_commit():
            pre = preorder(make_presale(), payment=PreOrder.Payment.CARD)
            details = services.card_hold_details(order=pre.order)
        stripe_client = gateway.stripe_client()
        stripe_client.v1.payment_intents.update(details["payment_intent"], params={"payment_method": "pm_card_visa"})
        intent = stripe_client.v1.payment_intents.confirm(details["payment_intent"]).to_dict()
        with run_after_commit():
            response = post_event(client, event("evt_capturable", "payment_intent.amount_capturable_updated", intent),
                                  "whsec_presales_test")
        assert response.status_code == 200
        pre.refresh_from_db()
        assert pre.status == PreOrder.Status.AUTHORISED
        assert pre.order.shop_orders.get().status == ShopOrder.Status.NEW

    def test_harvest_failed_after_one_preorder_shipped_keeps_that_one(self, localstripe, farm_with_station,
                                                                       run_after_commit):
        from presales import tasks

        _shop, product = farm_with_station
        presale = make_presale(product=product, capacity=10)
        with run_after_commit():
            shipped = preorder(presale, quantity=2, payment=PreOrder.Payment.CARD)
            authorise(shipped.order)
            waiting = preorder(presale, quantity=3)
        with run_after_commit():
            ship(shipped.order.shop_orders.get())
        with run_after_commit():
            services.cancel_presale(presale=presale, actor=product.shop.owner, reason="Hail")
        shipped.refresh_from_db()
        waiting.refresh_from_db()
        presale.refresh_from_db()
        assert shipped.status == PreOrder.Status.PAID and intent_of(shipped.order).status == "succeeded"
        assert waiting.status == PreOrder.Status.CANCELLED
        assert presale.units_sold == 2
        assert tasks.release_for_failed_harvest(shipped.pk) == "already_shipped"
