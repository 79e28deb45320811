"""Reads for monitoring, each scoped to what the user owns, and the chart downsampling."""
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import NotSupportedError
from django.db.models import Avg, Count, Func, IntegerField, Max, Min, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from accounts.models import User
from logistics.models import Agent, Shipment, Station
from shops.models import Shop
from shops.selectors import shops_managed_by

from .models import Alert, Reading, ReadingHourly, Sensor

MAX_CHART_POINTS = 300
CHART_RANGES = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}


def stations_run_by(user: User) -> QuerySet[Station]:
    """Stations where the user is an active agent."""
    if not user.is_authenticated:
        return Station.objects.none()
    return Station.objects.filter(pk__in=Agent.objects.filter(user=user, active=True).values("station_id"))


def attachable_shops(user: User) -> QuerySet[Shop]:
    return shops_managed_by(user).order_by("name")


def attachable_stations(user: User) -> QuerySet[Station]:
    return stations_run_by(user).filter(cold_store=True).order_by("name")


def attachable_shipments(user: User) -> QuerySet[Shipment]:
    return Shipment.objects.filter(station__in=stations_run_by(user)).order_by("-created_at", "-id")


def _open_alerts() -> Prefetch:
    return Prefetch("alerts", queryset=Alert.objects.filter(ended_at__isnull=True), to_attr="open_alerts")


def sensors_for(user: User) -> QuerySet[Sensor]:
    """Sensors the user owns: on plots of shops they manage, in their station's cold store or shipments."""
    if not user.is_authenticated:
        return Sensor.objects.none()
    stations = stations_run_by(user).values("pk")
    return (Sensor.objects.filter(Q(shop__in=shops_managed_by(user).values("pk")) | Q(station__in=stations)
                                  | Q(shipment__station__in=stations))
            .select_related("shop", "station", "shipment")
            .prefetch_related(_open_alerts()))


def open_alert_of(sensor: Sensor) -> Alert | None:
    alerts = getattr(sensor, "open_alerts", None)
    if alerts is None:
        return sensor.alerts.filter(ended_at__isnull=True).first()
    return alerts[0] if alerts else None


def alerts_for(user: User, state: str = "open") -> QuerySet[Alert]:
    alerts = Alert.objects.filter(sensor__in=sensors_for(user).values("pk"))
    if state == "open":
        alerts = alerts.filter(ended_at__isnull=True)
    elif state == "closed":
        alerts = alerts.filter(ended_at__isnull=False)
    return alerts.select_related("sensor", "sensor__shop", "sensor__station", "sensor__shipment")


def recent_alerts(sensor: Sensor, limit: int = 20) -> list[Alert]:
    return list(sensor.alerts.order_by("-started_at", "-id")[:limit])


# --- Charts ---------------------------------------------------------------------------

@dataclass(frozen=True)
class ChartPoint:
    """One bucket of readings: its start time and the lowest, mean and highest value in it."""

    time: datetime
    min: float
    avg: float
    max: float
    count: int = 1


class EpochBucket(Func):
    """The reading's time as whole seconds since 1970, divided (floor) by the bucket length."""

    output_field = IntegerField()

    def __init__(self, expression, seconds: int):
        self.seconds = int(seconds)  # an int we computed: safe to put in the SQL text
        super().__init__(expression)

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection,
                           template=f"FLOOR(EXTRACT(EPOCH FROM %(expressions)s) / {self.seconds})", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Julian days to Unix seconds, rounded: no "%" in the SQL, which Django's placeholders would eat.
        return self.as_sql(compiler, connection, template=(
            f"(CAST(ROUND((julianday(%(expressions)s) - 2440587.5) * 86400) AS INTEGER) / {self.seconds})"), **extra)

    def as_sql(self, compiler, connection, template=None, **extra):
        if template is None:
            raise NotSupportedError("Chart buckets are written for PostgreSQL and SQLite.")
        return super().as_sql(compiler, connection, template=template, **extra)


