"""Reads for the public trace page, its JSON twin and the EPCIS exports.

Everything here is public by design (a lot code or a parcel code is printed on the produce), so nothing
read here may carry a buyer's data. A trace costs a fixed number of queries whatever the number of
records or readings: the lot (with product, farm, village, grower), its inputs, its records, the
temperature sensors of the shipments that carried it, and their readings bucketed in one query (cached
until a sensor reports again).
"""
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from django.core.cache import cache
from django.db.models import Avg, Case, Count, IntegerField, Max, Min, OuterRef, Q, QuerySet, Subquery, When
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import codes
from logistics.models import PARCEL_PREFIX, Parcel, TrackingEvent
from monitoring.models import Reading, Sensor
from monitoring.selectors import ChartPoint, EpochBucket, bucket_seconds
from shops.models import LOT_PREFIX, HarvestLot, InputApplication
from shops.selectors import lot_with_inputs

from .chain import ChainCheck, verify
from .models import TraceEvent

MAX_CHART_SENSORS = 4
MEASUREMENT_LABELS = {"Temperature": gettext_lazy("Temperature"), "RelativeHumidity": gettext_lazy("Relative humidity"),
                      "VolumeFraction": gettext_lazy("Soil moisture"), "Illuminance": gettext_lazy("Light"),
                      "Dimensionless": gettext_lazy("Concentration")}
UOM_SYMBOLS = {"CEL": "°C", "P1": "%", "LUX": "lx", "59": "ppm"}
CERTIFICATION_LABELS = {"organic": gettext_lazy("Organic certified"),
                        "green_food": gettext_lazy("Green food certified"),
                        "geographical_indication": gettext_lazy("Geographical indication")}
CHART_POINTS = 200
CHART_CACHE_SECONDS = 600
TIMELINE_LIMIT = 200  # records shown on the page; the EPCIS export has them all


def _choice_label(choices, value) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


def lot_code_or_none(code: str) -> str | None:
    """The canonical lot code for a typed or scanned one, or None when its check character is wrong."""
    return codes.normalise(code, LOT_PREFIX) if codes.is_valid(code, LOT_PREFIX) else None


def parcel_code_or_none(code: str) -> str | None:
    return codes.normalise(code, PARCEL_PREFIX) if codes.is_valid(code, PARCEL_PREFIX) else None


def lot_for_trace(code: str) -> HarvestLot | None:
    """The lot with its product, farm, village, grower and inputs (two queries), or None."""
    canonical = lot_code_or_none(code)
    if canonical is None:
        return None
    return lot_with_inputs(HarvestLot.objects.filter(code=canonical)).first()


def lot_with_product(code: str) -> HarvestLot | None:
    canonical = lot_code_or_none(code)
    if canonical is None:
        return None
    return HarvestLot.objects.filter(code=canonical).select_related("product").first()


def lot_for_digital_link(gtin_variants: list[str], code: str) -> HarvestLot | None:
    """The lot a GS1 Digital Link names: its code, of a product with that GTIN."""
    canonical = lot_code_or_none(code)
    if canonical is None:
        return None
    return HarvestLot.objects.filter(code=canonical, product__gtin__in=gtin_variants).first()


def records_of(lot: HarvestLot) -> list[TraceEvent]:
    """The lot's whole chain in order, with parcel codes (needed to verify it)."""
    return list(TraceEvent.objects.filter(lot=lot).select_related("parcel").order_by("sequence"))


# --- The trace: records, verification, cold chain -------------------------------------------------------------------

@dataclass
class Series:
    sensor: Sensor
    points: list[ChartPoint]

    @property
    def low(self) -> float:
        return min(p.min for p in self.points)

    @property
    def high(self) -> float:
        return max(p.max for p in self.points)


