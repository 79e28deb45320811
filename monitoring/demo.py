"""Demo sensors with a month of readings every 10 minutes, and one heat excursion with its alert.

Sensors go only where their target exists (a shop plot, a station cold store, a shipment), so this
runs whether or not the logistics demo data has been loaded. Idempotent: an existing sensor is kept.
"""
import math
import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from logistics.models import Shipment, Station
from shops.models import HarvestLot, Shop

from . import services
from .models import Sensor

STEP = timedelta(minutes=10)


def _series(end, days: float, value_at, seed: int) -> list:
    rng = random.Random(seed)
    count = int(timedelta(days=days) / STEP)
    start = end - STEP * (count - 1)
    return [(start + STEP * i, round(value_at(start + STEP * i, rng), 2)) for i in range(count)]


def _daily(base: float, swing: float, noise: float):
    def value_at(time, rng):
        hour = timezone.localtime(time).hour + timezone.localtime(time).minute / 60
        return base + swing * math.sin((hour - 9) / 24 * 2 * math.pi) + rng.uniform(-noise, noise)
    return value_at


def _with_heatwave(value_at, start, end, peak: float):
    """An afternoon above the limit: it opens one alert, which closes when the heat passes."""
    def wrapped(time, rng):
        if start <= time < end:
            return peak + rng.uniform(-1, 1)
        return value_at(time, rng)
    return wrapped


def _ensure(out, *, lookup: dict, defaults: dict, created_by: User, series: list) -> None:
    sensor = Sensor.objects.filter(**lookup).first()
    if sensor is None:
        sensor = Sensor(**lookup, **defaults, created_by=created_by)
        key = sensor.set_new_key()
        sensor.save()
        out.write(f"Demo sensor {sensor.name} (id {sensor.pk}): device key {key}")
    if sensor.readings.exists():
        return
    for start in range(0, len(series), services.MAX_BATCH):
        services.store_readings(sensor=sensor, rows=series[start:start + services.MAX_BATCH])


def load(out) -> None:
    end = timezone.now().replace(second=0, microsecond=0)
    end -= timedelta(minutes=end.minute % 10)
    shop = (Shop.objects.filter(owner__username="farmer").order_by("pk").first()
            or Shop.objects.order_by("pk").first())
    if shop is not None:
        lot = HarvestLot.objects.filter(product__shop=shop).exclude(plot="").order_by("pk").first()
        plot = lot.plot if lot else "东坡 3 号地"
        heat_start = timezone.localtime(end - timedelta(days=3)).replace(hour=13, minute=0)
        air = _with_heatwave(_daily(24, 7, 0.6), heat_start, heat_start + timedelta(hours=3), 38.5)
        _ensure(out, lookup={"name": "果园气温 Orchard air temperature", "shop": shop, "plot": plot},
                defaults={"kind": Sensor.Kind.AIR_TEMPERATURE, "unit": Sensor.Unit.CELSIUS,
                          "min_value": Decimal("2"), "max_value": Decimal("35")},
                created_by=shop.owner, series=_series(end, 30, air, seed=1))
        _ensure(out, lookup={"name": "土壤湿度 Soil moisture", "shop": shop, "plot": plot},
                defaults={"kind": Sensor.Kind.SOIL_MOISTURE, "unit": Sensor.Unit.VOLUMETRIC_WATER,
                          "min_value": Decimal("15"), "max_value": Decimal("45")},
                created_by=shop.owner, series=_series(end, 30, _daily(30, 3, 1.5), seed=2))
    staff = User.objects.filter(is_staff=True).order_by("pk").first()
    station = Station.objects.filter(cold_store=True).order_by("pk").first()
    if station is not None:
        agent = User.objects.filter(agent__station=station).order_by("pk").first() or staff
        if agent is not None:
            _ensure(out, lookup={"name": "冷库温度 Cold store temperature", "station": station},
                    defaults={"kind": Sensor.Kind.STORE_TEMPERATURE, "unit": Sensor.Unit.CELSIUS,
                              "min_value": Decimal("0"), "max_value": Decimal("8")},
                    created_by=agent, series=_series(end, 30, _daily(4, 0.5, 0.4), seed=3))
    shipment = (Shipment.objects.filter(cold_chain=True).order_by("pk").first()
                or Shipment.objects.order_by("pk").first())
    if shipment is not None:
        _ensure(out, lookup={"name": "车厢温度 Truck temperature", "shipment": shipment},
                defaults={"kind": Sensor.Kind.STORE_TEMPERATURE, "unit": Sensor.Unit.CELSIUS,
                          "min_value": Decimal("0"), "max_value": Decimal("8")},
                created_by=shipment.created_by, series=_series(end, 2, _daily(5, 1, 0.4), seed=4))
