"""Who may see and change what: agents their own station, farmers their own shops, buyers their own orders,
staff the stations; the public tracking shows no personal data."""
import pytest
from django.core.exceptions import PermissionDenied

from accounts.models import User
from accounts.tests.factories import AgentFactory, BuyerFactory, FarmerFactory
from logistics import services
from logistics.models import Agent, Parcel, Shipment
from orders.models import ShopOrder

from .factories import StationFactory, agent_at, departed, handed_over, pack, ready_part, received

pytestmark = pytest.mark.django_db


@pytest.fixture
def elsewhere():
    other = StationFactory()
    return other, agent_at(other)


def test_an_agent_sees_and_changes_only_their_stations_parcels(api_client, station, agent, elsewhere):
    other_station, other_agent = elsewhere
    mine = handed_over(station)
    theirs = handed_over(other_station)
    api_client.force_authenticate(agent)
    assert [p["code"] for p in api_client.get("/api/v1/agent/parcels/").json()["results"]] == [mine.code]
    assert api_client.get(f"/api/v1/agent/parcels/{theirs.code}/").status_code == 404
    assert api_client.post(f"/api/v1/agent/parcels/{theirs.code}/receive/").status_code == 404
    assert Parcel.objects.get(pk=theirs.pk).status == "expected"
    with pytest.raises(Parcel.DoesNotExist):
        services.receive_parcel(actor=agent, code=theirs.code)


def test_an_agent_sees_and_changes_only_their_stations_shipments(api_client, station, agent, elsewhere):
    other_station, other_agent = elsewhere
    theirs, _ = departed(other_station, other_agent)
    mine_parcel = received(station, agent)
    api_client.force_authenticate(agent)
    assert api_client.get("/api/v1/shipments/").json()["count"] == 0
    assert api_client.get(f"/api/v1/shipments/{theirs.pk}/").status_code == 404
    assert api_client.post(f"/api/v1/shipments/{theirs.pk}/events/", {"kind": "delivered"}).status_code == 404
    assert Shipment.objects.get(pk=theirs.pk).status == "departed"
    # Nor can another station's parcel be loaded into one's own shipment.
    shipment = api_client.post("/api/v1/shipments/", {"destination": "杭州市", "carrier": "中通"}).json()
    stranger = received(other_station, other_agent)
    refused = api_client.post(f"/api/v1/shipments/{shipment['id']}/parcels/", {"parcels": [stranger.code]})
    assert refused.status_code == 400 and "parcels" in refused.json()
    loaded = api_client.post(f"/api/v1/shipments/{shipment['id']}/parcels/", {"parcels": [mine_parcel.code]})
    assert loaded.json()["parcels"] == [mine_parcel.code]


def test_agent_endpoints_are_for_active_agents_only(api_client, station):
    parcel = handed_over(station)
    for user in (BuyerFactory(), FarmerFactory(), AgentFactory()):  # the last has no station
        api_client.force_authenticate(user)
        assert api_client.get("/api/v1/agent/parcels/").status_code == 403
        assert api_client.get("/api/v1/shipments/").status_code == 403
        assert api_client.post(f"/api/v1/agent/parcels/{parcel.code}/receive/").status_code == 403
    retired = agent_at(station)
    Agent.objects.filter(user=retired).update(active=False)
    api_client.force_authenticate(retired)
    assert api_client.get("/api/v1/agent/parcels/").status_code == 403
    api_client.force_authenticate(None)
    assert api_client.get("/api/v1/agent/parcels/").status_code == 401


def test_a_farmer_packs_and_hands_over_only_their_own_shop_orders(api_client, station):
    part = ready_part(station)
    stranger = FarmerFactory()
    line = part.lines.select_related("product").get()
    api_client.force_authenticate(stranger)
    body = {"lines": [{"line": line.pk, "lot": str(line.product.lots.get().pk)}]}
    assert api_client.post(f"/api/v1/seller/orders/{part.pk}/pack/", body).status_code == 404
    assert api_client.post(f"/api/v1/seller/orders/{part.pk}/hand-over/").status_code == 404
    with pytest.raises(PermissionDenied):
        services.pack_shop_order(shop_order=part, actor=stranger, lots={line.pk: line.product.lots.get()})
    pack(part)
    with pytest.raises(PermissionDenied):
        services.hand_over_shop_order(shop_order=part, actor=stranger)
    assert ShopOrder.objects.get(pk=part.pk).status == "packed" and not Parcel.objects.exists()


def test_a_buyer_confirms_only_their_own_order(api_client, station, agent):
    shipment, (parcel,) = departed(station, agent)
    api_client.force_authenticate(BuyerFactory())
    response = api_client.post(f"/api/v1/orders/{parcel.shop_order.order_id}/confirm-delivery/",
                               {"code": parcel.delivery_code})
    assert response.status_code == 404
    assert ShopOrder.objects.get(pk=parcel.shop_order_id).status == "in_transit"


def test_only_staff_create_stations_and_appoint_agents(api_client, station):
    village = station.villages.get()
    user = BuyerFactory(username="xiaoliu")
    for person in (BuyerFactory(), AgentFactory(), FarmerFactory()):
        api_client.force_authenticate(person)
        assert api_client.get("/api/v1/stations/").status_code == 200
        assert api_client.post("/api/v1/stations/", {"name": "x", "villages": [village.pk]}).status_code == 403
        assert api_client.post(f"/api/v1/stations/{station.pk}/agents/", {"username": "xiaoliu"}).status_code == 403
    with pytest.raises(PermissionDenied):
        services.appoint_agent(actor=FarmerFactory(), station=station, user=user)
    user.refresh_from_db()
    assert user.role == User.Role.BUYER
    api_client.force_authenticate(None)
    assert api_client.get("/api/v1/stations/").status_code == 401


def test_tracking_shows_no_name_phone_or_address(client, api_client, station, agent):
    shipment, (parcel,) = departed(station, agent)
    services.record_shipment_event(shipment=shipment, actor=agent, kind="exception", problem="delayed",
                                   note="买家张三 13912345678 不在家")
    order = parcel.shop_order.order
    secrets = [order.recipient, order.phone, order.address_line, order.district, order.buyer.username,
               order.buyer.display_name, order.buyer.email, parcel.delivery_code, "13912345678", "张三"]
    data = api_client.get(f"/api/v1/track/{parcel.code}/")
    page = client.get(f"/track/{parcel.code}")
    assert data.status_code == page.status_code == 200
    assert data.json()["destination_city"] == order.city and data.json()["events"][-1]["problem"] == "delayed"
    for text in (data.content.decode(), page.content.decode()):
        for secret in secrets:
            assert secret not in text, secret
