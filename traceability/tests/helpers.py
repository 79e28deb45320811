"""Lots with a full trace, built through the real flows (shops, orders, logistics and monitoring services)."""
import datetime
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from django.db import connection
from django.utils import timezone
from jsonschema import Draft7Validator

from accounts.tests.factories import BuyerFactory
from logistics import services as logistics
from logistics.models import Parcel, Shipment
from logistics.tests.factories import ready_part
from monitoring import services as monitoring
from monitoring.models import Sensor
from orders.models import ShopOrder
from shops import services as shops
from shops.models import HarvestLot, InputApplication

SCHEMA = Path(__file__).resolve().parent / "data" / "EPCIS-JSON-Schema.json"


@contextmanager
def trigger_disabled():
    """Tamper as a database owner would: on PostgreSQL the append-only trigger is switched off around the block
    (inside the test's transaction, so it is back on for everyone else); SQLite has no trigger."""
    from traceability.models import TraceEvent

    table = connection.ops.quote_name(TraceEvent._meta.db_table)
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        # ALTER TABLE waits for no deferred foreign-key check of rows written earlier in this transaction.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER traceability_traceevent_append_only")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER traceability_traceevent_append_only")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def schema_validator() -> Draft7Validator:
    """The official GS1 EPCIS 2.0 schema (a copy kept here), with formats (uri, date-time) checked."""
    return Draft7Validator(json.loads(SCHEMA.read_text()), format_checker=Draft7Validator.FORMAT_CHECKER)


def errors_of(validator: Draft7Validator, document: dict) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def cold_store_sensor(agent, station) -> Sensor:
    existing = station.sensors.first()
    if existing:
        return existing
    sensor, _key = monitoring.create_sensor(user=agent, name="冷库 Cold store", kind=Sensor.Kind.STORE_TEMPERATURE,
                                            unit=Sensor.Unit.CELSIUS, attached_kind="cold_store",
                                            attached_id=station.pk, min_value=Decimal("0"), max_value=Decimal("8"))
    return sensor


@dataclass
class Journey:
    lot: HarvestLot
    part: ShopOrder
    parcel: Parcel | None = None
    shipment: Shipment | None = None
    sensor: Sensor | None = None


def recorded_lot(part: ShopOrder, *, inputs: bool = True, quantity: int = 100) -> HarvestLot:
    """A lot of the part's product, recorded by its farmer with a fertiliser and a pesticide."""
    farmer = part.shop.owner
    product = part.lines.select_related("product").get().product
    harvest = timezone.localdate() - timedelta(days=3)
    lot = shops.record_lot(product=product, actor=farmer, harvested_on=harvest, quantity=quantity, plot="东坡 3 号地")
    if inputs:
        shops.add_input_application(lot=lot, actor=farmer, kind=InputApplication.Kind.FERTILISER,
                                    product_name="有机肥", applied_on=harvest - timedelta(days=60), dose="200 kg/亩")
        shops.add_input_application(lot=lot, actor=farmer, kind=InputApplication.Kind.PESTICIDE,
                                    product_name="吡虫啉", applied_on=harvest - timedelta(days=20), dose="20 ml/亩",
                                    pre_harvest_interval_days=14)
    return lot


def readings(sensor: Sensor, count: int, *, start: datetime.datetime | None = None,
             end: datetime.datetime | None = None, base: float = 4.0) -> None:
    """`count` readings spread evenly from `start` (default: 5 minutes apart) up to just before `end` (now)."""
    end = end or timezone.now()
    step = (end - start) / count if start else timedelta(minutes=5)
    rows = [(end - step * (count - i), base + (i % 7) / 10) for i in range(count)]
    for first in range(0, len(rows), 1000):
        monitoring.store_readings(sensor=sensor, rows=rows[first:first + 1000])


def shipment_sensor(agent, shipment: Shipment, count: int = 0) -> Sensor:
    sensor, _key = monitoring.create_sensor(user=agent, name="车厢温度 Truck", kind=Sensor.Kind.STORE_TEMPERATURE,
                                            unit=Sensor.Unit.CELSIUS, attached_kind="shipment",
                                            attached_id=shipment.pk, min_value=Decimal("0"),
                                            max_value=Decimal("8"))
    if count:
        readings(sensor, count)
    return sensor


def journey(station, agent, *, until: str = "delivered", cold_chain: bool = True, gtin: str = "", buyer=None,
            sensor_readings: int = 12, problem: str = "", inputs: bool = True) -> Journey:
    """A lot recorded with inputs, sold, packed, and moved as far as `until` (packed ... delivered)."""
    part = ready_part(station, cold_chain=cold_chain, buyer=buyer or BuyerFactory())
    farmer = part.shop.owner
    line = part.lines.select_related("product").get()
    if gtin:
        shops.update_product(product=line.product, actor=farmer, gtin=gtin)
    lot = recorded_lot(part, inputs=inputs)
    result = Journey(lot=lot, part=part)
    logistics.pack_shop_order(shop_order=part, actor=farmer, lots={line.pk: lot})
    result.parcel = logistics.hand_over_shop_order(shop_order=part, actor=farmer)
    if until == "packed":
        return result
    logistics.receive_parcel(actor=agent, code=result.parcel.code)
    if station.cold_store and cold_chain:
        # The cold store's readings while the parcel waits there are summed up when it is loaded.
        received_at = Parcel.objects.get(pk=result.parcel.pk).received_at
        readings(cold_store_sensor(agent, station), 6, start=received_at)
    if until == "received":
        return result
    shipment = logistics.create_shipment(actor=agent, destination="上海市", carrier="顺丰速运", tracking_number="SF1")
    result.shipment = shipment
    logistics.add_parcels_to_shipment(shipment=shipment, actor=agent, codes=[result.parcel.code])
    result.sensor = shipment_sensor(agent, shipment)
    logistics.record_shipment_event(shipment=shipment, actor=agent, kind="departed")
    if sensor_readings:
        shipment.refresh_from_db()
        readings(result.sensor, sensor_readings, start=shipment.departed_at)
    if problem:
        logistics.record_shipment_event(shipment=shipment, actor=agent, kind="exception", problem=problem,
                                        location="G15 沈海高速", note="张三的电话 13912345678")
    if until == "departed":
        return result
    logistics.record_shipment_event(shipment=shipment, actor=agent, kind="arrived", location="上海转运中心")
    logistics.record_shipment_event(shipment=shipment, actor=agent, kind="out_for_delivery")
    result.parcel = Parcel.objects.get(pk=result.parcel.pk)
    logistics.deliver_parcel(parcel=result.parcel, actor=agent, code=result.parcel.delivery_code)
    result.parcel.refresh_from_db()
    return result
