"""The fulfilment moves logistics asks orders for: mark_packed, mark_handed_over, mark_in_transit, mark_delivered.
Each goes through orders.states; an illegal move is a ConflictError and changes nothing."""
import pytest

from core.errors import ConflictError
from orders import services
from orders.models import ShopOrder

from .factories import place

pytestmark = pytest.mark.django_db

SS = ShopOrder.Status


def part_at(status: str) -> ShopOrder:
    """A cash-on-delivery order's part moved, through the services, up to `status`."""
    part = place().shop_orders.select_related("shop").get()
    steps = [
        (SS.ACCEPTED, lambda so: services.accept_shop_order(shop_order=so, actor=so.shop.owner)),
        (SS.PACKED, lambda so: services.mark_packed(shop_order=so)),
        (SS.HANDED_OVER, lambda so: services.mark_handed_over(shop_order=so)),
        (SS.IN_TRANSIT, lambda so: services.mark_in_transit(shop_orders=[so])),
        (SS.DELIVERED, lambda so: services.mark_delivered(shop_orders=[so])),
        (SS.COMPLETED, lambda so: services.complete_shop_order(shop_order=so)),
    ]
    if status == SS.CANCELLED:
        services.cancel_shop_order(shop_order=part, actor=part.shop.owner, reason="Frost")
        part.refresh_from_db()
    for reached, move in steps:
        if part.status == status:
            break
        move(part)
        part.refresh_from_db()
        assert part.status == reached
    return ShopOrder.objects.select_related("shop").get(pk=part.pk)


def refused(move, part: ShopOrder) -> None:
    before = ShopOrder.objects.get(pk=part.pk).status
    with pytest.raises(ConflictError) as caught:
        move(part)
    assert caught.value.code == "illegal_transition"
    assert ShopOrder.objects.get(pk=part.pk).status == before


def test_a_part_moves_from_accepted_to_delivered():
    part = part_at(SS.DELIVERED)
    assert part.status == SS.DELIVERED


@pytest.mark.parametrize("status", [SS.NEW, SS.HANDED_OVER, SS.CANCELLED])
def test_mark_packed_refuses_a_part_not_accepted(status):
    refused(lambda so: services.mark_packed(shop_order=so), part_at(status))


@pytest.mark.parametrize("status", [SS.ACCEPTED, SS.IN_TRANSIT, SS.CANCELLED])
def test_mark_handed_over_refuses_a_part_not_packed(status):
    refused(lambda so: services.mark_handed_over(shop_order=so), part_at(status))


@pytest.mark.parametrize("status", [SS.PACKED, SS.DELIVERED, SS.CANCELLED])
def test_mark_in_transit_refuses_a_part_not_handed_over(status):
    refused(lambda so: services.mark_in_transit(shop_orders=[so]), part_at(status))


@pytest.mark.parametrize("status", [SS.NEW, SS.PACKED, SS.CANCELLED])
def test_mark_delivered_refuses_a_part_not_on_its_way(status):
    refused(lambda so: services.mark_delivered(shop_orders=[so]), part_at(status))


def test_a_move_already_made_changes_nothing():
    packed, moving, completed = part_at(SS.PACKED), part_at(SS.IN_TRANSIT), part_at(SS.COMPLETED)
    services.mark_packed(shop_order=packed)  # a farm packs again to correct a lot
    assert services.mark_in_transit(shop_orders=[moving]) == []
    assert services.mark_delivered(shop_orders=[completed]) == []
    assert [ShopOrder.objects.get(pk=so.pk).status for so in (packed, moving, completed)] == [
        SS.PACKED, SS.IN_TRANSIT, SS.COMPLETED]


def test_one_part_that_cannot_move_stops_them_all():
    ready, cancelled = part_at(SS.HANDED_OVER), part_at(SS.CANCELLED)
    with pytest.raises(ConflictError):
        services.mark_in_transit(shop_orders=[ready, cancelled])
    assert ShopOrder.objects.get(pk=ready.pk).status == SS.HANDED_OVER


def test_the_status_is_read_under_the_lock_not_from_the_caller():
    part = part_at(SS.ACCEPTED)
    stale = ShopOrder.objects.get(pk=part.pk)
    services.cancel_shop_order(shop_order=part, actor=part.shop.owner, reason="Frost")
    refused(lambda so: services.mark_packed(shop_order=so), stale)
