from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from monitoring import services
from monitoring.models import Alert, Sensor
from shops.models import ShopMember
from shops.tests.factories import ShopFactory, ShopMemberFactory

from .factories import SensorFactory, ShipmentFactory, StationAgentFactory, StationFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/sensors/"


def payload(**attached):
    return {"name": "Greenhouse air", "kind": "air_temperature", "unit": "°C", "min_value": "2",
            "max_value": "35", "attached_to": attached}


def test_farmer_creates_a_plot_sensor_and_sees_the_key_once(api_client):
    shop = ShopFactory()
    api_client.force_authenticate(shop.owner)
    response = api_client.post(URL, payload(kind="plot", id=shop.pk, plot="东坡 3 号地"))
    assert response.status_code == 201
    body = response.json()
    assert body["attached_to"] == {"kind": "plot", "id": shop.pk, "plot": "东坡 3 号地", "name": shop.name,
                                   "shop": shop.slug}
    assert body["min_value"] == "2.00" and body["max_value"] == "35.00"
    sensor = Sensor.objects.get(pk=body["id"])
    assert len(body["key"]) > 30 and sensor.key_matches(body["key"])
    detail = api_client.get(f"{URL}{sensor.pk}/").json()
    assert "key" not in detail and detail["key_prefix"] == body["key"][:8]


def test_cooperative_manager_may_attach_to_the_shop(api_client):
    membership = ShopMemberFactory(role=ShopMember.Role.MANAGER)
    api_client.force_authenticate(membership.user)
    response = api_client.post(URL, payload(kind="plot", id=membership.shop.pk, plot="北坡"))
    assert response.status_code == 201


def test_agent_creates_cold_store_and_shipment_sensors(api_client):
    agent = StationAgentFactory()
    shipment = ShipmentFactory(station=agent.station)
    api_client.force_authenticate(agent.user)
    store = api_client.post(URL, payload(kind="cold_store", id=agent.station.pk))
    assert store.status_code == 201 and store.json()["attached_to"]["kind"] == "cold_store"
    truck = api_client.post(URL, payload(kind="shipment", id=shipment.pk))
    assert truck.status_code == 201 and truck.json()["attached_to"]["name"] == shipment.code


@pytest.mark.parametrize("target", ["foreign_shop", "member_only", "foreign_station", "foreign_shipment",
                                    "no_cold_store", "missing_plot", "bad_kind", "unknown_id"])
def test_attaching_to_what_you_do_not_own_is_400_on_attached_to(api_client, target):
    farmer_shop = ShopFactory()
    agent = StationAgentFactory()
    user = agent.user if target in ("foreign_shop", "no_cold_store", "foreign_shipment") else farmer_shop.owner
    attached = {
        "foreign_shop": {"kind": "plot", "id": farmer_shop.pk, "plot": "A"},
        "member_only": {"kind": "plot", "id": ShopMemberFactory(user=farmer_shop.owner).shop_id, "plot": "A"},
        "foreign_station": {"kind": "cold_store", "id": agent.station.pk},
        "foreign_shipment": {"kind": "shipment", "id": ShipmentFactory().pk},
        "no_cold_store": {"kind": "cold_store", "id": agent.station.pk},
        "missing_plot": {"kind": "plot", "id": farmer_shop.pk, "plot": ""},
        "bad_kind": {"kind": "greenhouse", "id": farmer_shop.pk},
        "unknown_id": {"kind": "plot", "id": 999999, "plot": "A"},
    }[target]
    if target == "no_cold_store":
        StationFactory._meta.model.objects.filter(pk=agent.station.pk).update(cold_store=False)
    api_client.force_authenticate(user)
    response = api_client.post(URL, payload(**attached))
    assert response.status_code == 400
    assert "attached_to" in response.json()
    assert not Sensor.objects.exists()


