"""Every write to the trace log. Keyword-only arguments, one transaction each (inside the caller's, when a
business flow calls through a signal, so the record and the change it records commit or fail together).

The flows: a lot recorded (commissioning) and an input applied (shops.signals.lot_event), a lot
inspected or certified (record_inspection, staff or the station's agent), and a parcel's custody
(logistics.signals.tracking_events_recorded): packed, received at the station, kept in its cold store,
loaded, shipped, arrived, out for delivery, delivered, or a problem.

Appending locks the lots' rows (ascending id, the order logistics and orders lock them in), so two writers
on one lot queue and each reads the true head of the chain; the unique (lot, sequence) constraint backs it.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Avg, Count, DecimalField, ExpressionWrapper, F, Max, Min, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from logistics.models import Agent, Parcel, Shipment, TrackingEvent
from monitoring.models import Reading, Sensor
from orders.models import OrderLine
from shops.models import HarvestLot, InputApplication, Product

from . import epcis
from .chain import content_of, hash_of, normalise
from .models import GENESIS_HASH, TraceEvent

K = TraceEvent.Kind
OBJECT, AGGREGATION = TraceEvent.EventType.OBJECT, TraceEvent.EventType.AGGREGATION
ADD, OBSERVE = TraceEvent.Action.ADD, TraceEvent.Action.OBSERVE

CERTIFICATIONS = ("organic", "green_food", "geographical_indication")
NOTE_MAX = 300


@dataclass
class Draft:
    """One record to append: the lot whose chain it joins, the parcel if any, and the EPCIS event."""

    lot: HarvestLot
    kind: str
    when: datetime
    event: dict
    parcel: Parcel | None = None


def _milliseconds(moment: datetime) -> datetime:
    # The document carries milliseconds; the column keeps the same instant.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _lock_lots(lot_ids) -> dict[int, HarvestLot]:
    ids = sorted(set(lot_ids))
    lots = (HarvestLot.objects.select_for_update(of=("self",)).filter(pk__in=ids)
            .select_related("product", "product__shop", "product__shop__village").order_by("pk"))
    return {lot.pk: lot for lot in lots}


def _heads(lot_ids) -> dict[int, tuple[int, str]]:
    """(last sequence, last hash) of each lot's chain; (0, genesis) for a lot with none yet."""
    tops = dict(TraceEvent.objects.filter(lot_id__in=lot_ids).values("lot_id").annotate(top=Max("sequence"))
                .values_list("lot_id", "top"))
    heads = dict.fromkeys(lot_ids, (0, GENESIS_HASH))
    if tops:
        which = Q()
        for lot_id, top in tops.items():
            which |= Q(lot_id=lot_id, sequence=top)
        for lot_id, sequence, digest in TraceEvent.objects.filter(which).values_list("lot_id", "sequence", "hash"):
            heads[lot_id] = (sequence, digest)
    return heads


def _append(drafts: list[Draft]) -> list[TraceEvent]:
    """Chain the drafts onto their lots (whose rows the caller has locked) and insert them."""
    if not drafts:
        return []
    heads = _heads({d.lot.pk for d in drafts})
    now = _milliseconds(timezone.now())
    rows = []
    for draft in drafts:
        when = _milliseconds(draft.when)
        document = normalise({**draft.event, "recordTime": epcis.event_time(now)})
        sequence, previous = heads[draft.lot.pk]
        fields = {
            "sequence": sequence + 1, "kind": draft.kind, "event_id": document["eventID"],
            "event_type": document["type"], "action": document["action"], "biz_step": document.get("bizStep", ""),
            "disposition": document.get("disposition", ""), "event_time": when,
            "event_timezone_offset": document["eventTimeZoneOffset"],
            "read_point": document.get("readPoint", {}).get("id", ""),
            "biz_location": document.get("bizLocation", {}).get("id", ""), "document": document, "recorded_at": now,
        }
        digest = hash_of(content_of(lot_code=draft.lot.code, parcel_code=draft.parcel.code if draft.parcel else None,
                                    **fields), previous)
        rows.append(TraceEvent(lot=draft.lot, parcel=draft.parcel, previous_hash=previous, hash=digest, **fields))
        heads[draft.lot.pk] = (sequence + 1, digest)
    return TraceEvent.objects.bulk_create(rows)


def _farm(lot: HarvestLot) -> str:
    return epcis.farm_uri(lot.product.shop.slug)


def certifications_of(product: Product) -> list[str]:
    return [name for name in CERTIFICATIONS if getattr(product, name)]


# --- The lot's own history ------------------------------------------------------------------------------------------

