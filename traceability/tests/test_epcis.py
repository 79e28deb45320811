"""Every kind of trace record the flows write is a valid EPCIS 2.0 event (official GS1 schema, offline),
with the CBV values, units and identifiers the GS1 schema calls for; and the exports are valid documents."""
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from logistics import services as logistics
from logistics.tests.factories import ready_part
from shops import services as shops
from traceability import epcis, services
from traceability.models import TraceEvent

from .helpers import errors_of, journey

pytestmark = pytest.mark.django_db
K = TraceEvent.Kind


def as_document(*events) -> dict:
    return epcis.document(list(events), document_id="urn:uuid:6d7c9a0e-3c4b-4a51-9d43-0b6a3f3b4e11")


@pytest.fixture
def delivered(station, agent):
    return journey(station, agent, cold_chain=True, gtin="6923571000016")


def records(lot) -> dict[str, dict]:
    return {r.kind: r.document for r in TraceEvent.objects.filter(lot=lot).order_by("sequence")}


def test_the_validator_really_checks_formats_and_vocabulary(validator, delivered):
    """A control: the same event with a non-URI identifier, a "kg" unit or a lower-case action is refused."""
    event = records(delivered.lot)[K.HARVEST]
    assert errors_of(validator, as_document(event)) == []
    for broken in ({**event, "quantityList": [{**event["quantityList"][0], "uom": "kg"}]},
                   {**event, "quantityList": [{**event["quantityList"][0], "epcClass": "lot 1"}]},
                   {**event, "action": "add"},
                   {k: v for k, v in event.items() if k != "eventTimeZoneOffset"},
                   {**event, "harvestDate": "2024-10-15"}):  # an extension without a prefix
        assert errors_of(validator, as_document(broken)), broken


def test_every_kind_of_record_validates_against_the_gs1_schema(validator, station, agent, delivered):
    lot_records = records(delivered.lot)
    # An inspection, and a parcel with a problem on the road, give the remaining kinds.
    services.record_inspection(lot=delivered.lot, actor=agent, passed=True, certification="green_food",
                               note="抽检合格", certificate_url="https://cert.example.org/c/123")
    troubled = journey(station, agent, until="departed", problem="damaged")
    lot_records |= records(delivered.lot) | records(troubled.lot)
    assert set(lot_records) == set(K.values)
    for kind, event in lot_records.items():
        assert errors_of(validator, as_document(event)) == [], kind


def test_harvest_is_commissioning_with_quantity_in_kilograms_and_lot_data(delivered):
    lot = delivered.lot
    event = records(lot)[K.HARVEST]
    product = lot.product
    assert (event["type"], event["action"], event["bizStep"], event["disposition"]) == (
        "ObjectEvent", "ADD", "commissioning", "active")
    # GS1 Digital Link for a product with a GTIN (GTIN-13 padded to 14 digits).
    assert event["quantityList"] == [{"epcClass": f"{settings.SITE_URL}/01/06923571000016/10/{lot.code}",
                                      "quantity": float(lot.quantity * product.unit_weight_kg), "uom": "KGM"}]
    assert event["readPoint"] == {"id": f"{settings.SITE_URL}/loc/farm/{product.shop.slug}"}
    assert event["ilmd"]["fg:harvestDate"] == lot.harvested_on.isoformat()
    assert event["ilmd"]["fg:plot"] == "东坡 3 号地"
    assert event["eventTimeZoneOffset"] == "+08:00" and event["eventTime"].endswith("+08:00")


def test_input_records_carry_the_pre_harvest_interval_check(delivered):
    inputs = [r.document["fg:input"] for r in TraceEvent.objects.filter(lot=delivered.lot, kind=K.INPUT)]
    assert [(i["product"], i.get("preHarvestIntervalDays"), i["intervalRespected"]) for i in inputs] == [
        ("有机肥", None, True), ("吡虫啉", 14, True)]


