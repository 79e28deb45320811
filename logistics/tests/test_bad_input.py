"""Bad input is a clear 400/404/409 (or a message on the page), never a 500, and nothing is half-saved."""
import pytest
from django.core.exceptions import ValidationError

from core import codes
from core.errors import ConflictError
from logistics import services
from logistics.models import Parcel, Station
from orders.models import OrderLine, ShopOrder
from shops.tests.factories import HarvestLotFactory, ProductFactory, VillageFactory

from .factories import departed, handed_over, mistype, pack, ready_part, shop_at, staff

pytestmark = pytest.mark.django_db


def test_a_mistyped_parcel_code_is_caught_by_its_check_character(api_client, station, agent):
    parcel = handed_over(station)
    wrong = mistype(parcel.code)
    with pytest.raises(ValidationError) as exc:
        services.receive_parcel(actor=agent, code=wrong)
    assert "not a valid parcel code" in exc.value.message_dict["code"][0]
    api_client.force_authenticate(agent)
    response = api_client.post(f"/api/v1/agent/parcels/{wrong}/receive/")
    assert response.status_code == 400 and "code" in response.json()
    assert api_client.get(f"/api/v1/track/{wrong}/").status_code == 404
    assert api_client.get("/api/v1/track/hello/").status_code == 404
    assert Parcel.objects.get().status == "expected"


def test_codes_are_read_the_forgiving_way(station, agent):
    parcel = handed_over(station)
    typed = "-".join([parcel.code[:4], parcel.code[4:8], parcel.code[8:]]).lower().replace("0", "o")
    assert services.receive_parcel(actor=agent, code=f" {typed} ").pk == parcel.pk


def test_a_scanned_tracking_link_is_read_as_its_code(station, agent):
    parcel = handed_over(station)
    assert services.receive_parcel(actor=agent, code=services.track_url(parcel.code)).pk == parcel.pk


def test_receiving_twice_is_a_409(api_client, station, agent):
    parcel = handed_over(station)
    api_client.force_authenticate(agent)
    assert api_client.post(f"/api/v1/agent/parcels/{parcel.code}/receive/").status_code == 200
    again = api_client.post(f"/api/v1/agent/parcels/{parcel.code}/receive/")
    assert again.status_code == 409
    assert again.json()["code"] == "already_received" and parcel.code in again.json()["detail"]
    assert Parcel.objects.get().events.filter(kind="received").count() == 1


def test_an_unknown_valid_code_is_a_404(api_client, agent):
    api_client.force_authenticate(agent)
    assert api_client.post(f"/api/v1/agent/parcels/{codes.new_code('P', 8)}/receive/").status_code == 404


def test_a_wrong_delivery_code_is_refused_and_attempts_are_limited(api_client, station, agent, settings):
    shipment, (parcel,) = departed(station, agent)
    wrong = f"{(int(parcel.delivery_code) + 1) % 10 ** 6:06d}"
    api_client.force_authenticate(agent)
    url = f"/api/v1/agent/parcels/{parcel.code}/deliver/"
    first = api_client.post(url, {"code": wrong})
    assert first.status_code == 400 and "4 tries left" in first.json()["code"][0]
    for _ in range(services.DELIVERY_CODE_MAX_FAILURES - 1):
        assert api_client.post(url, {"code": wrong}).status_code == 400
    # Locked now: even the right code waits.
    locked = api_client.post(url, {"code": parcel.delivery_code})
    assert locked.status_code == 429
    assert str(settings.DELIVERY_CODE_LOCK_MINUTES) in locked.json()["detail"]
    assert Parcel.objects.get().status == "in_transit"
    assert ShopOrder.objects.get().status == "in_transit"


def test_the_buyer_is_limited_too_and_a_bad_format_does_not_count(api_client, station, agent):
    shipment, (parcel,) = departed(station, agent)
    api_client.force_authenticate(parcel.shop_order.order.buyer)
    url = f"/api/v1/orders/{parcel.shop_order.order_id}/confirm-delivery/"
    for bad in ("12", "abcdef", ""):
        response = api_client.post(url, {"code": bad})
        assert response.status_code == 400 and "code" in response.json()
    wrong = f"{(int(parcel.delivery_code) + 1) % 10 ** 6:06d}"
    # The badly shaped codes were not counted as guesses.
    assert "4 tries left" in api_client.post(url, {"code": wrong}).json()["code"][0]
    assert api_client.post(url, {"code": parcel.delivery_code}).status_code == 200


def test_confirming_before_the_parcel_left_is_a_409(api_client, station):
    parcel = handed_over(station)
    api_client.force_authenticate(parcel.shop_order.order.buyer)
    response = api_client.post(f"/api/v1/orders/{parcel.shop_order.order_id}/confirm-delivery/",
                               {"code": parcel.delivery_code})
    assert response.status_code == 409