def _harvest_event(lot: HarvestLot, when: datetime) -> dict:
    product, shop = lot.product, lot.product.shop
    village = shop.village
    event = epcis.base_event(event_type=OBJECT, action=ADD, biz_step="commissioning", disposition="active",
                             when=when, read_point=_farm(lot), biz_location=_farm(lot))
    event["quantityList"] = [epcis.quantity(epcis.lot_identifier(lot),
                                            epcis.kilograms(lot.quantity, product.unit_weight_kg))]
    # The grower's name is not written here: an append-only record could never forget it.
    ilmd = {"fg:harvestDate": lot.harvested_on.isoformat(), "fg:product": product.title,
            "fg:saleUnits": lot.quantity, "fg:saleUnit": product.unit,
            "fg:unitWeightKg": float(product.unit_weight_kg), "fg:farm": shop.name,
            "fg:village": village.name, "fg:county": village.county, "fg:province": village.province}
    if lot.plot:
        ilmd["fg:plot"] = lot.plot
    if product.origin:
        ilmd["fg:origin"] = product.origin
    if certifications_of(product):
        ilmd["fg:certifications"] = certifications_of(product)
    event["ilmd"] = ilmd
    event["fg:placeName"] = shop.name
    return event


def _input_event(lot: HarvestLot, application: InputApplication, when: datetime) -> dict:
    event = epcis.base_event(event_type=OBJECT, action=OBSERVE, biz_step=epcis.APPLYING_INPUT, when=when,
                             read_point=_farm(lot), biz_location=_farm(lot))
    event["quantityList"] = [epcis.quantity(epcis.lot_identifier(lot))]
    applied = {"kind": application.kind, "product": application.product_name,
               "appliedOn": application.applied_on.isoformat(), "dose": application.dose,
               "daysBeforeHarvest": (lot.harvested_on - application.applied_on).days,
               "intervalRespected": not application.violates_pre_harvest_interval(lot.harvested_on)}
    if application.pre_harvest_interval_days:
        applied["preHarvestIntervalDays"] = application.pre_harvest_interval_days
    event["fg:input"] = applied
    event["fg:placeName"] = lot.product.shop.name
    return event


@transaction.atomic
def record_harvest(*, lot: HarvestLot) -> TraceEvent:
    """The lot's first record: commissioning, with its quantity and lot data (ilmd)."""
    locked = _lock_lots([lot.pk])[lot.pk]
    now = timezone.now()
    return _append([Draft(lot=locked, kind=K.HARVEST, when=now, event=_harvest_event(locked, now))])[0]


@transaction.atomic
def record_input(*, lot: HarvestLot, application: InputApplication) -> TraceEvent:
    locked = _lock_lots([lot.pk])[lot.pk]
    now = timezone.now()
    return _append([Draft(lot=locked, kind=K.INPUT, when=now, event=_input_event(locked, application, now))])[0]


