"""Every write to monitoring: sensors and their keys, readings (HTTP and MQTT alike) and alerts."""
import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from shops.models import ShopMember

from . import selectors
from .models import Alert, Reading, Sensor

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
# Device clocks drift: a reading this far ahead of ours is still accepted.
CLOCK_SKEW = timedelta(minutes=2)
# Nothing we store predates this; it also keeps absurd years away from the database's date range.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
SENSOR_FIELDS = ("name", "kind", "unit", "min_value", "max_value")


# --- Sensors --------------------------------------------------------------------------

def _resolve_attachment(*, user: User, kind: str, target_id, plot: str) -> dict:
    """The model fields for what the sensor is attached to, if the user owns it; else a 400 on attached_to."""
    plot = (plot or "").strip()
    try:
        target_id = int(target_id)
    except (TypeError, ValueError):
        raise ValidationError({"attached_to": [_("Give the id of what the sensor is attached to.")]})
    if kind == Sensor.Attachment.PLOT:
        shop = selectors.attachable_shops(user).filter(pk=target_id).first()
        if shop is None:
            raise ValidationError({"attached_to": [_("Choose a shop that you manage.")]})
        if not plot:
            raise ValidationError({"attached_to": [_("Name the plot or field the sensor is in.")]})
        return {"shop": shop, "plot": plot[:80]}
    if kind == Sensor.Attachment.COLD_STORE:
        station = selectors.stations_run_by(user).filter(pk=target_id).first()
        if station is None:
            raise ValidationError({"attached_to": [_("Choose the station that you run.")]})
        if not station.cold_store:
            raise ValidationError({"attached_to": [_("This station has no cold store.")]})
        return {"station": station}
    if kind == Sensor.Attachment.SHIPMENT:
        shipment = selectors.attachable_shipments(user).filter(pk=target_id).first()
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
def create_sensor(*, user: User, name: str, kind: str, unit: str, attached_kind: str, attached_id,
                  plot: str = "", min_value: Decimal | None = None,
                  max_value: Decimal | None = None) -> tuple[Sensor, str]:
    """Create a sensor on something the user owns; returns it with its device key, shown this once."""
    attachment = _resolve_attachment(user=user, kind=attached_kind, target_id=attached_id, plot=plot)
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
        _evaluate_alerts(sensor, new, result)
        newest_time, newest_value = new[-1]
        if sensor.last_reading_at is None or newest_time > sensor.last_reading_at:
            Sensor.objects.filter(pk=sensor.pk).update(last_reading_at=newest_time, last_value=newest_value)
            sensor.last_reading_at, sensor.last_value = newest_time, newest_value
    return result


def record_readings(*, sensor: Sensor, payload, now: datetime | None = None) -> IngestResult:
    """What HTTP and MQTT ingestion both call: validate the payload, then store it."""
    return store_readings(sensor=sensor, rows=parse_readings(payload, now=now))


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
    # Imported here: notifications is the outbox every app calls, and it imports nothing of ours.
    from notifications.services import notify

    sensor = alert.sensor
    values = {"sensor": sensor.name, "value": f"{alert.first_value:g}", "unit": sensor.unit,
              "limit": f"{alert.threshold:f}".rstrip("0").rstrip("."), "place": sensor.attached_label,
              "time": timezone.localtime(alert.started_at).strftime("%Y-%m-%d %H:%M")}

    def subject() -> str:
        return _("Sensor alert: %(sensor)s is out of range") % values

    def body() -> str:
        if alert.kind == Alert.Kind.TOO_HIGH:
            return _("%(sensor)s (%(place)s) read %(value)s %(unit)s at %(time)s, above the highest "
                     "acceptable value of %(limit)s %(unit)s.") % values
        return _("%(sensor)s (%(place)s) read %(value)s %(unit)s at %(time)s, below the lowest "
                 "acceptable value of %(limit)s %(unit)s.") % values

    # notify() renders subject and body in each recipient's language.
    for user in alert_recipients(sensor):
        notify(recipient=user, kind="sensor_alert", subject=subject, body=body, link=sensor.get_absolute_url(),
               dedupe_key=f"sensor-alert-{alert.pk}")
