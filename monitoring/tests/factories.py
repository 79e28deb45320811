from datetime import datetime, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from accounts.tests.factories import AgentFactory as AgentUserFactory
from logistics.models import Agent, Shipment, Station
from monitoring.models import Sensor
from shops.tests.factories import ShopFactory


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Station

    name = factory.Sequence(lambda n: f"栖霞服务站 {n}")
    cold_store = True


class StationAgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    user = factory.SubFactory(AgentUserFactory)
    station = factory.SubFactory(StationFactory)


class ShipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shipment

    code = factory.Sequence(lambda n: f"S{n:08d}")
    station = factory.SubFactory(StationFactory)
    destination = "上海市"
    carrier = "顺丰冷运"
    cold_chain = True
    created_by = factory.SubFactory(AgentUserFactory)


class SensorFactory(factory.django.DjangoModelFactory):
    """A plot sensor (air temperature, 2-35 °C) with a known key in `sensor.key`."""

    class Meta:
        model = Sensor
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Orchard air {n}")
    kind = Sensor.Kind.AIR_TEMPERATURE
    unit = Sensor.Unit.CELSIUS
    min_value = Decimal("2.00")
    max_value = Decimal("35.00")
    shop = factory.SubFactory(ShopFactory)
    plot = "东坡 3 号地"
    created_by = factory.LazyAttribute(lambda s: s.shop.owner if s.shop else s.station.agents.first().user)

    @factory.post_generation
    def key(obj, create, extracted, **kwargs):
        obj.key = obj.set_new_key()
        if create:
            obj.save()


def iso(minutes_ago: float = 0, base: datetime | None = None) -> str:
    """A time `minutes_ago` before now (or base), as ISO 8601 with an offset."""
    return ((base or timezone.now()) - timedelta(minutes=minutes_ago)).isoformat()


def batch(values, *, start_minutes_ago: float = 600, step_minutes: float = 1) -> dict:
    """{"readings": [...]} one per value, step_minutes apart, oldest first."""
    base = timezone.now()
    return {"readings": [{"time": iso(start_minutes_ago - i * step_minutes, base), "value": v}
                         for i, v in enumerate(values)]}
