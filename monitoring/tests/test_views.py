from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring import services
from monitoring.models import Sensor
from shops.tests.factories import ShopFactory

from .factories import SensorFactory, StationAgentFactory

pytestmark = pytest.mark.django_db


def with_excursion(sensor):
    start = timezone.now() - timedelta(hours=3)
    services.store_readings(sensor=sensor, rows=[(start + timedelta(minutes=i), 20.0 + (18 if i == 30 else 0))
                                                 for i in range(60)])
    return sensor


def test_pages_need_sign_in(client, sensor):
    for url in ("/monitoring/sensors/", f"/monitoring/sensors/{sensor.pk}/", "/monitoring/alerts/",
                "/monitoring/sensors/new/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_create_page_shows_the_key_once(client):
    shop = ShopFactory()
    client.force_login(shop.owner)
    form = client.get("/monitoring/sensors/new/")
    assert form.status_code == 200 and shop.name in form.content.decode()
    response = client.post("/monitoring/sensors/new/", {
        "name": "Orchard air", "kind": "air_temperature", "unit": "°C", "attach": f"plot:{shop.pk}",
        "plot": "东坡", "min_value": "2", "max_value": "35"})
    assert response.status_code == 201
    sensor = Sensor.objects.get()
    key = response.context["key"]
    assert sensor.key_matches(key) and key in response.content.decode()
    detail = client.get(f"/monitoring/sensors/{sensor.pk}/").content.decode()
    assert key not in detail and sensor.key_prefix in detail


def test_create_page_errors_stay_on_the_form(client):
    shop = ShopFactory()
    client.force_login(shop.owner)
    response = client.post("/monitoring/sensors/new/", {
        "name": "Orchard air", "kind": "air_temperature", "unit": "°C", "attach": f"plot:{shop.pk}",
        "plot": "", "min_value": "9", "max_value": "3"})
    assert response.status_code == 200
    assert response.context["form"].errors and not Sensor.objects.exists()
    foreign = client.post("/monitoring/sensors/new/", {
        "name": "x", "kind": "air_temperature", "unit": "°C", "attach": f"plot:{ShopFactory().pk}",
        "plot": "A", "min_value": "1"})
    assert foreign.status_code == 200 and "attach" in foreign.context["form"].errors


def test_create_page_without_anything_to_attach_to(client):
    client.force_login(StationAgentFactory(station__cold_store=False).user)
    response = client.get("/monitoring/sensors/new/")
    assert response.status_code == 200 and "<form method=\"post\" class=\"card form\"" not in response.content.decode()


def test_detail_page_draws_the_chart_and_lists_alerts(client):
    sensor = with_excursion(SensorFactory())
    client.force_login(sensor.shop.owner)
    for range_name in ("day", "week", "month", "bogus"):
        response = client.get(f"/monitoring/sensors/{sensor.pk}/?range={range_name}")
        assert response.status_code == 200
        html = response.content.decode()
        assert "<svg" in html and "<polyline" in html and "max 35" in html
        assert response.context["point_count"] <= 300
    assert len(response.context["alerts"]) == 1 and response.context["alerts"][0].worst_value == 38.0


def test_others_sensors_are_404_on_pages(client, sensor):
    client.force_login(ShopFactory().owner)
    assert client.get(f"/monitoring/sensors/{sensor.pk}/").status_code == 404
    assert client.post(f"/monitoring/sensors/{sensor.pk}/revoke/").status_code == 404
    assert client.post(f"/monitoring/sensors/{sensor.pk}/rotate/").status_code == 404
    sensor.refresh_from_db()
    assert sensor.key_active and sensor.key_matches(sensor.key)


def test_revoke_and_rotate_pages(client, sensor):
    client.force_login(sensor.shop.owner)
    response = client.post(f"/monitoring/sensors/{sensor.pk}/revoke/")
    assert response.status_code == 302
    sensor.refresh_from_db()
    assert not sensor.key_active
    rotated = client.post(f"/monitoring/sensors/{sensor.pk}/rotate/")
    sensor.refresh_from_db()
    assert sensor.key_active and sensor.key_matches(rotated.context["key"])


def test_alerts_page_filters_by_state(client):
    sensor = with_excursion(SensorFactory())
    client.force_login(sensor.shop.owner)
    assert list(client.get("/monitoring/alerts/").context["page"]) == []
    closed = client.get("/monitoring/alerts/?state=closed")
    assert len(closed.context["page"]) == 1 and sensor.name in closed.content.decode()


@pytest.mark.parametrize("count", [1, 15])
def test_pages_have_a_fixed_query_count(client, django_assert_max_num_queries, count):
    shop = ShopFactory()
    sensors = [with_excursion(SensorFactory(shop=shop, name=f"S{i}")) for i in range(count)]
    client.force_login(shop.owner)
    # Session, user and the inbox badge, then the page's own queries.
    with django_assert_max_num_queries(6):
        assert client.get("/monitoring/sensors/").status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get("/monitoring/alerts/?state=all").status_code == 200
    with django_assert_max_num_queries(7):
        assert client.get(f"/monitoring/sensors/{sensors[-1].pk}/").status_code == 200
