"""The whole journey of a parcel, through the services and through the API."""
import pytest

from core import codes
from logistics import services
from logistics.models import Parcel, Shipment, TrackingEvent
from notifications.models import Notification
from orders.models import Order, ShopOrder

from .factories import handed_over, ready_part

pytestmark = pytest.mark.django_db
P, S, SS, OS = Parcel.Status, Shipment.Status, ShopOrder.Status, Order.Status


def buyer_heard(order, kind: str) -> bool:
    return Notification.objects.filter(recipient=order.buyer, kind=f"parcel_{kind}", channel="inbox").exists()


def test_paid_order_goes_from_accept_to_completed_through_the_services(station, agent):
    part = ready_part(station, lines=2, cold_chain=True)
    order = part.order
    farmer = part.shop.owner
    lines = list(part.lines.select_related("product").order_by("id"))
    lots = {line.pk: line.product.lots.get() for line in lines}

    packed = services.pack_shop_order(shop_order=part, actor=farmer, lots=lots)
    assert packed.status == SS.PACKED
    assert {line.pk: line.lot_id for line in part.lines.all()} == {pk: lot.pk for pk, lot in lots.items()}

    parcel = services.hand_over_shop_order(shop_order=part, actor=farmer)
    part.refresh_from_db()
    assert part.status == SS.HANDED_OVER
    assert (parcel.station, parcel.status, parcel.destination_city) == (station, P.EXPECTED, order.city)
    assert codes.is_valid(parcel.code, "P") and len(parcel.code) == 10
    assert parcel.delivery_code.isdigit() and len(parcel.delivery_code) == 6
    assert parcel.weight_kg == sum(line.unit_weight_kg * line.quantity for line in lines)
    assert parcel.cold_chain is True
    assert set(parcel.lots.all()) == set(lots.values())
    assert parcel.events.get().kind == TrackingEvent.Kind.HANDED_OVER
    assert buyer_heard(order, "handed_over")

    received = services.receive_parcel(actor=agent, code=parcel.code.lower())
    assert (received.status, received.received_at is not None) == (P.RECEIVED, True)

    shipment = services.create_shipment(actor=agent, destination="上海市", carrier="顺丰速运", tracking_number="SF9")
    assert codes.is_valid(shipment.code, "S") and shipment.station == station
    services.add_parcels_to_shipment(shipment=shipment, actor=agent, codes=[parcel.code])
    shipment.refresh_from_db()
    assert shipment.cold_chain is True
    assert Parcel.objects.get(pk=parcel.pk).status == P.IN_SHIPMENT

    services.record_shipment_event(shipment=shipment, actor=agent, kind="departed")
    shipment.refresh_from_db()
    part.refresh_from_db()
    assert (shipment.status, shipment.departed_at is not None) == (S.DEPARTED, True)
    assert (Parcel.objects.get(pk=parcel.pk).status, part.status) == (P.IN_TRANSIT, SS.IN_TRANSIT)
    assert buyer_heard(order, "departed")

    services.record_shipment_event(shipment=shipment, actor=agent, kind="arrived", location="上海转运中心")
    services.record_shipment_event(shipment=shipment, actor=agent, kind="out_for_delivery")
    assert Parcel.objects.get(pk=parcel.pk).status == P.OUT_FOR_DELIVERY
    assert buyer_heard(order, "out_for_delivery")

    services.deliver_parcel(parcel=parcel, actor=agent, code=parcel.delivery_code)
    parcel.refresh_from_db()
    part.refresh_from_db()
    order.refresh_from_db()
    assert (parcel.status, parcel.delivered_at is not None) == (P.DELIVERED, True)
    assert (part.status, order.status) == (SS.COMPLETED, OS.COMPLETED)
    assert buyer_heard(order, "delivered")
    assert list(parcel.events.values_list("kind", flat=True)) == [
        "handed_over", "received", "loaded", "departed", "arrived", "out_for_delivery", "delivered"]