def bucket_seconds(start: datetime, end: datetime, max_points: int = MAX_CHART_POINTS) -> int:
    """The bucket length that fits the range in at most max_points buckets (edges can add one, hence -1)."""
    span = max((end - start).total_seconds(), 1)
    return max(1, math.ceil(span / max(max_points - 1, 1)))


def downsample(readings: QuerySet[Reading], start: datetime, end: datetime,
               max_points: int = MAX_CHART_POINTS) -> list[ChartPoint]:
    """Readings between start and end as at most max_points buckets of min/avg/max, in one SQL query."""
    seconds = bucket_seconds(start, end, max_points)
    rows = (readings.filter(time__gte=start, time__lte=end)
            .annotate(bucket=EpochBucket("time", seconds))
            .values("bucket")
            .annotate(lo=Min("value"), mean=Avg("value"), hi=Max("value"), n=Count("id"))
            .order_by("bucket"))
    return [ChartPoint(time=datetime.fromtimestamp(int(r["bucket"]) * seconds, tz=UTC),
                       min=r["lo"], avg=r["mean"], max=r["hi"], count=r["n"]) for r in rows]


# Ranges longer than this are drawn from the hourly rollups (ReadingHourly), not the raw readings.
ROLLUP_AFTER = timedelta(days=2)
HOUR = 3600


def downsample_hourly(sensor_id: int, start: datetime, end: datetime,
                      max_points: int = MAX_CHART_POINTS) -> list[ChartPoint]:
    """The same buckets as downsample(), built from hourly rollups: buckets are whole hours, each hour in one.

    A range that starts or ends within an hour takes that whole hour: at a bucket of three hours or more
    (a month in 300 points) it cannot be told apart on a chart.
    """
    seconds = math.ceil(bucket_seconds(start, end, max_points) / HOUR) * HOUR
    rows = (ReadingHourly.objects.filter(sensor_id=sensor_id, hour__gte=start - timedelta(seconds=HOUR - 1),
                                         hour__lte=end)
            .annotate(bucket=EpochBucket("hour", seconds))
            .values("bucket")
            .annotate(lo=Min("min_value"), hi=Max("max_value"), total=Sum("sum_value"), n=Sum("reading_count"))
            .order_by("bucket"))
    return [ChartPoint(time=datetime.fromtimestamp(int(r["bucket"]) * seconds, tz=UTC),
                       min=r["lo"], avg=r["total"] / r["n"], max=r["hi"], count=r["n"]) for r in rows]


def sensor_series(sensor: Sensor, start: datetime, end: datetime,
                  max_points: int = MAX_CHART_POINTS) -> list[ChartPoint]:
    """A sensor's readings between start and end for a chart: raw up to two days, hourly rollups beyond."""
    if end - start > ROLLUP_AFTER:
        return downsample_hourly(sensor.pk, start, end, max_points)
    return downsample(Reading.objects.filter(sensor=sensor), start, end, max_points)


def chart_for_sensor(sensor: Sensor, range_name: str = "day", now: datetime | None = None) -> list[ChartPoint]:
    end = now or timezone.now()
    start = end - CHART_RANGES.get(range_name, CHART_RANGES["day"])
    return sensor_series(sensor, start, end)


@dataclass
class SensorSeries:
    sensor: Sensor
    points: list[ChartPoint]


def readings_for_shipment(shipment: Shipment, start: datetime | None = None, end: datetime | None = None,
                          max_points: int = MAX_CHART_POINTS) -> list[SensorSeries]:
    """The readings of each sensor carried by a shipment between start and end, downsampled for a chart.

    start defaults to the shipment's creation, end to now. One query for the sensors and one per sensor.
    Feed each series' points with the sensor's thresholds to monitoring.charts.svg_line_chart.
    """
    start = start or shipment.created_at
    end = end or timezone.now()
    series = []
    for sensor in Sensor.objects.filter(shipment=shipment).order_by("name", "id"):
        series.append(SensorSeries(sensor, sensor_series(sensor, start, end, max_points)))
    return series
