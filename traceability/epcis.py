"""EPCIS 2.0 shapes: identifiers, the events the flows write, and the EPCISDocument around them.

Identifiers are stable HTTP URIs on SITE_URL (they resolve: see traceability.urls):
- a lot: GS1 Digital Link /01/<GTIN-14>/10/<lot code> when its product has a GTIN, else /obj/lot/<code>;
- a parcel: /obj/parcel/<code>; a sensor: /obj/sensor/<id>;
- places: /loc/farm/<shop slug>, /loc/station/<id>.
Core Business Vocabulary values are the bare CBV words ("commissioning", "in_transit"); Farmgate's own
fields are "fg:" extensions, the prefix being declared in the document's @context. Quantities are in
kilograms (UN/ECE Rec 20 "KGM"), temperatures in "CEL". Nothing about buyers is ever written here.
"""
import uuid
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

GS1_CONTEXT = "https://ref.gs1.org/standards/epcis/epcis-context.jsonld"
KGM = "KGM"

# Farmgate's step for fertiliser and pesticide applications: the CBV has none, so an "fg:" URI.
APPLYING_INPUT = "fg:applying_input"

# Sensor units -> EPCIS measurement types (the UN/ECE Rec 20 uom comes from Sensor.uom_code).
MEASUREMENT_TYPES = {"°C": "Temperature", "%RH": "RelativeHumidity", "%VWC": "VolumeFraction",
                     "lx": "Illuminance", "ppm": "Dimensionless"}


def namespace() -> str:
    return f"{settings.SITE_URL}/ns/epcis/"


def context() -> list:
    return [GS1_CONTEXT, {"fg": namespace()}]


# --- Identifiers ----------------------------------------------------------------------------------------------------

def gtin14(gtin: str) -> str:
    return gtin.zfill(14) if gtin else ""


def gtin_variants(gtin14_value: str) -> list[str]:
    """The stored forms (GTIN-8/12/13/14) a 14-digit GTIN may have been typed as."""
    variants = [gtin14_value]
    for length in (13, 12, 8):
        if set(gtin14_value[:14 - length]) <= {"0"}:
            variants.append(gtin14_value[14 - length:])
    return variants


def digital_link_path(gtin: str, lot_code: str) -> str:
    return f"/01/{gtin14(gtin)}/10/{lot_code}"


def lot_uri(lot_code: str, gtin: str = "") -> str:
    if gtin:
        return f"{settings.SITE_URL}{digital_link_path(gtin, lot_code)}"
    return f"{settings.SITE_URL}/obj/lot/{lot_code}"


def lot_identifier(lot) -> str:
    """The lot's identifier; the product must be loaded."""
    return lot_uri(lot.code, lot.product.gtin)


def parcel_uri(code: str) -> str:
    return f"{settings.SITE_URL}/obj/parcel/{code}"


def sensor_uri(pk: int) -> str:
    return f"{settings.SITE_URL}/obj/sensor/{pk}"


def farm_uri(slug: str) -> str:
    return f"{settings.SITE_URL}/loc/farm/{slug}"


def station_uri(pk: int) -> str:
    return f"{settings.SITE_URL}/loc/station/{pk}"


def new_event_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


# --- Values ---------------------------------------------------------------------------------------------------------

def event_time(moment: datetime) -> str:
    """ISO 8601 in the site's time zone, with milliseconds and the offset (2024-10-15T09:30:00.000+08:00)."""
    return timezone.localtime(moment).isoformat(timespec="milliseconds")


def timezone_offset(moment: datetime) -> str:
    offset = timezone.localtime(moment).strftime("%z") or "+0000"
    return f"{offset[:3]}:{offset[3:]}"


def kilograms(units: int, unit_weight_kg: Decimal) -> float:
    return float((Decimal(units) * Decimal(unit_weight_kg)).quantize(Decimal("0.001")))


def quantity(epc_class: str, kg: float | None = None) -> dict:
    element = {"epcClass": epc_class}
    if kg is not None:
        element.update(quantity=kg, uom=KGM)
    return element


def sensor_element(summary) -> dict | None:
    """A sensorElement with the min/max/mean of one sensor over a period, or None for a unit EPCIS cannot name.

    `summary`: an object with sensor_id, unit, uom, start, end, low, high, mean, count.
    """
    measurement = MEASUREMENT_TYPES.get(summary.unit)
    if not measurement or not summary.uom or not summary.count:
        return None
    return {
        "sensorMetadata": {"deviceID": sensor_uri(summary.sensor_id), "startTime": event_time(summary.start),
                           "endTime": event_time(summary.end)},
        "sensorReport": [{"type": measurement, "minValue": round(summary.low, 2), "maxValue": round(summary.high, 2),
                          "meanValue": round(summary.mean, 2), "uom": summary.uom}],
    }


# --- Events ---------------------------------------------------------------------------------------------------------

def base_event(*, event_type: str, action: str, biz_step: str, when: datetime, disposition: str = "",
               read_point: str = "", biz_location: str = "", event_id: str | None = None) -> dict:
    event = {"type": event_type, "eventID": event_id or new_event_id(), "eventTime": event_time(when),
             "eventTimeZoneOffset": timezone_offset(when), "action": action, "bizStep": biz_step}
    if disposition:
        event["disposition"] = disposition
    if read_point:
        event["readPoint"] = {"id": read_point}
    if biz_location:
        event["bizLocation"] = {"id": biz_location}
    return event


def document(events: list[dict], *, document_id: str, created: datetime | None = None) -> dict:
    """An EPCISDocument (JSON-LD) carrying the given events in order."""
    return {
        "@context": context(),
        "id": document_id,
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": event_time(created or timezone.now()),
        "epcisBody": {"eventList": events},
    }