def test_the_same_journey_through_the_api(api_client, station, agent):
    part = ready_part(station)
    farmer, buyer = part.shop.owner, part.order.buyer
    line = part.lines.select_related("product").get()

    api_client.force_authenticate(farmer)
    packed = api_client.post(f"/api/v1/seller/orders/{part.pk}/pack/",
                             {"lines": [{"line": line.pk, "lot": line.product.lots.get().code}]})
    assert packed.status_code == 200, packed.json()
    assert packed.json()["status"] == "packed" and packed.json()["lines"][0]["lot"] == line.product.lots.get().pk
    handed = api_client.post(f"/api/v1/seller/orders/{part.pk}/hand-over/")
    assert handed.status_code == 201, handed.json()
    code = handed.json()["code"]
    assert handed.json()["station"]["id"] == station.pk and "delivery_code" not in handed.json()

    api_client.force_authenticate(agent)
    assert [p["code"] for p in api_client.get("/api/v1/agent/parcels/?view=expected").json()["results"]] == [code]
    received = api_client.post(f"/api/v1/agent/parcels/{code}/receive/")
    assert received.status_code == 200 and received.json()["status"] == "received"
    created = api_client.post("/api/v1/shipments/", {"destination": "杭州市", "carrier": "中通快递",
                                                     "tracking_number": "ZTO1", "parcels": [code]})
    assert created.status_code == 201, created.json()
    shipment = created.json()
    assert set(shipment) >= {"id", "code", "station", "destination", "carrier", "tracking_number", "status",
                             "parcels"}
    assert (shipment["parcels"], shipment["status"], shipment["station"]) == ([code], "open", station.pk)
    for kind in ("departed", "arrived", "out_for_delivery", "delivered"):
        moved = api_client.post(f"/api/v1/shipments/{shipment['id']}/events/", {"kind": kind, "location": "杭州"})
        assert moved.status_code == 201, moved.json()
        assert moved.json()["status"] == kind
    part.refresh_from_db()
    assert part.status == SS.DELIVERED

    api_client.force_authenticate(buyer)
    parcel = Parcel.objects.get(code=code)
    confirmed = api_client.post(f"/api/v1/orders/{part.order_id}/confirm-delivery/", {"code": parcel.delivery_code})
    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["status"] == "completed"
    assert confirmed.json()["shop_orders"][0]["status"] == "completed"

    tracked = api_client.get(f"/api/v1/track/{code}/").json()
    assert tracked["status"] == "delivered"
    assert [e["kind"] for e in tracked["events"]] == ["handed_over", "received", "loaded", "departed", "arrived",
                                                      "out_for_delivery", "delivered"]


def test_a_shipment_event_moves_every_parcel_and_order_in_one_go(station, agent):
    parcels = [handed_over(station) for _ in range(3)]
    for parcel in parcels:
        services.receive_parcel(actor=agent, code=parcel.code)
    shipment = services.create_shipment(actor=agent, destination="上海市", carrier="顺丰速运")
    services.add_parcels_to_shipment(shipment=shipment, actor=agent, codes=[p.code for p in parcels])
    events = services.record_shipment_event(shipment=shipment, actor=agent, kind="departed")
    assert len(events) == 3
    assert set(Parcel.objects.values_list("status", flat=True)) == {P.IN_TRANSIT}
    assert set(ShopOrder.objects.values_list("status", flat=True)) == {SS.IN_TRANSIT}
    services.record_shipment_event(shipment=shipment, actor=agent, kind="delivered")
    assert set(Parcel.objects.values_list("status", flat=True)) == {P.DELIVERED}
    # Delivered, not yet completed: the buyer confirms, or the auto-completion does.
    assert set(ShopOrder.objects.values_list("status", flat=True)) == {SS.DELIVERED}
    assert set(Order.objects.values_list("status", flat=True)) == {OS.PAID}


def test_a_failing_parcel_rolls_the_whole_event_back(station, agent):
    parcels = [handed_over(station) for _ in range(2)]
    for parcel in parcels:
        services.receive_parcel(actor=agent, code=parcel.code)
    shipment = services.create_shipment(actor=agent, destination="上海市", carrier="顺丰速运")
    services.add_parcels_to_shipment(shipment=shipment, actor=agent, codes=[p.code for p in parcels])
    # The second buyer's part was cancelled behind the station's back: the table refuses to move it.
    ShopOrder.objects.filter(pk=parcels[1].shop_order_id).update(status=SS.CANCELLED)
    with pytest.raises(Exception) as exc:
        services.record_shipment_event(shipment=shipment, actor=agent, kind="departed")
    assert getattr(exc.value, "code", "") == "illegal_transition"
    shipment.refresh_from_db()
    assert shipment.status == S.OPEN
    assert set(Parcel.objects.values_list("status", flat=True)) == {P.IN_SHIPMENT}
    assert not TrackingEvent.objects.filter(kind="departed").exists()
    assert not Notification.objects.filter(kind="parcel_departed").exists()


def test_the_buyer_reads_the_delivery_code_from_the_api(api_client, station, agent):
    parcel = handed_over(station)
    order = parcel.shop_order.order
    api_client.force_authenticate(order.buyer)
    listed = api_client.get(f"/api/v1/orders/{order.pk}/parcels/").json()["results"]
    assert [(p["code"], p["delivery_code"], p["shop_order"]) for p in listed] == [
        (parcel.code, parcel.delivery_code, parcel.shop_order_id)]
    api_client.force_authenticate(agent)  # not their order
    assert api_client.get(f"/api/v1/orders/{order.pk}/parcels/").status_code == 404