def can_inspect(user: User, lot: HarvestLot) -> bool:
    """Staff, or the active agent of a station serving the lot's village."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return Agent.objects.filter(user=user, active=True,
                                station__villages=lot.product.shop.village_id).exists()


@transaction.atomic
def record_inspection(*, lot: HarvestLot, actor: User, passed: bool, certification: str = "", note: str = "",
                      certificate_url: str = "") -> TraceEvent:
    """An inspection of the lot (and, with `certification`, of that claim): conformant or not."""
    errors: dict[str, list[str]] = {}
    certification, note, certificate_url = (certification or "").strip(), (note or "").strip(), \
        (certificate_url or "").strip()
    if certification and certification not in CERTIFICATIONS:
        errors["certification"] = [_("Choose organic, green food or geographical indication, or leave it empty.")]
    if len(note) > NOTE_MAX:
        errors["note"] = [_("Keep the note under %(max)d characters.") % {"max": NOTE_MAX}]
    if certificate_url:
        try:
            URLValidator(schemes=["http", "https"])(certificate_url)
            if len(certificate_url) > 200:
                raise ValidationError("too long")
        except ValidationError:
            errors["certificate_url"] = [_("Enter the web address of the certificate (http or https).")]
    if not isinstance(passed, bool):
        errors["passed"] = [_("Say whether the lot passed the inspection.")]
    if errors:
        raise ValidationError(errors)
    locked = _lock_lots([lot.pk]).get(lot.pk)
    if locked is None:
        raise HarvestLot.DoesNotExist(lot.pk)
    if not can_inspect(actor, locked):
        raise PermissionDenied(_("Only Farmgate staff or the village station's agent can record an inspection."))
    now = timezone.now()
    event = epcis.base_event(event_type=OBJECT, action=OBSERVE, biz_step="inspecting", when=now,
                             disposition="conformant" if passed else "non_conformant",
                             read_point=_farm(locked), biz_location=_farm(locked))
    event["quantityList"] = [epcis.quantity(epcis.lot_identifier(locked))]
    if certificate_url:
        event["certificationInfo"] = certificate_url
    inspection = {"result": "pass" if passed else "fail", "inspector": "staff" if actor.is_staff else "agent"}
    if certification:
        inspection["certification"] = certification
    if note:
        inspection["note"] = note
    event["fg:inspection"] = inspection
    event["fg:placeName"] = locked.product.shop.name
    return _append([Draft(lot=locked, kind=K.INSPECTION, when=now, event=event)])[0]


# --- Custody of parcels ---------------------------------------------------------------------------------------------

TK = TrackingEvent.Kind
# Tracking event kind -> the trace step(s) it writes. Cash collection is no custody step.
CUSTODY_KINDS = {TK.HANDED_OVER: K.PACKED, TK.RECEIVED: K.RECEIVED, TK.LOADED: K.LOADED, TK.DEPARTED: K.SHIPPED,
                 TK.ARRIVED: K.ARRIVED, TK.OUT_FOR_DELIVERY: K.OUT_FOR_DELIVERY, TK.DELIVERED: K.DELIVERED,
                 TK.EXCEPTION: K.PROBLEM}
PROBLEM_DISPOSITIONS = {"damaged": "damaged", "lost": "unknown", "delayed": "in_transit", "other": "in_transit"}
# Steps after which the shipment's sensors are summed up in the record.
WITH_SHIPMENT_SENSORS = {K.ARRIVED, K.OUT_FOR_DELIVERY, K.DELIVERED, K.PROBLEM}


@dataclass
class SensorSummary:
    sensor_id: int
    unit: str
    uom: str
    start: datetime
    end: datetime
    low: float
    high: float
    mean: float
    count: int


def sensor_summaries(where: Q, start: datetime, end: datetime) -> list[SensorSummary]:
    """Lowest, highest and mean reading of each sensor matching `where` between start and end (one query)."""
    rows = (Reading.objects.filter(where, time__gte=start, time__lte=end).values("sensor_id", "sensor__unit")
            .annotate(low=Min("value"), high=Max("value"), mean=Avg("value"), count=Count("id"),
                      first=Min("time"), last=Max("time")).order_by("sensor_id"))
    return [SensorSummary(sensor_id=r["sensor_id"], unit=r["sensor__unit"],
                          uom=Sensor.UOM_CODES.get(r["sensor__unit"], ""), start=r["first"], end=r["last"],
                          low=r["low"], high=r["high"], mean=r["mean"],
                          count=r["count"]) for r in rows]


def _sensor_elements(summaries: list[SensorSummary]) -> list[dict]:
    return [element for element in map(epcis.sensor_element, summaries) if element]


def _custody_event(kind: str, tracking: TrackingEvent, parcel: Parcel, shipment: Shipment | None,
                   contents: list[tuple[HarvestLot, float]], event_id: str, sensors: list[dict]) -> dict:
    when, station = tracking.occurred_at, parcel.station
    station_uri, parcel_uri = epcis.station_uri(station.pk), epcis.parcel_uri(parcel.code)
    shop = parcel.shop_order.shop
    if kind == K.PACKED:
        farm = epcis.farm_uri(shop.slug)
        event = epcis.base_event(event_type=AGGREGATION, action=ADD, biz_step="packing", when=when,
                                 disposition="container_closed", read_point=farm, biz_location=farm,
                                 event_id=event_id)
        event["parentID"] = parcel_uri
        event["childQuantityList"] = [epcis.quantity(epcis.lot_identifier(lot), kg) for lot, kg in contents]
        event["sourceList"] = [{"type": "location", "source": farm}]
        event["destinationList"] = [{"type": "location", "destination": station_uri}]
        event["fg:placeName"] = shop.name
        return event
    steps = {
        K.RECEIVED: ("receiving", "in_progress", station_uri),
        K.STORED: ("storing", "in_progress", station_uri),
        K.LOADED: ("loading", "in_progress", station_uri),
        K.SHIPPED: ("shipping", "in_transit", station_uri),
        K.ARRIVED: ("arriving", "in_transit", ""),
        K.OUT_FOR_DELIVERY: ("departing", "in_transit", ""),
        K.DELIVERED: ("receiving", "in_progress", ""),
        K.PROBLEM: ("transporting", PROBLEM_DISPOSITIONS.get(tracking.problem, "in_transit"), ""),
    }
    biz_step, disposition, place = steps[kind]
    event = epcis.base_event(event_type=OBJECT, action=OBSERVE, biz_step=biz_step, disposition=disposition,
                             when=when, read_point=place, biz_location=place if kind != K.SHIPPED else "",
                             event_id=event_id)
    event["epcList"] = [parcel_uri]
    if place:
        event["fg:placeName"] = station.name
    if kind == K.RECEIVED:
        event["sourceList"] = [{"type": "location", "source": epcis.farm_uri(shop.slug)}]
        event["destinationList"] = [{"type": "location", "destination": station_uri}]
    if kind == K.STORED:
        event["fg:coldStore"] = True
    if kind in (K.LOADED, K.SHIPPED) and shipment is not None:
        event["fg:shipment"] = shipment.code
    if kind == K.SHIPPED and shipment is not None:
        event["sourceList"] = [{"type": "location", "source": station_uri}]
        event["fg:carrier"] = shipment.carrier
    if kind in (K.ARRIVED, K.OUT_FOR_DELIVERY, K.PROBLEM) and tracking.location:
        # The hub or road the agent named; the buyer's own place is never written (not for deliveries).
        event["fg:place"] = tracking.location
    if kind == K.DELIVERED:
        event["fg:receivedBy"] = "buyer"
    if kind == K.PROBLEM and tracking.problem:
        event["fg:problem"] = tracking.problem
    if sensors:
        event["sensorElementList"] = sensors
    return event


@transaction.atomic
def record_custody(*, events: list[TrackingEvent]) -> list[TraceEvent]:
    """Trace records for parcel tracking events: one per lot packed in the parcel, per step."""
    events = [e for e in events if e.kind in CUSTODY_KINDS]
    if not events:
        return []
    parcels = {p.pk: p for p in Parcel.objects.filter(pk__in={e.parcel_id for e in events})
               .select_related("station", "shop_order__shop")}
    weight = ExpressionWrapper(F("quantity") * F("unit_weight_kg"), output_field=DecimalField(max_digits=14,
                                                                                              decimal_places=3))
    contents: dict[int, list[tuple[int, float]]] = defaultdict(list)  # shop order -> [(lot id, kg)]
    for row in (OrderLine.objects.filter(shop_order_id__in={p.shop_order_id for p in parcels.values()},
                                         lot__isnull=False)
                .values("shop_order_id", "lot_id").annotate(kg=Sum(weight)).order_by("shop_order_id", "lot_id")):
        contents[row["shop_order_id"]].append((row["lot_id"], float(row["kg"])))
    lots = _lock_lots(lot_id for rows in contents.values() for lot_id, _kg in rows)
    shipment_ids = {e.shipment_id for e in events if e.shipment_id}
    shipment_ids |= {p.shipment_id for p in parcels.values() if p.shipment_id}
    shipments = Shipment.objects.in_bulk(shipment_ids)
    shipment_sensors: dict[int, list[dict]] = {}

    drafts = []
    for tracking in events:
        parcel = parcels[tracking.parcel_id]
        packed = [(lots[lot_id], kg) for lot_id, kg in contents.get(parcel.shop_order_id, []) if lot_id in lots]
        if not packed:
            continue  # nothing traceable in this parcel (its products were deleted before packing)
        shipment = shipments.get(tracking.shipment_id or parcel.shipment_id)
        kinds = [CUSTODY_KINDS[tracking.kind]]
        if kinds[0] == K.RECEIVED and parcel.station.cold_store and parcel.cold_chain:
            kinds.append(K.STORED)
        for kind in kinds:
            sensors: list[dict] = []
            if kind in WITH_SHIPMENT_SENSORS and shipment is not None:
                if shipment.pk not in shipment_sensors:
                    start = shipment.departed_at or shipment.created_at
                    shipment_sensors[shipment.pk] = _sensor_elements(
                        sensor_summaries(Q(sensor__shipment_id=shipment.pk), start, tracking.occurred_at))
                sensors = shipment_sensors[shipment.pk]
            elif kind == K.LOADED and parcel.station.cold_store and parcel.cold_chain and parcel.received_at:
                sensors = _sensor_elements(sensor_summaries(Q(sensor__station_id=parcel.station_id),
                                                            parcel.received_at, tracking.occurred_at))
            event = _custody_event(kind, tracking, parcel, shipment, packed, epcis.new_event_id(), sensors)
            drafts.extend(Draft(lot=lot, kind=kind, when=tracking.occurred_at, event=event, parcel=parcel)
                          for lot, _kg in packed)
    return _append(drafts)
