"""presales.states: the tables of pre-order, group and member statuses refuse an illegal move (409), and the
orders presales makes carry their origin."""
import importlib
from datetime import timedelta

import pytest
from django.apps import apps

from core.errors import ConflictError
from orders import services as order_services
from orders.models import Order
from presales import services, states
from presales.models import BuyingGroup, GroupMember, PreOrder

from .factories import join, make_deal, make_presale, preorder, start

pytestmark = pytest.mark.django_db

PS, GS, MS = PreOrder.Status, BuyingGroup.Status, GroupMember.Status


@pytest.mark.parametrize(("table", "statuses"), [(states.PREORDER_TRANSITIONS, PS),
                                                 (states.GROUP_TRANSITIONS, GS),
                                                 (states.MEMBER_TRANSITIONS, MS)])
def test_every_status_has_a_row(table, statuses):
    assert set(table) == set(statuses.values)


@pytest.mark.parametrize(("current", "target"), [(PS.CANCELLED, PS.PAID), (PS.PAID, PS.AUTHORISED),
                                                 (PS.CASH, PS.PAID), (PS.PENDING, PS.PAYMENT_DUE)])
def test_an_illegal_preorder_move_is_a_conflict(current, target):
    pre = PreOrder(status=current)
    with pytest.raises(ConflictError) as caught:
        states.move_preorder(pre, target)
    assert caught.value.code == "illegal_transition"
    assert pre.status == current


@pytest.mark.parametrize(("current", "target"), [(GS.FILLED, GS.FAILED), (GS.FAILED, GS.OPEN),
                                                 (GS.FAILED, GS.FILLED)])
def test_an_illegal_group_move_is_a_conflict(current, target):
    group = BuyingGroup(status=current, code="G123")
    with pytest.raises(ConflictError) as caught:
        states.move_group(group, target)
    assert caught.value.code == "illegal_transition"
    assert group.status == current


@pytest.mark.parametrize(("current", "target"), [(MS.RELEASED, MS.AUTHORISED), (MS.CONFIRMED, MS.RELEASED),
                                                 (MS.AUTHORISED, MS.PENDING)])
def test_an_illegal_member_move_is_a_conflict(current, target):
    member = GroupMember(status=current)
    with pytest.raises(ConflictError) as caught:
        states.move_member(member, target)
    assert caught.value.code == "illegal_transition"
    assert member.status == current


def test_legal_moves_set_the_status_in_memory():
    pre, member, group = PreOrder(status=PS.PENDING), GroupMember(status=MS.PENDING), BuyingGroup(status=GS.OPEN)
    states.move_preorder(pre, PS.AUTHORISED)
    states.move_member(member, MS.AUTHORISED)
    states.move_group(group, GS.FAILED)
    assert (pre.status, member.status, group.status) == (PS.AUTHORISED, MS.AUTHORISED, GS.FAILED)


@pytest.mark.usefixtures("card_payments_on")
def test_a_failed_group_cannot_fail_again_through_its_table():
    first = start(make_deal(size=3))
    assert services.expire_groups(now=first.group.expires_at + timedelta(seconds=1)) == 1
    group = BuyingGroup.objects.get(pk=first.group_id)
    with pytest.raises(ConflictError):
        services._fail_group_locked(group, group.expires_at)
    assert BuyingGroup.objects.get(pk=group.pk).status == GS.FAILED


class TestOrigins:
    def test_a_preorder_makes_a_presale_order_held_by_it(self):
        pre = preorder(make_presale())
        order = Order.objects.get(pk=pre.order_id)
        assert (order.origin, order.held_by_origin) == (Order.Origin.PRESALE, True)

    @pytest.mark.usefixtures("card_payments_on")
    def test_a_group_place_makes_a_group_order_held_until_the_group_fills(self):
        first = start(make_deal(size=3))
        second = join(first.group)
        for member in (first, second):
            order = Order.objects.get(pk=member.order_id)
            assert (order.origin, order.held_by_origin) == (Order.Origin.GROUP, True)

    def test_the_data_migration_marks_what_presales_made(self, card_payments_on):
        """presales/migrations/0002: origins for orders made before the field, held as the old receiver held."""
        live = preorder(make_presale())
        gone = preorder(make_presale())
        services.cancel_preorder(preorder=gone, actor=gone.buyer)
        member = start(make_deal(size=3))
        checkout = order_services.create_order(buyer=live.buyer, address=live.buyer.addresses.first(),
                                               payment_method=Order.PaymentMethod.COD,
                                               lines=[(member.group.deal.product, 1, member.group.price)])
        Order.objects.update(origin=Order.Origin.CHECKOUT, held_by_origin=False)  # as before the migration
        migration = importlib.import_module("presales.migrations.0002_order_origins")
        migration.mark_origins(apps, None)
        marked = dict(Order.objects.values_list("pk", "origin"))
        held = set(Order.objects.filter(held_by_origin=True).values_list("pk", flat=True))
        assert marked == {live.order_id: "presale", gone.order_id: "presale", member.order_id: "group",
                          checkout.pk: "checkout"}
        assert held == {live.order_id, member.order_id}