def test_custody_steps_use_the_core_business_vocabulary(delivered):
    lot_records = records(delivered.lot)
    steps = {kind: (e["type"], e["action"], e["bizStep"], e.get("disposition")) for kind, e in lot_records.items()}
    assert steps[K.PACKED] == ("AggregationEvent", "ADD", "packing", "container_closed")
    assert steps[K.RECEIVED] == ("ObjectEvent", "OBSERVE", "receiving", "in_progress")
    assert steps[K.STORED] == ("ObjectEvent", "OBSERVE", "storing", "in_progress")
    assert steps[K.SHIPPED] == ("ObjectEvent", "OBSERVE", "shipping", "in_transit")
    assert steps[K.DELIVERED] == ("ObjectEvent", "OBSERVE", "receiving", "in_progress")
    parcel_uri = f"{settings.SITE_URL}/obj/parcel/{delivered.parcel.code}"
    packed = lot_records[K.PACKED]
    assert packed["parentID"] == parcel_uri
    assert packed["childQuantityList"] == [{"epcClass": epcis.lot_identifier(delivered.lot),
                                            "quantity": 10.0, "uom": "KGM"}]  # 2 boxes of 5 kg
    station_uri = f"{settings.SITE_URL}/loc/station/{delivered.parcel.station_id}"
    assert lot_records[K.RECEIVED]["readPoint"] == {"id": station_uri}
    assert lot_records[K.SHIPPED]["epcList"] == [parcel_uri]


def test_temperatures_go_in_the_sensor_element_list_in_celsius(delivered):
    lot_records = records(delivered.lot)
    for kind in (K.LOADED, K.ARRIVED, K.DELIVERED):  # the cold store, then the truck
        (element,) = lot_records[kind]["sensorElementList"]
        (report,) = element["sensorReport"]
        assert (report["type"], report["uom"]) == ("Temperature", "CEL"), kind
        assert report["minValue"] <= report["meanValue"] <= report["maxValue"]
    truck = lot_records[K.ARRIVED]["sensorElementList"][0]
    assert truck["sensorMetadata"]["deviceID"] == f"{settings.SITE_URL}/obj/sensor/{delivered.sensor.pk}"


def test_lot_export_is_a_valid_epcis_document_with_every_record(api_client, validator, delivered):
    response = api_client.get(f"/api/v1/trace/{delivered.lot.code}/epcis/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/ld+json")
    document = response.json()
    assert errors_of(validator, document) == []
    assert document["type"] == "EPCISDocument" and document["schemaVersion"] == "2.0"
    assert {"fg": f"{settings.SITE_URL}/ns/epcis/"} in document["@context"]
    events = document["epcisBody"]["eventList"]
    assert [e["eventID"] for e in events] == list(TraceEvent.objects.filter(lot=delivered.lot)
                                                  .order_by("sequence").values_list("event_id", flat=True))


def test_parcel_export_has_the_lots_history_and_each_step_once(api_client, validator, station, agent):
    """Two lots in one parcel: the packing step is one event with both lots, not one per lot."""
    first = journey(station, agent, until="packed")
    document = api_client.get(f"/api/v1/trace/parcel/{first.parcel.code.lower()}/epcis/").json()
    assert errors_of(validator, document) == []
    steps = [e.get("bizStep") for e in document["epcisBody"]["eventList"]]
    assert steps == ["commissioning", epcis.APPLYING_INPUT, epcis.APPLYING_INPUT, "packing"]
    # Receiving it at the station adds one step for the parcel.
    logistics.receive_parcel(actor=agent, code=first.parcel.code)
    document = api_client.get(f"/api/v1/trace/parcel/{first.parcel.code}/epcis/").json()
    assert [e.get("bizStep") for e in document["epcisBody"]["eventList"]][-2:] == ["receiving", "storing"]


def test_a_step_of_a_parcel_with_two_lots_is_written_to_both_chains_with_one_event_id(api_client, validator,
                                                                                     station, agent):
    part = ready_part(station, lines=2)
    farmer = part.shop.owner
    lots = {line.pk: shops.record_lot(product=line.product, actor=farmer, quantity=50,
                                      harvested_on=timezone.localdate() - timedelta(days=1))
            for line in part.lines.select_related("product").order_by("pk")}
    logistics.pack_shop_order(shop_order=part, actor=part.shop.owner, lots=lots)
    parcel = logistics.hand_over_shop_order(shop_order=part, actor=part.shop.owner)
    packed = list(TraceEvent.objects.filter(parcel=parcel, kind=K.PACKED).order_by("lot_id"))
    assert [p.lot_id for p in packed] == sorted(lot.pk for lot in lots.values())
    assert packed[0].event_id == packed[1].event_id and packed[0].document == packed[1].document
    assert len(packed[0].document["childQuantityList"]) == 2
    document = api_client.get(f"/api/v1/trace/parcel/{parcel.code}/epcis/").json()
    assert errors_of(validator, document) == []
    assert [e["bizStep"] for e in document["epcisBody"]["eventList"]].count("packing") == 1


def test_unknown_codes_are_404_for_the_exports(api_client, delivered):
    assert api_client.get("/api/v1/trace/L0000000/epcis/").status_code == 404
    assert api_client.get("/api/v1/trace/parcel/P12345678/epcis/").status_code == 404
