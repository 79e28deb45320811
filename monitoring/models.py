"""Sensors on plots, in cold stores and in shipments; their readings; and the alerts they raise."""
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from logistics.models import Shipment, Station
from shops.models import Shop

KEY_PREFIX_LENGTH = 8


def hash_key(key: str) -> str:
    # Keys are 43 random URL-safe characters, so a plain SHA-256 is enough: nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


class Sensor(models.Model):
    class Kind(models.TextChoices):
        AIR_TEMPERATURE = "air_temperature", _("Air temperature")
        SOIL_TEMPERATURE = "soil_temperature", _("Soil temperature")
        HUMIDITY = "humidity", _("Relative humidity")
        SOIL_MOISTURE = "soil_moisture", _("Soil moisture")
        STORE_TEMPERATURE = "store_temperature", _("Storage temperature")
        LIGHT = "light", _("Light")
        CO2 = "co2", _("Carbon dioxide")

    class Unit(models.TextChoices):
        CELSIUS = "°C", _("°C")
        RELATIVE_HUMIDITY = "%RH", _("%RH (relative humidity)")
        VOLUMETRIC_WATER = "%VWC", _("%VWC (volumetric water content)")
        LUX = "lx", _("lx (lux)")
        PPM = "ppm", _("ppm")

    class Attachment(models.TextChoices):
        PLOT = "plot", _("A plot of a shop")
        COLD_STORE = "cold_store", _("A station's cold store")
        SHIPMENT = "shipment", _("A shipment")

    # UN/ECE Recommendation 20 codes, as EPCIS sensor reports want them.
    UOM_CODES = {"°C": "CEL", "%RH": "P1", "%VWC": "P1", "lx": "LUX", "ppm": "59"}

    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices)
    min_value = models.DecimalField(_("lowest acceptable value"), max_digits=9, decimal_places=2,
                                    null=True, blank=True)
    max_value = models.DecimalField(_("highest acceptable value"), max_digits=9, decimal_places=2,
                                    null=True, blank=True)
    # Exactly one of: a shop's plot (shop + plot name), a station's cold store, a shipment.
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, null=True, blank=True, related_name="sensors",
                             verbose_name=_("shop"))
    plot = models.CharField(_("plot or field"), max_length=80, blank=True)
    station = models.ForeignKey(Station, on_delete=models.CASCADE, null=True, blank=True, related_name="sensors",
                                verbose_name=_("station cold store"))
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, null=True, blank=True, related_name="sensors",
                                 verbose_name=_("shipment"))
    # The device key itself is never stored: only its hash, and a short prefix to find the row.
    key_prefix = models.CharField(max_length=KEY_PREFIX_LENGTH, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    key_revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The newest reading, kept here so lists and the detail show it without a query per sensor.
    last_reading_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_value = models.FloatField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("sensor")
        verbose_name_plural = _("sensors")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(shop__isnull=False, station__isnull=True, shipment__isnull=True) & ~Q(plot="")
                    | Q(shop__isnull=True, station__isnull=False, shipment__isnull=True, plot="")
                    | Q(shop__isnull=True, station__isnull=True, shipment__isnull=False, plot="")
                ),
                name="sensor_attached_to_exactly_one",
            ),
            models.CheckConstraint(
                condition=Q(min_value__isnull=False) | Q(max_value__isnull=False),
                name="sensor_has_a_threshold",
            ),
            models.CheckConstraint(
                condition=Q(min_value__isnull=True) | Q(max_value__isnull=True) | Q(min_value__lt=F("max_value")),
                name="sensor_min_below_max",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("monitoring:sensor", args=[self.pk])

    @property
    def attachment(self) -> str:
        if self.shop_id:
            return self.Attachment.PLOT
        if self.station_id:
            return self.Attachment.COLD_STORE
        return self.Attachment.SHIPMENT

    @property
    def attached_label(self) -> str:
        if self.shop_id:
            return f"{self.shop} · {self.plot}"
        if self.station_id:
            return str(self.station)
        return str(self.shipment)

    @property
    def uom_code(self) -> str:
        return self.UOM_CODES.get(self.unit, "")

    @property
    def key_active(self) -> bool:
        return self.key_revoked_at is None

    def set_new_key(self) -> str:
        """Give the sensor a fresh key and return it; only its hash and prefix are kept."""
        key = secrets.token_urlsafe(32)
        self.key_prefix = key[:KEY_PREFIX_LENGTH]
        self.key_hash = hash_key(key)
        self.key_revoked_at = None
        return key

    def key_matches(self, key: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_key(key))

    def classify(self, value: float) -> str | None:
        """None when the value is in range, else the alert kind it calls for."""
        if self.max_value is not None and value > self.max_value:
            return Alert.Kind.TOO_HIGH
        if self.min_value is not None and value < self.min_value:
            return Alert.Kind.TOO_LOW
        return None


class Reading(models.Model):
    id = models.BigAutoField(primary_key=True)
    sensor = models.ForeignKey(Sensor, on_delete=models.CASCADE, related_name="readings")
    time = models.DateTimeField(_("time"))
    value = models.FloatField(_("value"))

    class Meta:
        verbose_name = _("reading")
        verbose_name_plural = _("readings")
        # The unique constraint's index on (sensor, time) also serves every range query. On PostgreSQL the table
        # is partitioned by month on time (migration 0003, monitoring/partitions.py): the primary key there is
        # (id, time), and this constraint, which includes the partition key, holds across all partitions.
        constraints = [models.UniqueConstraint(fields=["sensor", "time"], name="reading_sensor_time_unique")]

    def __str__(self) -> str:
        return f"{self.sensor_id} {self.time:%Y-%m-%d %H:%M} {self.value}"


class ReadingHourly(models.Model):
    """One sensor's readings in one hour (UTC): how many, lowest, highest and their sum (for the mean).

    Kept up to date by monitoring.services.store_readings as readings arrive (and rebuilt for a range by
    rebuild_hourly_rollups); charts over more than two days read these rows instead of the raw readings, so a
    month of a sensor is 720 rows whatever the reading rate. Kept when old readings are dropped.
    """

    sensor = models.ForeignKey(Sensor, on_delete=models.CASCADE, related_name="hourly")
    hour = models.DateTimeField(_("hour"))  # its start, on a whole UTC hour
    reading_count = models.PositiveIntegerField(_("readings"))
    min_value = models.FloatField(_("lowest value"))
    max_value = models.FloatField(_("highest value"))
    sum_value = models.FloatField(_("sum of values"))

    class Meta:
        verbose_name = _("hourly readings")
        verbose_name_plural = _("hourly readings")
        # Its index serves the chart's range query too.
        constraints = [models.UniqueConstraint(fields=["sensor", "hour"], name="reading_hourly_sensor_hour_unique")]

    def __str__(self) -> str:
        return f"{self.sensor_id} {self.hour:%Y-%m-%d %H:00} n={self.reading_count}"

    @property
    def avg_value(self) -> float:
        return self.sum_value / self.reading_count


class Alert(models.Model):
    """An excursion out of range: opened by the first reading outside, closed by the first one back."""

    class Kind(models.TextChoices):
        TOO_HIGH = "too_high", _("Too high")
        TOO_LOW = "too_low", _("Too low")

    sensor = models.ForeignKey(Sensor, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    threshold = models.DecimalField(_("limit crossed"), max_digits=9, decimal_places=2)
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    first_value = models.FloatField(_("first value"))
    worst_value = models.FloatField(_("worst value"))
    reading_count = models.PositiveIntegerField(_("readings out of range"), default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["sensor", "-started_at"], name="alert_sensor_started")]
        constraints = [
            # No alert storm: one open alert per sensor at most.
            models.UniqueConstraint(fields=["sensor"], condition=Q(ended_at__isnull=True),
                                    name="alert_one_open_per_sensor"),
        ]

    def __str__(self) -> str:
        return f"{self.sensor} {self.get_kind_display()} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None
