"""The JSON twin of the trace page, and recording inspections through the API."""
import pytest

from accounts.tests.factories import FarmerFactory, UserFactory
from logistics.tests.factories import StationFactory, agent_at
from traceability.models import TraceEvent

from .helpers import journey

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(station, agent):
    return journey(station, agent)


def test_trace_json_has_the_page_facts_and_the_chain_verdict(api_client, delivered):
    lot = delivered.lot
    response = api_client.get(f"/api/v1/trace/{lot.code.lower()}/")
    assert response.status_code == 200
    data = response.json()
    assert data["code"] == lot.code and data["trace_url"].endswith(f"/t/{lot.code}")
    assert data["epcis"].endswith(f"/api/v1/trace/{lot.code}/epcis/")
    assert data["farm"]["name"] == lot.product.shop.name and data["grower"] == lot.grower.display_name
    assert [i["product"] for i in data["inputs"]] == ["有机肥", "吡虫啉"]
    assert data["inputs"][1]["checked"] and data["inputs"][1]["respected"]
    assert data["chain"]["verified"] and data["chain"]["records"] == len(data["events"]) == 11
    assert [e["sequence"] for e in data["events"]] == list(range(1, 12))
    assert data["events"][-1]["kind"] == "delivered" and data["events"][-1]["parcel_number"] == 1
    assert "parcel" not in data["events"][-1]  # parcels are numbered, their codes are not listed
    (series,) = data["cold_chain"]
    assert series["unit"] == "°C" and series["max_value"] == "8.00"
    assert sum(p["count"] for p in series["points"]) == 12


def test_unknown_or_mistyped_lot_is_a_404(api_client, delivered):
    code = delivered.lot.code
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    for bad in (wrong, "L0000000", "nonsense"):
        response = api_client.get(f"/api/v1/trace/{bad}/")
        assert response.status_code == 404 and "detail" in response.json()


def test_staff_record_an_inspection(api_client, delivered):
    api_client.force_authenticate(UserFactory(is_staff=True, role="staff"))
    response = api_client.post(f"/api/v1/trace/{delivered.lot.code}/inspections/",
                               {"passed": True, "certification": "organic", "note": "有机证书有效",
                                "certificate_url": "https://cert.example.org/organic/42"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["sequence"] == 12 and body["event"]["bizStep"] == "inspecting"
    assert body["event"]["disposition"] == "conformant"
    assert body["event"]["certificationInfo"] == "https://cert.example.org/organic/42"
    assert body["event"]["fg:inspection"] == {"result": "pass", "inspector": "staff", "certification": "organic",
                                              "note": "有机证书有效"}


def test_the_village_station_agent_may_record_an_inspection_but_not_another_station_s(api_client, delivered, agent):
    api_client.force_authenticate(agent)
    url = f"/api/v1/trace/{delivered.lot.code}/inspections/"
    assert api_client.post(url, {"passed": False, "note": "外观受损"}, format="json").status_code == 201
    record = TraceEvent.objects.filter(lot=delivered.lot).order_by("-sequence").first()
    assert (record.kind, record.disposition, record.document["fg:inspection"]["inspector"]) == (
        "inspection", "non_conformant", "agent")
    api_client.force_authenticate(agent_at(StationFactory()))
    assert api_client.post(url, {"passed": True}, format="json").status_code == 403


def test_farmers_and_anonymous_users_cannot_record_inspections(api_client, delivered):
    url = f"/api/v1/trace/{delivered.lot.code}/inspections/"
    before = TraceEvent.objects.count()
    assert api_client.post(url, {"passed": True}, format="json").status_code in (401, 403)
    api_client.force_authenticate(delivered.lot.product.shop.owner)
    assert api_client.post(url, {"passed": True}, format="json").status_code == 403
    api_client.force_authenticate(FarmerFactory())
    assert api_client.post(url, {"passed": True}, format="json").status_code == 403
    assert TraceEvent.objects.count() == before


@pytest.mark.parametrize("payload, field", [
    ({}, "passed"),
    ({"passed": "maybe"}, "passed"),
    ({"passed": True, "certification": "best-in-town"}, "certification"),
    ({"passed": True, "note": "x" * 301}, "note"),
    ({"passed": True, "certificate_url": "javascript:alert(1)"}, "certificate_url"),
])
def test_bad_inspection_input_is_a_400_with_field_errors_and_writes_nothing(api_client, delivered, payload, field):
    api_client.force_authenticate(UserFactory(is_staff=True, role="staff"))
    before = TraceEvent.objects.count()
    response = api_client.post(f"/api/v1/trace/{delivered.lot.code}/inspections/", payload, format="json")
    assert response.status_code == 400 and field in response.json()
    assert TraceEvent.objects.count() == before


def test_inspection_of_an_unknown_lot_is_a_404(api_client, db):
    api_client.force_authenticate(UserFactory(is_staff=True, role="staff"))
    assert api_client.post("/api/v1/trace/L0000000/inspections/", {"passed": True},
                           format="json").status_code == 404
