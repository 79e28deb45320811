"""Every write to monitoring: sensors and their keys, readings (HTTP and MQTT alike) and alerts."""
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from notifications.services import Phrase, notify
from shops.models import ShopMember

from . import selectors
from .models import Alert, Reading, ReadingHourly, Sensor

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
# Device clocks drift: a reading this far ahead of ours is still accepted.
CLOCK_SKEW = timedelta(minutes=2)
# Nothing we store predates this; it also keeps absurd years away from the database's date range.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
SENSOR_FIELDS = ("name", "kind", "unit", "min_value", "max_value")


# --- Sensors --------------------------------------------------------------------------

def _target(target_id, identifier: str, field: str) -> dict:
    """A lookup by the identifier the API shows (a shop's slug, a shipment's code), else by numeric id."""
    identifier = (identifier or "").strip()
    if identifier:
        return {field: identifier}
    if target_id is None or isinstance(target_id, bool):
        raise ValidationError({"attached_to": [_("Say what the sensor is attached to.")]})
    try:
        return {"pk": int(target_id)}
    except (TypeError, ValueError):
        raise ValidationError({"attached_to": [_("Give the id of what the sensor is attached to.")]})


def _resolve_attachment(*, user: User, kind: str, target_id=None, plot: str = "", shop_slug: str = "",
                        shipment_code: str = "") -> dict:
    """The model fields for what the sensor is attached to, if the user owns it; else a 400 on attached_to.

    A plot's shop is named by its slug (what the shops API returns) or its id; a cold store by its station's id;
    a shipment by its code or id.
    """
    plot = (plot or "").strip()
    if kind == Sensor.Attachment.PLOT:
        shop = selectors.attachable_shops(user).filter(**_target(target_id, shop_slug, "slug")).first()
        if shop is None:
            raise ValidationError({"attached_to": [_("Choose a shop that you manage.")]})
        if not plot:
            raise ValidationError({"attached_to": [_("Name the plot or field the sensor is in.")]})
        return {"shop": shop, "plot": plot[:80]}
    if kind == Sensor.Attachment.COLD_STORE:
        station = selectors.stations_run_by(user).filter(**_target(target_id, "", "pk")).first()
        if station is None:
            raise ValidationError({"attached_to": [_("Choose the station that you run.")]})
        if not station.cold_store:
            raise ValidationError({"attached_to": [_("This station has no cold store.")]})
        return {"station": station}
    if kind == Sensor.Attachment.SHIPMENT:
        shipment = selectors.attachable_shipments(user).filter(**_target(target_id, shipment_code, "code")).first()
        if shipment is None:
            raise ValidationError({"attached_to": [_("Choose a shipment of the station that you run.")]})
        return {"shipment": shipment}
    raise ValidationError({"attached_to": [_("Attach the sensor to a plot, a cold store or a shipment.")]})


def _check_thresholds(sensor: Sensor) -> None:
    if sensor.min_value is None and sensor.max_value is None:
        raise ValidationError({"min_value": [_("Set a lowest or a highest acceptable value, or both.")]})
    if sensor.min_value is not None and sensor.max_value is not None and sensor.min_value >= sensor.max_value:
        raise ValidationError({"max_value": [_("The highest value must be above the lowest.")]})


@transaction.atomic
def create_sensor(*, user: User, name: str, kind: str, unit: str, attached_kind: str, attached_id=None,
                  plot: str = "", shop_slug: str = "", shipment_code: str = "", min_value: Decimal | None = None,
                  max_value: Decimal | None = None) -> tuple[Sensor, str]:
    """Create a sensor on something the user owns; returns it with its device key, shown this once."""
    attachment = _resolve_attachment(user=user, kind=attached_kind, target_id=attached_id, plot=plot,
                                     shop_slug=shop_slug, shipment_code=shipment_code)
    sensor = Sensor(name=(name or "").strip(), kind=kind, unit=unit, min_value=min_value, max_value=max_value,
                    created_by=user, **attachment)
    key = sensor.set_new_key()
    sensor.full_clean(exclude=["created_by"], validate_constraints=False)
    _check_thresholds(sensor)
    sensor.save()
    return sensor, key


