from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from monitoring import services
from monitoring.models import Alert
from notifications.models import Notification
from shops.models import ShopMember
from shops.tests.factories import ShopMemberFactory

from .factories import SensorFactory, ShipmentFactory, StationAgentFactory

pytestmark = pytest.mark.django_db


def store(sensor, values, start=None):
    """Store values one minute apart (2-35 °C is the factory's range)."""
    start = start or timezone.now() - timedelta(hours=5)
    return services.store_readings(sensor=sensor, rows=[(start + timedelta(minutes=i), v)
                                                        for i, v in enumerate(values)])


def test_in_range_readings_open_nothing(sensor):
    store(sensor, [20, 21, 35, 2])
    assert not Alert.objects.exists()


def test_excursion_opens_one_alert_and_tracks_worst_value(sensor):
    result = store(sensor, [20, 36, 39.5, 37])
    alert = Alert.objects.get()
    assert result.opened == [alert]
    assert alert.kind == Alert.Kind.TOO_HIGH and alert.is_open
    assert alert.first_value == 36 and alert.worst_value == 39.5 and alert.reading_count == 3
    assert alert.threshold == Decimal("35.00")


def test_alert_stays_one_across_batches_and_worst_value_updates(sensor):
    start = timezone.now() - timedelta(hours=5)
    store(sensor, [36, 37], start)
    store(sensor, [41, 38], start + timedelta(minutes=10))
    alert = Alert.objects.get()
    assert alert.is_open and alert.worst_value == 41 and alert.reading_count == 4


def test_back_in_range_closes_and_a_new_excursion_opens_a_new_alert(sensor):
    start = timezone.now() - timedelta(hours=5)
    store(sensor, [36, 38, 20], start)
    closed = Alert.objects.get()
    assert closed.ended_at == start + timedelta(minutes=2)
    store(sensor, [21, 1.5, 0.5], start + timedelta(minutes=10))
    latest = Alert.objects.filter(ended_at__isnull=True).get()
    assert latest.pk != closed.pk
    assert latest.kind == Alert.Kind.TOO_LOW and latest.worst_value == 0.5
    assert Alert.objects.count() == 2


def test_jump_from_too_high_to_too_low_closes_and_opens(sensor):
    store(sensor, [40, 1])
    high, low = Alert.objects.order_by("started_at")
    assert high.kind == Alert.Kind.TOO_HIGH and high.ended_at == low.started_at
    assert low.kind == Alert.Kind.TOO_LOW and low.is_open


def test_a_batch_is_evaluated_in_time_order_whatever_the_order_sent(sensor):
    start = timezone.now() - timedelta(hours=5)
    rows = [(start + timedelta(minutes=2), 20), (start, 36), (start + timedelta(minutes=1), 37)]
    services.store_readings(sensor=sensor, rows=rows)
    alert = Alert.objects.get()
    assert alert.started_at == start and alert.ended_at == start + timedelta(minutes=2)


def test_late_readings_do_not_move_the_alert(sensor):
    start = timezone.now() - timedelta(hours=5)
    store(sensor, [36, 37], start + timedelta(minutes=30))
    store(sensor, [20], start)  # an old in-range reading arriving late
    assert Alert.objects.get().is_open


def test_database_refuses_a_second_open_alert(sensor):
    store(sensor, [40])
    alert = Alert.objects.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(sensor=sensor, kind=alert.kind, threshold=alert.threshold,
                             started_at=timezone.now(), first_value=41, worst_value=41)


def test_sensor_with_only_a_minimum(sensor):
    sensor.max_value = None
    sensor.save()
    store(sensor, [500, 1])
    assert Alert.objects.get().kind == Alert.Kind.TOO_LOW


def test_owner_and_managers_are_notified_once_per_alert():
    sensor = SensorFactory()
    manager = ShopMemberFactory(shop=sensor.shop, role=ShopMember.Role.MANAGER).user
    member = ShopMemberFactory(shop=sensor.shop, role=ShopMember.Role.MEMBER).user
    store(sensor, [36, 40, 41])
    alert = Alert.objects.get()
    rows = Notification.objects.filter(kind="sensor_alert")
    assert {n.recipient_id for n in rows} == {sensor.shop.owner_id, manager.pk}
    assert member.pk not in {n.recipient_id for n in rows}
    inbox = rows.get(recipient=sensor.shop.owner, channel=Notification.Channel.INBOX)
    assert sensor.name in inbox.subject and "36" in inbox.body and "35" in inbox.body
    assert inbox.link == sensor.get_absolute_url() and inbox.dedupe_key == f"sensor-alert-{alert.pk}"
    count = rows.count()
    store(sensor, [42], timezone.now() - timedelta(hours=1))  # the same alert goes on: no new message
    assert Notification.objects.filter(kind="sensor_alert").count() == count


def test_station_agents_hear_about_cold_store_and_shipment_alerts():
    agent = StationAgentFactory()
    shipment = ShipmentFactory(station=agent.station)
    for target in ({"station": agent.station}, {"shipment": shipment}):
        sensor = SensorFactory(shop=None, plot="", created_by=agent.user, min_value=Decimal("0"),
                               max_value=Decimal("8"), **target)
        store(sensor, [12])
        assert Notification.objects.filter(kind="sensor_alert", recipient=agent.user,
                                           dedupe_key=f"sensor-alert-{sensor.alerts.get().pk}").exists()


def test_nothing_is_saved_when_notifying_fails(sensor, monkeypatch):
    import monitoring.services

    def broken(**kwargs):
        raise RuntimeError("outbox down")

    monkeypatch.setattr(monitoring.services, "notify", broken)
    with pytest.raises(RuntimeError):
        store(sensor, [20, 40])
    assert not Alert.objects.exists() and not sensor.readings.exists()