@dataclass
class Entry:
    """One record as the timeline shows it."""

    record: TraceEvent
    parcel_number: int | None  # parcels are numbered on the page, their codes are not listed
    altered: bool

    @cached_property
    def place(self) -> str:
        doc = self.record.document
        return doc.get("fg:placeName") or doc.get("fg:place") or ""

    @cached_property
    def details(self) -> dict:
        doc = self.record.document
        return doc.get("fg:input") or doc.get("fg:inspection") or {}

    @cached_property
    def sensors(self) -> list[dict]:
        return [report for element in self.record.document.get("sensorElementList", [])
                for report in element.get("sensorReport", [])]

    @cached_property
    def readings(self) -> list[str]:
        """Sensor summaries in words: "Temperature: 2.1 to 5.3 °C, mean 4"."""
        return [_("%(type)s: %(low)s to %(high)s %(unit)s, mean %(mean)s") % {
            "type": MEASUREMENT_LABELS.get(r["type"], r["type"]), "low": r.get("minValue"), "high": r.get("maxValue"),
            "mean": r.get("meanValue"), "unit": UOM_SYMBOLS.get(r.get("uom", ""), r.get("uom", ""))}
            for r in self.sensors]

    @cached_property
    def note(self) -> str:
        """What the step adds in words (the input applied, the inspection's verdict, the problem)."""
        doc, kind = self.record.document, self.record.kind
        if kind == TraceEvent.Kind.INPUT and "fg:input" in doc:
            applied = doc["fg:input"]
            label = _choice_label(InputApplication.Kind, applied.get("kind"))
            return _("%(product)s (%(kind)s), applied on %(date)s") % {
                "product": applied.get("product", ""), "kind": label, "date": applied.get("appliedOn", "")}
        if kind == TraceEvent.Kind.INSPECTION and "fg:inspection" in doc:
            inspection = doc["fg:inspection"]
            parts = [str(_("Passed") if inspection.get("result") == "pass" else _("Failed"))]
            if inspection.get("certification") in CERTIFICATION_LABELS:
                parts.append(str(CERTIFICATION_LABELS[inspection["certification"]]))
            if inspection.get("note"):
                parts.append(inspection["note"])
            return " · ".join(parts)
        if kind == TraceEvent.Kind.PROBLEM and doc.get("fg:problem"):
            return _choice_label(TrackingEvent.Problem, doc["fg:problem"])
        if kind == TraceEvent.Kind.SHIPPED and doc.get("fg:carrier"):
            return _("Carrier: %(carrier)s") % {"carrier": doc["fg:carrier"]}
        return ""


@dataclass
class Trace:
    lot: HarvestLot
    records: list[TraceEvent]
    check: ChainCheck
    entries: list[Entry]
    hidden: int  # older records not shown
    cold_chain: list[Series] = field(default_factory=list)
    parcel_code: str | None = None  # the parcel the page is narrowed to, if any


def _temperature_sensors(lot: HarvestLot, parcel_code: str | None) -> list[Sensor]:
    carrying = Q(shipment__parcels__lots=lot)
    if parcel_code:
        carrying &= Q(shipment__parcels__code=parcel_code)
    # Sensors of those shipments, by a subquery so the readings join below is not multiplied.
    ids = Sensor.objects.filter(carrying, unit=Sensor.Unit.CELSIUS).values("pk")
    # The first and last reading through the (sensor, time) index, not by scanning every reading.
    first = Reading.objects.filter(sensor=OuterRef("pk")).order_by("time").values("time")[:1]
    last = Reading.objects.filter(sensor=OuterRef("pk")).order_by("-time").values("time")[:1]
    return list(Sensor.objects.filter(pk__in=ids, last_reading_at__isnull=False)
                .annotate(first=Subquery(first), last=Subquery(last)).filter(first__isnull=False)
                .select_related("shipment").order_by("-shipment__created_at", "name", "pk")[:MAX_CHART_SENSORS])