def test_pack_refuses_a_lot_of_another_product_or_shop(api_client, station):
    part = ready_part(station)
    line = part.lines.get()
    foreign = HarvestLotFactory()  # another shop's product
    same_shop_other_product = HarvestLotFactory(product=ProductFactory(shop=part.shop))
    api_client.force_authenticate(part.shop.owner)
    for lot in (foreign, same_shop_other_product):
        response = api_client.post(f"/api/v1/seller/orders/{part.pk}/pack/",
                                   {"lines": [{"line": line.pk, "lot": lot.code}]})
        assert response.status_code == 400 and f"line_{line.pk}" in response.json()
    missing = api_client.post(f"/api/v1/seller/orders/{part.pk}/pack/", {"lines": [{"line": 999999, "lot": "1"}]})
    assert missing.status_code == 400
    assert api_client.post(f"/api/v1/seller/orders/{part.pk}/pack/", {"lines": []}).status_code == 400
    assert api_client.post(f"/api/v1/seller/orders/{part.pk}/pack/", {"lines": "x"}).status_code == 400
    assert ShopOrder.objects.get().status == "accepted" and OrderLine.objects.get().lot is None


def test_pack_refuses_more_units_than_the_lot_holds_and_a_sprayed_lot(station):
    part = ready_part(station, quantity=5)
    line = part.lines.select_related("product").get()
    small = HarvestLotFactory(product=line.product, quantity=4)
    with pytest.raises(ValidationError) as exc:
        services.pack_shop_order(shop_order=part, actor=part.shop.owner, lots={line.pk: small})
    assert "only 4 units" in exc.value.message_dict[f"line_{line.pk}"][0]
    sprayed = HarvestLotFactory(product=line.product, phi_violation=True)
    with pytest.raises(ValidationError):
        services.pack_shop_order(shop_order=part, actor=part.shop.owner, lots={line.pk: sprayed})
    assert ShopOrder.objects.get().status == "accepted"


def test_pack_and_hand_over_follow_the_state_table(api_client, station):
    part = ready_part(station)
    api_client.force_authenticate(part.shop.owner)
    early = api_client.post(f"/api/v1/seller/orders/{part.pk}/hand-over/")
    assert early.status_code == 409 and early.json()["code"] == "illegal_transition"
    pack(part)
    assert api_client.post(f"/api/v1/seller/orders/{part.pk}/hand-over/").status_code == 201
    again = api_client.post(f"/api/v1/seller/orders/{part.pk}/hand-over/")
    assert again.status_code == 409
    assert Parcel.objects.count() == 1


def test_a_shop_whose_village_has_no_station_cannot_hand_over(api_client):
    shop_station = Station.objects.create(name="temp")
    shop_station.villages.set([VillageFactory()])
    part = pack(ready_part(shop_station, shop=shop_at(shop_station)))
    shop_station.villages.clear()
    api_client.force_authenticate(part.shop.owner)
    response = api_client.post(f"/api/v1/seller/orders/{part.pk}/hand-over/")
    assert response.status_code == 409
    assert response.json()["code"] == "no_station" and part.shop.village.name in response.json()["detail"]
    assert ShopOrder.objects.get().status == "packed" and not Parcel.objects.exists()


def test_a_shipment_cannot_leave_empty_nor_take_events_before_leaving(api_client, agent):
    api_client.force_authenticate(agent)
    shipment = api_client.post("/api/v1/shipments/", {"destination": "杭州市", "carrier": "中通"}).json()
    assert api_client.post(f"/api/v1/shipments/{shipment['id']}/events/", {"kind": "departed"}).status_code == 409
    assert api_client.post(f"/api/v1/shipments/{shipment['id']}/events/", {"kind": "arrived"}).status_code == 409
    assert api_client.post("/api/v1/shipments/", {"destination": "", "carrier": ""}).status_code == 400


def test_a_parcel_not_received_cannot_be_loaded(api_client, station, agent):
    parcel = handed_over(station)
    api_client.force_authenticate(agent)
    shipment = api_client.post("/api/v1/shipments/", {"destination": "杭州市", "carrier": "中通"}).json()
    response = api_client.post(f"/api/v1/shipments/{shipment['id']}/parcels/", {"parcels": [parcel.code]})
    assert response.status_code == 409 and response.json()["code"] == "not_received"


def test_station_input_errors_are_400(api_client, station):
    api_client.force_authenticate(staff())
    taken = station.villages.get()
    assert api_client.post("/api/v1/stations/", {"name": "", "villages": []}).status_code == 400
    dup = api_client.post("/api/v1/stations/", {"name": "第二站", "villages": [taken.pk]})
    assert dup.status_code == 400 and "villages" in dup.json()
    nobody = api_client.post(f"/api/v1/stations/{station.pk}/agents/", {"username": "nobody-here"})
    assert nobody.status_code == 400 and "username" in nobody.json()
    assert api_client.post("/api/v1/stations/999999/agents/", {"username": "x"}).status_code == 404


def test_a_repeat_departure_is_a_409(station, agent):
    shipment, _ = departed(station, agent)
    with pytest.raises(ConflictError):
        services.record_shipment_event(shipment=shipment, actor=agent, kind="departed")