@transaction.atomic
def update_sensor(*, sensor: Sensor, **fields) -> Sensor:
    unknown = set(fields) - set(SENSOR_FIELDS)
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in unknown})
    for name, value in fields.items():
        setattr(sensor, name, value.strip() if isinstance(value, str) else value)
    sensor.full_clean(exclude=["created_by"], validate_constraints=False)
    _check_thresholds(sensor)
    sensor.save()
    return sensor


@transaction.atomic
def revoke_sensor_key(*, sensor: Sensor) -> Sensor:
    """The device's key stops working at once; rotate to give it a new one."""
    if sensor.key_revoked_at is None:
        sensor.key_revoked_at = timezone.now()
        sensor.save(update_fields=["key_revoked_at", "updated_at"])
    return sensor


@transaction.atomic
def rotate_sensor_key(*, sensor: Sensor) -> str:
    """A new key replaces the old one (which stops working); returns it, shown this once."""
    key = sensor.set_new_key()
    sensor.save(update_fields=["key_prefix", "key_hash", "key_revoked_at", "updated_at"])
    return key


# --- Readings -------------------------------------------------------------------------

class ReadingsInvalid(Exception):
    """The payload (or some rows of it) is malformed; errors say which rows and why. Nothing was saved."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


def _parse_time(raw, latest: datetime) -> datetime:
    if not isinstance(raw, str):
        raise ValueError(_("Enter a time in ISO 8601 with a UTC offset, such as 2025-06-01T08:30:00+08:00."))
    try:
        time = datetime.fromisoformat(raw)
    except ValueError:
        time = None
    if time is None or time.tzinfo is None or time.utcoffset() is None:
        raise ValueError(_("Enter a time in ISO 8601 with a UTC offset, such as 2025-06-01T08:30:00+08:00."))
    if time > latest:
        raise ValueError(_("This time is in the future."))
    if time < EARLIEST:
        raise ValueError(_("This time is too far in the past."))
    return time


def _parse_value(raw) -> float:
    # JSON true/false are ints to Python; a sensor never means them as numbers.
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError(_("Enter a number."))
    try:
        value = float(raw)
    except (ValueError, OverflowError):
        raise ValueError(_("Enter a number."))
    if not math.isfinite(value):
        raise ValueError(_("Enter a finite number."))
    return value


def _parse_row(row, latest: datetime) -> tuple[datetime, float]:
    if not isinstance(row, dict):
        raise ReadingsInvalid({"non_field_errors": [_("Each reading is an object with a time and a value.")]})
    errors: dict[str, list[str]] = {}
    parsed = {}
    for name, parse in (("time", lambda raw: _parse_time(raw, latest)), ("value", _parse_value)):
        if name not in row or row[name] is None:
            errors[name] = [_("This field is required.")]
            continue
        try:
            parsed[name] = parse(row[name])
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        raise ReadingsInvalid(errors)
    return parsed["time"], parsed["value"]


def parse_readings(payload, *, now: datetime | None = None) -> list[tuple[datetime, float]]:
    """Validate `{"time","value"}` or `{"readings":[...]}` (up to MAX_BATCH); all rows or nothing."""
    latest = (now or timezone.now()) + CLOCK_SKEW
    if not isinstance(payload, dict):
        raise ReadingsInvalid({"non_field_errors": [
            _("Send a JSON object: {\"time\", \"value\"} or {\"readings\": [...]}.")]})
    if "readings" not in payload:
        return [_parse_row(payload, latest)]
    rows = payload["readings"]
    if not isinstance(rows, list):
        raise ReadingsInvalid({"readings": [_("Send a list of readings.")]})
    if not rows:
        raise ReadingsInvalid({"readings": [_("Send at least one reading.")]})
    if len(rows) > MAX_BATCH:
        raise ReadingsInvalid({"readings": [
            _("Send at most %(max)d readings in one batch; this one has %(count)d.")
            % {"max": MAX_BATCH, "count": len(rows)}]})
    parsed, errors = [], {}
    for index, row in enumerate(rows):
        try:
            parsed.append(_parse_row(row, latest))
        except ReadingsInvalid as exc:
            errors[str(index)] = exc.errors
    if errors:
        raise ReadingsInvalid({"readings": errors})
    return parsed


@dataclass
class IngestResult:
    accepted: int
    duplicates: int
    opened: list[Alert] = field(default_factory=list)
    closed: list[Alert] = field(default_factory=list)


def _stored_times(sensor: Sensor, times: list[datetime]) -> set[datetime]:
    stored: set[datetime] = set()
    # Chunks keep SQLite under its bound-parameter limit; PostgreSQL takes one query per 900.
    for start in range(0, len(times), 900):
        stored.update(Reading.objects.filter(sensor=sensor, time__in=times[start:start + 900])
                      .values_list("time", flat=True))
    return stored


@transaction.atomic
def store_readings(*, sensor: Sensor, rows: list[tuple[datetime, float]]) -> IngestResult:
    """Insert parsed readings (skipping duplicates) and move the sensor's alert along, in time order."""
    # Locking the sensor row serialises batches of one sensor: duplicate counts and the open alert stay exact.
    sensor = Sensor.objects.select_for_update().get(pk=sensor.pk)
    unique: dict[datetime, float] = {}
    for time, value in rows:
        unique.setdefault(time, value)  # the first of a repeated time wins
    stored = _stored_times(sensor, list(unique))
    new = sorted((t, v) for t, v in unique.items() if t not in stored)
    Reading.objects.bulk_create([Reading(sensor_id=sensor.pk, time=t, value=v) for t, v in new],
                                ignore_conflicts=True, batch_size=MAX_BATCH)
    result = IngestResult(accepted=len(new), duplicates=len(rows) - len(new))
    if new:
        _add_to_hourly(sensor.pk, new)
        _evaluate_alerts(sensor, new, result)
        newest_time, newest_value = new[-1]
        if sensor.last_reading_at is None or newest_time > sensor.last_reading_at:
            Sensor.objects.filter(pk=sensor.pk).update(last_reading_at=newest_time, last_value=newest_value)
            sensor.last_reading_at, sensor.last_value = newest_time, newest_value
    return result


