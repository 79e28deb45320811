import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from monitoring import selectors
from monitoring.charts import svg_line_chart
from monitoring.models import Reading

from .factories import SensorFactory, ShipmentFactory, StationAgentFactory

pytestmark = pytest.mark.django_db


def minute_readings(sensor, start, minutes, value=lambda i: 20 + (i % 60) / 10):
    Reading.objects.bulk_create([Reading(sensor=sensor, time=start + timedelta(minutes=i), value=value(i))
                                 for i in range(minutes)], batch_size=5000)


def test_a_month_of_minute_readings_gives_at_most_300_points(sensor, django_assert_num_queries):
    end = datetime(2025, 6, 30, tzinfo=UTC)
    start = end - timedelta(days=30)
    minute_readings(sensor, start, 30 * 24 * 60)
    with django_assert_num_queries(1):
        points = selectors.downsample(sensor.readings.all(), start, end)
    assert 250 <= len(points) <= 300
    assert sum(p.count for p in points) == 30 * 24 * 60
    assert all(p.min <= p.avg <= p.max for p in points)
    assert min(p.min for p in points) == 20 and max(p.max for p in points) == pytest.approx(25.9)
    times = [p.time for p in points]
    assert times == sorted(times) and times[0] >= start - timedelta(hours=3)


def test_buckets_keep_extremes(sensor):
    start = datetime(2025, 6, 1, tzinfo=UTC)
    minute_readings(sensor, start, 24 * 60, value=lambda i: 50.0 if i == 700 else 20.0)
    points = selectors.downsample(sensor.readings.all(), start, start + timedelta(days=1))
    assert max(p.max for p in points) == 50.0  # a one-minute spike survives downsampling
    assert len(points) <= 300


def test_sparse_readings_are_returned_one_per_bucket(sensor):
    start = timezone.now() - timedelta(hours=2)
    Reading.objects.bulk_create([Reading(sensor=sensor, time=start + timedelta(minutes=10 * i), value=20 + i)
                                 for i in range(5)])
    points = selectors.chart_for_sensor(sensor, "day")
    assert [p.avg for p in points] == [20, 21, 22, 23, 24]


def test_readings_for_shipment_returns_its_sensors_series():
    agent = StationAgentFactory()
    shipment = ShipmentFactory(station=agent.station)
    truck = SensorFactory(shop=None, plot="", shipment=shipment, created_by=agent.user, name="Truck")
    store = SensorFactory(shop=None, plot="", station=agent.station, created_by=agent.user)
    start = timezone.now() - timedelta(hours=6)
    minute_readings(truck, start, 300)
    minute_readings(store, start, 300)
    series = selectors.readings_for_shipment(shipment, start, timezone.now())
    assert [s.sensor for s in series] == [truck]
    assert 0 < len(series[0].points) <= 300 and sum(p.count for p in series[0].points) == 300


def test_svg_chart_draws_line_band_and_thresholds():
    base = datetime(2025, 6, 1, tzinfo=UTC)
    points = [selectors.ChartPoint(base + timedelta(hours=i), 3 + i % 3, 4 + i % 3, 5 + i % 3) for i in range(24)]
    svg = str(svg_line_chart(points, 2, 8, 600, 200, unit="°C", title="Cold <store>"))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'role="img"' in svg and "Cold &lt;store&gt;" in svg and "<script" not in svg
    assert svg.count("<polyline") == 1 and svg.count("<polygon") == 1
    assert svg.count('stroke-dasharray="6 4"') == 2 and "max 8" in svg and "min 2" in svg
    line = re.search(r'<polyline points="([^"]+)"', svg).group(1).split()
    assert len(line) == 24
    assert "<circle" not in svg  # nothing out of range


def test_svg_chart_marks_out_of_range_points_and_takes_plain_pairs():
    base = datetime(2025, 6, 1, tzinfo=UTC)
    svg = str(svg_line_chart([(base, 4), (base + timedelta(hours=1), 12), (base + timedelta(hours=2), 5)],
                             None, 8, 300, 120))
    assert svg.count("<circle") == 1 and "<polygon" not in svg and svg.count("stroke-dasharray") == 1


def test_svg_chart_without_points_says_so():
    svg = str(svg_line_chart([], 2, 8, 300, 120))
    assert "No readings in this period." in svg and "<polyline" not in svg


def test_two_charts_on_one_page_have_distinct_ids():
    a, b = str(svg_line_chart([], 1, 2, 300, 120)), str(svg_line_chart([], 1, 2, 300, 120))
    assert re.search(r'id="(\w+)"', a).group(1) != re.search(r'id="(\w+)"', b).group(1)
