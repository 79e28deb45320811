"""Group buying without calling Stripe: offers, joining, leaving, deadlines and bad input."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.errors import ConflictError
from notifications.models import Notification
from orders import services as order_services
from orders.models import Order, OrderLine, ShopOrder
from presales import services
from presales.models import BuyingGroup, GroupDeal, GroupMember
from shops.models import Product
from shops.tests.factories import ProductFactory

from .factories import join, make_deal, start

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("card_payments_on")]


def counts():
    return (Order.objects.count(), GroupMember.objects.count(), BuyingGroup.objects.count(),
            list(Product.objects.order_by("pk").values_list("stock", flat=True)))


class TestDeals:
    @pytest.mark.parametrize(("overrides", "field"), [
        ({"group_size": 1}, "group_size"),
        ({"group_size": 0}, "group_size"),
        ({"group_price": "68.00"}, "group_price"),  # not lower than the normal price
        ({"group_price": "70.00"}, "group_price"),
        ({"group_price": "-1"}, "group_price"),
        ({"hours_to_fill": 0}, "hours_to_fill"),
        ({"hours_to_fill": 24 * 8}, "hours_to_fill"),  # longer than a card authorisation lasts
    ])
    def test_bad_offer_names_the_field_and_saves_nothing(self, overrides, field):
        product = ProductFactory(price=Decimal("68.00"))
        values = {"actor": product.shop.owner, "product": product, "group_size": 3, "group_price": "48.00",
                  "hours_to_fill": 24, **overrides}
        with pytest.raises(ValidationError) as caught:
            services.create_group_deal(**values)
        assert field in caught.value.message_dict
        assert not GroupDeal.objects.exists()

    def test_a_deal_whose_price_is_no_longer_lower_starts_no_group(self):
        deal = make_deal(price=Decimal("48.00"))
        Product.objects.filter(pk=deal.product_id).update(price=Decimal("45.00"))
        with pytest.raises(ConflictError):
            start(deal)
        assert not BuyingGroup.objects.exists() and not Order.objects.exists()


class TestJoining:
    def test_start_then_join_at_the_group_price_holding_stock(self):
        deal = make_deal(size=3, price=Decimal("48.00"))
        first = start(deal, quantity=2)
        group = first.group
        second = join(group, quantity=1)
        group.refresh_from_db()
        assert group.places_taken == 2 and group.status == BuyingGroup.Status.OPEN
        assert group.expires_at > timezone.now() + timedelta(hours=23)
        line = OrderLine.objects.get(shop_order__order=second.order)
        assert (line.unit_price, line.quantity) == (Decimal("48.00"), 1)
        assert second.order.shop_orders.get().status == ShopOrder.Status.AWAITING_PAYMENT  # held from the farm
        assert second.order.reserved_until is None and second.hold_until is not None
        assert Product.objects.get(pk=deal.product_id).stock == 50 - 3
        assert Notification.objects.filter(kind="group_joined", recipient=second.buyer).exists()

    def test_joining_a_full_group_is_a_conflict_and_changes_nothing(self):
        deal = make_deal(size=2)
        group = start(deal).group
        join(group)
        before = counts()
        with pytest.raises(ConflictError) as caught:
            join(group)
        assert caught.value.code == "group_full"
        assert counts() == before

    def test_joining_after_the_deadline_is_a_conflict(self):
        group = start(make_deal(size=3)).group
        BuyingGroup.objects.filter(pk=group.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        before = counts()
        with pytest.raises(ConflictError) as caught:
            join(group)
        assert caught.value.code == "group_closed"
        assert counts() == before

    def test_joining_your_own_group_twice_is_a_conflict(self):
        first = start(make_deal(size=3))
        before = counts()
        with pytest.raises(ConflictError) as caught:
            join(first.group, buyer=first.buyer)
        assert caught.value.code == "already_member"
        assert counts() == before

    def test_bad_quantity_is_a_field_error(self):
        group = start(make_deal(size=3, min_order=2), quantity=2).group
        before = counts()
        for quantity in (1, 0, "many"):
            with pytest.raises(ValidationError) as caught:
                join(group, quantity=quantity)
            assert "quantity" in caught.value.message_dict
        assert counts() == before

    def test_not_enough_stock_is_a_conflict(self):
        group = start(make_deal(size=3, stock=3), quantity=2).group
        before = counts()
        with pytest.raises(ConflictError) as caught:
            join(group, quantity=2)
        assert caught.value.code == "out_of_stock"
        assert counts() == before

    def test_group_buying_needs_card_payment(self, settings):
        deal = make_deal()
        settings.STRIPE_SECRET_KEY = ""
        with pytest.raises(ConflictError) as caught:
            start(deal)
        assert caught.value.code == "card_payments_off"


class TestLeavingAndFailing:
    def test_a_member_leaves_and_gives_place_and_stock_back(self):
        deal = make_deal(size=3)
        group = start(deal).group
        member = join(group, quantity=2)
        services.leave_group(member=member, actor=member.buyer)
        member.refresh_from_db()
        group.refresh_from_db()
        assert member.status == GroupMember.Status.RELEASED
        assert member.order.status == Order.Status.CANCELLED
        assert group.places_taken == 1
        assert Product.objects.get(pk=deal.product_id).stock == 50 - 1
        # Released, the buyer may come back while the group is open.
        again = join(group, buyer=member.buyer)
        assert again.status == GroupMember.Status.PENDING

    def test_orders_cancel_is_refused_while_the_group_is_open(self):
        member = start(make_deal(size=3))
        with pytest.raises(ConflictError) as caught:
            order_services.cancel_order(order=member.order, actor=member.buyer)
        assert caught.value.code == "group_order"
        member.refresh_from_db()
        assert member.order.status == Order.Status.PENDING_PAYMENT

    def test_the_deadline_fails_the_group_and_releases_everyone(self, django_capture_on_commit_callbacks):
        deal = make_deal(size=3)
        first = start(deal)
        second = join(first.group)
        with django_capture_on_commit_callbacks(execute=True):
            failed = services.expire_groups(now=first.group.expires_at + timedelta(seconds=1))
        assert failed == 1
        group = BuyingGroup.objects.get(pk=first.group_id)
        assert group.status == BuyingGroup.Status.FAILED
        for member in (first, second):
            member.refresh_from_db()
            assert member.status == GroupMember.Status.RELEASED
            assert member.order.status == Order.Status.CANCELLED
            assert Notification.objects.filter(kind="group_failed", recipient=member.buyer).exists()
        assert Product.objects.get(pk=deal.product_id).stock == 50
        # Run again: nothing more to do.
        assert services.expire_groups(now=group.expires_at + timedelta(minutes=5)) == 0

    def test_a_place_not_authorised_in_time_is_given_back(self):
        deal = make_deal(size=3)
        first = start(deal)
        second = join(first.group)
        GroupMember.objects.filter(pk=second.pk).update(hold_until=timezone.now() - timedelta(seconds=1))
        services.expire_groups()
        second.refresh_from_db()
        group = BuyingGroup.objects.get(pk=first.group_id)
        assert second.status == GroupMember.Status.RELEASED
        assert group.status == BuyingGroup.Status.OPEN and group.places_taken == 1
        first.refresh_from_db()
        assert first.status == GroupMember.Status.PENDING