def record_readings(*, sensor: Sensor, payload, now: datetime | None = None) -> IngestResult:
    """What HTTP and MQTT ingestion both call: validate the payload, then store it."""
    return store_readings(sensor=sensor, rows=parse_readings(payload, now=now))


# --- Hourly rollups -------------------------------------------------------------------

def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour the moment falls in."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _add_to_hourly(sensor_id: int, readings: list[tuple[datetime, float]]) -> None:
    """Fold newly stored readings into their hours' rollups: one upsert statement for the batch.

    Called in store_readings' transaction, under the sensor's row lock, with readings that were not stored
    before, so each reading is counted exactly once.
    """
    hours: dict[datetime, list[float]] = {}
    for time, value in readings:
        hours.setdefault(hour_of(time), []).append(value)
    table = connection.ops.quote_name(ReadingHourly._meta.db_table)
    lowest, highest = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")
    rows, params = [], []
    for hour, values in hours.items():
        rows.append("(%s, %s, %s, %s, %s, %s)")
        params += [sensor_id, connection.ops.adapt_datetimefield_value(hour), len(values), min(values),
                   max(values), math.fsum(values)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (sensor_id, hour, reading_count, min_value, max_value, sum_value) "  # noqa: S608
            f"VALUES {', '.join(rows)} ON CONFLICT (sensor_id, hour) DO UPDATE SET "
            f"reading_count = {table}.reading_count + excluded.reading_count, "
            f"min_value = {lowest}({table}.min_value, excluded.min_value), "
            f"max_value = {highest}({table}.max_value, excluded.max_value), "
            f"sum_value = {table}.sum_value + excluded.sum_value", params)