def cold_chain_of(lot: HarvestLot, parcel_code: str | None = None) -> list[Series]:
    """Temperatures of the shipments that carried the lot (or the one parcel): two queries, one when cached."""
    sensors = _temperature_sensors(lot, parcel_code)
    if not sensors:
        return []
    seconds = {s.pk: bucket_seconds(s.first, s.last, CHART_POINTS) for s in sensors}
    # The bucketed points change only when a sensor reports: keyed on each sensor's newest reading. A late
    # batch of older readings shows within CHART_CACHE_SECONDS.
    key = "trace:chart:" + hashlib.sha256(";".join(
        f"{s.pk}:{s.last_reading_at.isoformat()}:{s.first.isoformat()}:{seconds[s.pk]}" for s in sensors
    ).encode()).hexdigest()
    cached = cache.get(key)
    if cached is None:
        cached = _bucketed(seconds)
        cache.set(key, cached, CHART_CACHE_SECONDS)
    points = {pk: [ChartPoint(*row) for row in rows] for pk, rows in cached.items()}
    return [Series(sensor=s, points=points.get(s.pk, [])) for s in sensors if points.get(s.pk)]


def _bucketed(seconds: dict[int, int]) -> dict[int, list[tuple]]:
    """Readings of each sensor as (time, min, avg, max, count) buckets of its own length, in one query."""
    bucket = Case(*[When(sensor_id=pk, then=EpochBucket("time", length)) for pk, length in seconds.items()],
                  output_field=IntegerField())
    rows = (Reading.objects.filter(sensor_id__in=seconds).annotate(bucket=bucket).values("sensor_id", "bucket")
            .annotate(lo=Min("value"), hi=Max("value"), avg=Avg("value"), n=Count("id"))
            .order_by("sensor_id", "bucket"))
    points: dict[int, list[tuple]] = {pk: [] for pk in seconds}
    for r in rows:
        length = seconds[r["sensor_id"]]
        points[r["sensor_id"]].append((datetime.fromtimestamp(int(r["bucket"]) * length, tz=UTC), r["lo"], r["avg"],
                                       r["hi"], r["n"]))
    return points


def trace_of(lot: HarvestLot, *, parcel_code: str | None = None, with_cold_chain: bool = True) -> Trace:
    records = records_of(lot)
    check = verify(records, lot.code)
    altered = check.altered_pks
    numbers: dict[int, int] = {}
    for record in records:
        if record.parcel_id and record.parcel_id not in numbers:
            numbers[record.parcel_id] = len(numbers) + 1
    if parcel_code and not any(r.parcel_id and r.parcel.code == parcel_code for r in records):
        parcel_code = None  # not a parcel of this lot: the whole lot is shown
    shown = [r for r in records if r.parcel_id is None or r.parcel.code == parcel_code] if parcel_code else records
    hidden = max(len(shown) - TIMELINE_LIMIT, 0)
    entries = [Entry(record=r, parcel_number=numbers.get(r.parcel_id), altered=r.pk in altered)
               for r in shown[hidden:]]
    return Trace(lot=lot, records=records, check=check, entries=entries, hidden=hidden,
                 cold_chain=cold_chain_of(lot, parcel_code) if with_cold_chain else [], parcel_code=parcel_code)


# --- Exports --------------------------------------------------------------------------------------------------------

def parcel_for_export(code: str) -> Parcel | None:
    canonical = parcel_code_or_none(code)
    if canonical is None:
        return None
    return Parcel.objects.filter(code=canonical).first()


def parcel_records(parcel: Parcel) -> QuerySet[TraceEvent]:
    """The parcel's own records and the history of the lots packed in it, in the order they were written.

    A step of a parcel carrying several lots is one row per lot with one event ID: dedupe on event_id.
    """
    lots = TraceEvent.objects.filter(parcel=parcel).values("lot_id")
    return (TraceEvent.objects.filter(Q(parcel=parcel) | Q(parcel__isnull=True, lot_id__in=lots))
            .order_by("pk").only("pk", "event_id", "document"))


def unique_documents(records) -> list[dict]:
    seen, documents = set(), []
    for record in records:
        if record.event_id not in seen:
            seen.add(record.event_id)
            documents.append(record.document)
    return documents
