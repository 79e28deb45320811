"""The villager's text messages: what they say, one SMS each (< 70 characters) in Chinese and English, and that
each is sent once, at its moment, to the villager's phone."""
import json
from decimal import Decimal

import pytest
from django.utils import translation

from logistics import services as logistics_services
from stations import assisted, sms

# The world of the assisted-buying tests: its fixtures (agent, home, farm_station, product) and helpers.
from .test_assisted import (  # noqa: F401
    PHONE,
    agent,
    delivered_to_station,
    farm_product,
    farm_station,
    home,
    order_for_villager,
    product,
    received_here,
)

LONGEST = {"number": "261206ABCDE7", "station": "国路夼村为民服务站第二分站", "total": Decimal("99999.99"),
           "code": "012345"}


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_order_placed_says_number_total_and_where_to_pay_in_one_sms(language):
    with translation.override(language):
        text = sms.order_placed(number=LONGEST["number"], total=LONGEST["total"], station=LONGEST["station"])
    assert len(text) < sms.SMS_LIMIT == 70
    assert LONGEST["number"] in text and "¥99999.99" in text and "国路夼村为民服…" in text
    assert ("现金" if language == "zh-hans" else "cash") in text


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_ready_for_pickup_says_number_station_and_code_in_one_sms(language):
    with translation.override(language):
        text = sms.ready_for_pickup(number=LONGEST["number"], code=LONGEST["code"], station=LONGEST["station"])
    assert len(text) < sms.SMS_LIMIT
    assert LONGEST["number"] in text and "012345" in text and "国路夼村为民服…" in text
    assert ("取货码" if language == "zh-hans" else "code") in text


def test_a_short_station_name_is_not_cut():
    with translation.override("zh-hans"):
        text = sms.order_placed(number="261206ABCDE7", total=Decimal("68"), station="国路夼村服务站")
    assert "国路夼村服务站" in text and "¥68.00" in text and "…" not in text


def _sent(settings) -> list[dict]:
    path = settings.SMS_FILE_PATH / "sms.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def sms_file(settings, tmp_path):
    settings.SMS_BACKEND = "notifications.channels.FileSMSBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms"
    return settings


@pytest.mark.django_db
def test_the_villager_gets_the_order_sms_when_placed_and_the_code_when_the_parcel_is_at_the_station(
        sms_file, agent, home, product, farm_station, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        order = order_for_villager(agent, product, phone="+86 139 0535 0177")
    to_villager = [m for m in _sent(sms_file) if m["to"].endswith(PHONE)]
    with translation.override("zh-hans"):
        placed = sms.order_placed(number=order.number, total=order.total, station=home.name)
    assert [m["text"] for m in to_villager] == [placed]
    assert "请到国路夼村服务站付现金" in placed

    # Handed over, received, shipped by the farm's station: nothing yet. Delivered to the station: the code.
    with django_capture_on_commit_callbacks(execute=True):
        parcel = delivered_to_station(order, farm_station)
    to_villager = [m for m in _sent(sms_file) if m["to"].endswith(PHONE)]
    with translation.override("zh-hans"):
        ready = sms.ready_for_pickup(number=order.number, code=parcel.delivery_code, station=home.name)
    assert [m["text"] for m in to_villager] == [placed, ready]
    assert parcel.delivery_code in ready and len(ready) < 70

    # The pickup itself (a delivered event whose actor is the villager) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        assisted.hand_over_to_villager(agent=agent, order=order, code=parcel.delivery_code, cash_collected=True)
    assert len([m for m in _sent(sms_file) if m["to"].endswith(PHONE)]) == 2


@pytest.mark.django_db
def test_produce_received_at_the_pickup_station_sends_the_code_once_received(
        sms_file, agent, home, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        order = order_for_villager(agent, farm_product(home))
        parcel = received_here(order, home)
    with translation.override("zh-hans"):
        ready = sms.ready_for_pickup(number=order.number, code=parcel.delivery_code, station=home.name)
    assert [m["text"] for m in _sent(sms_file) if m["to"].endswith(PHONE)][1:] == [ready]
    with django_capture_on_commit_callbacks(execute=True):
        assisted.hand_over_to_villager(agent=agent, order=order, code=parcel.delivery_code, cash_collected=True)
    assert len([m for m in _sent(sms_file) if m["to"].endswith(PHONE)]) == 2  # the pickup sends nothing


@pytest.mark.django_db
def test_an_ordinary_buyers_delivered_parcel_sends_no_station_sms(
        sms_file, agent, product, farm_station, django_capture_on_commit_callbacks):  # noqa: F811
    from logistics.tests.factories import agent_at, departed
    from orders.models import Order

    with django_capture_on_commit_callbacks(execute=True):
        order_for_villager(agent, product)
        courier = agent_at(farm_station)
        # An ordinary buyer's order from a farm of the same station, delivered by the carrier.
        shipment, parcels = departed(farm_station, courier, payment_method=Order.PaymentMethod.COD)
        logistics_services.record_shipment_event(shipment=shipment, actor=courier, kind="delivered")
    texts = [m["text"] for m in _sent(sms_file)]
    assert len([m for m in _sent(sms_file) if m["to"].endswith(PHONE)]) == 1
    assert not any(parcels[0].delivery_code in text for text in texts)