@transaction.atomic
def rebuild_hourly_rollups(*, start: datetime, end: datetime, sensor_ids: list[int] | None = None) -> int:
    """Recompute the rollups of the whole hours from start to end from the readings (after a bulk load or a
    repair); returns the number of hourly rows written. Safe to run again."""
    start, end = hour_of(start), hour_of(end) + timedelta(hours=1)
    readings = Reading.objects.filter(time__gte=start, time__lt=end)
    rollups = ReadingHourly.objects.filter(hour__gte=start, hour__lt=end)
    if sensor_ids is not None:
        readings, rollups = readings.filter(sensor_id__in=sensor_ids), rollups.filter(sensor_id__in=sensor_ids)
    rollups.delete()
    grouped = (readings.annotate(hour=TruncHour("time", tzinfo=UTC)).order_by()
               .values("sensor_id", "hour")
               .annotate(n=Count("id"), lo=Min("value"), hi=Max("value"), total=Sum("value")))
    sql, params = grouped.query.sql_with_params()
    table = connection.ops.quote_name(ReadingHourly._meta.db_table)
    with connection.cursor() as cursor:
        insert = f"INSERT INTO {table} (sensor_id, hour, reading_count, min_value, max_value, sum_value) "
        cursor.execute(f"{insert}SELECT * FROM ({sql}) AS grouped", params)  # noqa: S608 (the ORM's SQL)
        return cursor.rowcount


# --- Alerts ---------------------------------------------------------------------------

def _evaluate_alerts(sensor: Sensor, readings: list[tuple[datetime, float]], result: IngestResult) -> None:
    """Open, grow and close the sensor's alert over new readings, oldest first.

    A reading older than the newest already seen (a late upload) is stored and charted but does not
    move the alert, so a delayed batch cannot close or reopen an excursion out of order.
    """
    alert = Alert.objects.filter(sensor=sensor, ended_at__isnull=True).first()
    changed = False
    for time, value in readings:
        if sensor.last_reading_at is not None and time <= sensor.last_reading_at:
            continue
        kind = sensor.classify(value)
        if alert is not None and kind == alert.kind:
            worse = value > alert.worst_value if kind == Alert.Kind.TOO_HIGH else value < alert.worst_value
            if worse:
                alert.worst_value = value
            alert.reading_count += 1
            changed = True
            continue
        if alert is not None:
            alert.ended_at = time
            alert.save(update_fields=["ended_at", "worst_value", "reading_count"])
            result.closed.append(alert)
            alert, changed = None, False
        if kind is not None:
            threshold = sensor.max_value if kind == Alert.Kind.TOO_HIGH else sensor.min_value
            alert = Alert.objects.create(sensor=sensor, kind=kind, threshold=threshold, started_at=time,
                                         first_value=value, worst_value=value, reading_count=1)
            result.opened.append(alert)
            _notify_owners(alert)
    if alert is not None and changed:
        alert.save(update_fields=["worst_value", "reading_count"])


def alert_recipients(sensor: Sensor) -> list[User]:
    """Who hears about the sensor's alerts: the shop's owner and managers, or the station's agents."""
    if sensor.shop_id:
        users = User.objects.filter(
            Q(owned_shops=sensor.shop_id)
            | Q(shop_memberships__shop=sensor.shop_id, shop_memberships__role=ShopMember.Role.MANAGER))
    else:
        station_id = sensor.station_id or sensor.shipment.station_id
        users = User.objects.filter(agent__station=station_id, agent__active=True)
    return list(users.filter(is_active=True).distinct().order_by("pk"))


def _notify_owners(alert: Alert) -> None:
    sensor = alert.sensor
    values = {"sensor": sensor.name, "value": f"{alert.first_value:g}", "unit": sensor.unit,
              "limit": f"{alert.threshold:f}".rstrip("0").rstrip("."), "place": sensor.attached_label,
              "time": timezone.localtime(alert.started_at).strftime("%Y-%m-%d %H:%M")}

    subject = Phrase(gettext_noop("Sensor alert: %(sensor)s is out of range"), values)
    if alert.kind == Alert.Kind.TOO_HIGH:
        body = Phrase(gettext_noop("%(sensor)s (%(place)s) read %(value)s %(unit)s at %(time)s, above the highest "
                                   "acceptable value of %(limit)s %(unit)s."), values)
    else:
        body = Phrase(gettext_noop("%(sensor)s (%(place)s) read %(value)s %(unit)s at %(time)s, below the lowest "
                                   "acceptable value of %(limit)s %(unit)s."), values)

    # Kept as message ids: each recipient reads it in their language of the moment.
    for user in alert_recipients(sensor):
        notify(recipient=user, kind="sensor_alert", subject=subject, body=body, link=sensor.get_absolute_url(),
               dedupe_key=f"sensor-alert-{alert.pk}")