@pytest.mark.parametrize("limits, field", [
    ({"min_value": None, "max_value": None}, "min_value"),
    ({"min_value": "10", "max_value": "10"}, "max_value"),
    ({"min_value": "12", "max_value": "3"}, "max_value"),
])
def test_thresholds_need_one_limit_and_min_below_max(api_client, limits, field):
    shop = ShopFactory()
    api_client.force_authenticate(shop.owner)
    response = api_client.post(URL, {**payload(kind="plot", id=shop.pk, plot="A"), **limits})
    assert response.status_code == 400 and field in response.json()


def test_database_enforces_exactly_one_attachment_and_thresholds():
    sensor = SensorFactory()
    station = StationFactory()
    for change in ({"station_id": station.pk}, {"shop_id": None, "plot": ""},
                   {"min_value": None, "max_value": None}, {"min_value": Decimal("40")}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Sensor.objects.filter(pk=sensor.pk).update(**change)


def test_list_shows_only_own_sensors_and_others_are_404(api_client):
    mine = SensorFactory()
    theirs = SensorFactory()
    api_client.force_authenticate(mine.shop.owner)
    results = api_client.get(URL).json()["results"]
    assert [s["id"] for s in results] == [mine.pk]
    for suffix in ("", "revoke/", "rotate-key/"):
        method = api_client.get if not suffix else api_client.post
        assert method(f"{URL}{theirs.pk}/{suffix}").status_code == 404
    assert api_client.patch(f"{URL}{theirs.pk}/", {"name": "x"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.key_active and theirs.name != "x"


def test_anonymous_gets_401(api_client):
    assert api_client.get(URL).status_code == 401


def test_detail_has_latest_and_open_alert(api_client, sensor):
    api_client.force_authenticate(sensor.shop.owner)
    assert api_client.get(f"{URL}{sensor.pk}/").json()["latest"] is None
    start = timezone.now() - timedelta(hours=1)
    services.store_readings(sensor=sensor, rows=[(start, 20.0), (start + timedelta(minutes=1), 38.5)])
    body = api_client.get(f"{URL}{sensor.pk}/").json()
    assert body["latest"]["value"] == 38.5
    assert body["latest"]["time"].startswith(timezone.localtime(start + timedelta(minutes=1)).isoformat()[:16])
    assert body["open_alert"]["kind"] == "too_high" and body["open_alert"]["worst_value"] == 38.5


def test_revoke_and_rotate_from_the_api(api_client, sensor):
    api_client.force_authenticate(sensor.shop.owner)
    revoked = api_client.post(f"{URL}{sensor.pk}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["key_active"] is False
    rotated = api_client.post(f"{URL}{sensor.pk}/rotate-key/").json()
    sensor.refresh_from_db()
    assert rotated["key_active"] is True and sensor.key_matches(rotated["key"])
    assert not sensor.key_matches(sensor.key)


def test_patch_changes_thresholds_but_not_attachment(api_client, sensor):
    api_client.force_authenticate(sensor.shop.owner)
    response = api_client.patch(f"{URL}{sensor.pk}/", {"max_value": "30", "attached_to": {"kind": "plot"}})
    assert response.status_code == 200 and response.json()["max_value"] == "30.00"
    assert api_client.patch(f"{URL}{sensor.pk}/", {"min_value": "31"}).status_code == 400
    sensor.refresh_from_db()
    assert sensor.max_value == Decimal("30") and sensor.min_value == Decimal("2")


def _sensors_with_alerts(owner_shop, count):
    start = timezone.now() - timedelta(hours=3)
    for i in range(count):
        sensor = SensorFactory(shop=owner_shop, name=f"Sensor {i}")
        services.store_readings(sensor=sensor, rows=[(start, 20.0), (start + timedelta(minutes=1), 40.0)])


@pytest.mark.parametrize("count", [1, 12])
def test_list_detail_and_alerts_have_a_fixed_query_count(api_client, django_assert_max_num_queries, count):
    shop = ShopFactory()
    _sensors_with_alerts(shop, count)
    api_client.force_authenticate(shop.owner)
    with django_assert_max_num_queries(4):
        response = api_client.get(URL)
    assert response.json()["count"] == count and all(s["open_alert"] for s in response.json()["results"])
    with django_assert_max_num_queries(3):
        assert api_client.get(f"{URL}{Sensor.objects.first().pk}/").status_code == 200
    with django_assert_max_num_queries(3):
        response = api_client.get("/api/v1/alerts/")
    assert response.json()["count"] == count


def test_alerts_endpoint_filters_by_state_and_owner(api_client, sensor):
    start = timezone.now() - timedelta(hours=3)
    services.store_readings(sensor=sensor, rows=[(start, 40.0), (start + timedelta(minutes=1), 20.0),
                                                 (start + timedelta(minutes=2), 0.0)])
    SensorFactory()  # someone else's sensor, with an alert of its own
    other = SensorFactory()
    services.store_readings(sensor=other, rows=[(start, 50.0)])
    api_client.force_authenticate(sensor.shop.owner)
    open_ = api_client.get("/api/v1/alerts/").json()
    assert [a["kind"] for a in open_["results"]] == ["too_low"]
    closed = api_client.get("/api/v1/alerts/?state=closed").json()["results"]
    assert [a["kind"] for a in closed] == ["too_high"] and closed[0]["ended_at"]
    assert api_client.get("/api/v1/alerts/?state=all").json()["count"] == 2
    assert api_client.get("/api/v1/alerts/?state=maybe").status_code == 400
    other_alert = Alert.objects.get(sensor=other)
    assert api_client.get(f"/api/v1/alerts/{other_alert.pk}/").status_code == 404


def test_schema_builds_with_monitoring_endpoints(api_client):
    response = api_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/sensors/", "/api/v1/readings/", "/api/v1/alerts/"} <= set(paths)


# --- Finding 10: attach by the identifiers the API returns ------------------------------------------------------

def test_farmer_attaches_a_plot_sensor_by_the_shop_slug_from_the_shops_api(api_client):
    shop = ShopFactory()
    api_client.force_authenticate(shop.owner)
    mine = api_client.get("/api/v1/shops/", {"mine": "true"}).json()["results"][0]
    assert "id" not in mine  # shops are addressed by slug: no numeric id to send
    response = api_client.post(URL, payload(kind="plot", shop=mine["slug"], plot="东坡 3 号地"))
    assert response.status_code == 201, response.json()
    assert response.json()["attached_to"]["shop"] == shop.slug
    assert Sensor.objects.get(pk=response.json()["id"]).shop == shop


def test_a_shop_slug_you_do_not_manage_is_400_on_attached_to(api_client):
    mine, theirs = ShopFactory(), ShopFactory()
    api_client.force_authenticate(mine.owner)
    response = api_client.post(URL, payload(kind="plot", shop=theirs.slug, plot="A"))
    assert response.status_code == 400 and "attached_to" in response.json()
    assert not Sensor.objects.exists()


def test_agent_attaches_by_station_id_and_shipment_code_from_the_api(api_client):
    agent = StationAgentFactory()
    shipment = ShipmentFactory(station=agent.station)
    api_client.force_authenticate(agent.user)
    station_id = api_client.get("/api/v1/stations/").json()["results"][0]["id"]
    listed = api_client.get("/api/v1/shipments/").json()["results"][0]
    assert api_client.post(URL, payload(kind="cold_store", id=station_id)).status_code == 201
    truck = api_client.post(URL, payload(kind="shipment", shipment=listed["code"]))
    assert truck.status_code == 201 and truck.json()["attached_to"]["shipment"] == shipment.code


def test_naming_nothing_to_attach_to_is_400(api_client):
    shop = ShopFactory()
    api_client.force_authenticate(shop.owner)
    response = api_client.post(URL, payload(kind="plot", plot="A"))
    assert response.status_code == 400 and "attached_to" in response.json()
