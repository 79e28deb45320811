import io

import pytest

from monitoring import demo
from monitoring.models import Alert, Reading, Sensor
from shops.tests.factories import ShopFactory

from .factories import ShipmentFactory, StationAgentFactory

pytestmark = pytest.mark.django_db


def test_demo_without_shops_or_stations_creates_nothing():
    demo.load(io.StringIO())
    assert not Sensor.objects.exists()


def test_demo_is_idempotent_with_one_excursion_alert():
    ShopFactory()
    agent = StationAgentFactory()
    ShipmentFactory(station=agent.station)
    out = io.StringIO()
    demo.load(out)
    assert Sensor.objects.count() == 4
    assert "device key" in out.getvalue()
    month = Sensor.objects.get(station=agent.station)
    assert Reading.objects.filter(sensor=month).count() == 30 * 24 * 6
    alert = Alert.objects.get()
    assert alert.kind == Alert.Kind.TOO_HIGH and alert.ended_at is not None and alert.worst_value > 35
    readings = Reading.objects.count()
    demo.load(io.StringIO())
    assert Sensor.objects.count() == 4 and Reading.objects.count() == readings and Alert.objects.count() == 1
