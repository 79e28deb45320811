from datetime import UTC, timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken

from monitoring import services
from monitoring.authentication import SensorRateThrottle
from monitoring.models import Reading

from .factories import SensorFactory, batch, iso

pytestmark = pytest.mark.django_db
URL = "/api/v1/readings/"


def test_one_reading_is_stored(device_client, sensor):
    response = device_client.post(URL, {"time": iso(1), "value": 21.5})
    assert response.status_code == 201
    assert response.json() == {"accepted": 1, "duplicates": 0}
    reading = Reading.objects.get(sensor=sensor)
    assert reading.value == 21.5
    sensor.refresh_from_db()
    assert sensor.last_value == 21.5 and sensor.last_reading_at == reading.time


def test_no_key_is_401(api_client, sensor):
    response = api_client.post(URL, {"time": iso(1), "value": 21.5})
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Device"
    assert not Reading.objects.exists()


def test_wrong_key_is_401(api_client, sensor):
    # Right prefix, wrong rest: the hash must match, not just the prefix.
    wrong = sensor.key[:8] + "x" * (len(sensor.key) - 8)
    api_client.credentials(HTTP_AUTHORIZATION=f"Device {wrong}")
    assert api_client.post(URL, {"time": iso(1), "value": 21.5}).status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION="Device nonsense-key-that-matches-nothing-at-all")
    assert api_client.post(URL, {"time": iso(1), "value": 21.5}).status_code == 401
    assert not Reading.objects.exists()


def test_revoked_key_is_401_and_rotated_key_works(api_client, sensor):
    old_key = sensor.key
    services.revoke_sensor_key(sensor=sensor)
    api_client.credentials(HTTP_AUTHORIZATION=f"Device {old_key}")
    assert api_client.post(URL, {"time": iso(2), "value": 20}).status_code == 401
    new_key = services.rotate_sensor_key(sensor=sensor)
    assert api_client.post(URL, {"time": iso(2), "value": 20}).status_code == 401  # the old key stays dead
    api_client.credentials(HTTP_AUTHORIZATION=f"Device {new_key}")
    assert api_client.post(URL, {"time": iso(2), "value": 20}).status_code == 201


def test_a_user_token_is_not_a_device_key(api_client, sensor):
    _instance, token = AuthToken.objects.create(user=sensor.shop.owner)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.post(URL, {"time": iso(1), "value": 21.5}).status_code == 401


def test_key_is_stored_only_as_hash(sensor):
    sensor.refresh_from_db()
    stored = {f.attname: getattr(sensor, f.attname) for f in sensor._meta.concrete_fields}
    assert sensor.key not in [str(v) for v in stored.values()]
    assert sensor.key.startswith(sensor.key_prefix) and sensor.key_matches(sensor.key)


def test_batch_of_1000_is_accepted(device_client, sensor):
    response = device_client.post(URL, batch([20 + i % 5 for i in range(1000)], start_minutes_ago=1200))
    assert response.status_code == 201
    assert response.json() == {"accepted": 1000, "duplicates": 0}
    assert Reading.objects.filter(sensor=sensor).count() == 1000


def test_batch_of_1001_is_400(device_client):
    response = device_client.post(URL, batch([20] * 1001, start_minutes_ago=1200))
    assert response.status_code == 400
    assert "readings" in response.json()
    assert "1000" in response.json()["readings"][0]
    assert not Reading.objects.exists()


def test_malformed_rows_are_400_with_indexes_and_nothing_saved(device_client):
    payload = batch([20, 21, 22, 23, 24])
    payload["readings"][1]["value"] = "warm"
    payload["readings"][3]["time"] = "2025-06-01T08:30:00"  # no offset
    del payload["readings"][4]["value"]
    response = device_client.post(URL, payload)
    assert response.status_code == 400
    errors = response.json()["readings"]
    assert set(errors) == {"1", "3", "4"}
    assert "value" in errors["1"] and "time" in errors["3"] and "value" in errors["4"]
    assert not Reading.objects.exists()


@pytest.mark.parametrize("row, field", [
    ({"time": "yesterday", "value": 1}, "time"),
    ({"time": 1717200000, "value": 1}, "time"),
    ({"value": 1}, "time"),
    ({"time": "0001-01-01T00:00:00+14:00", "value": 1}, "time"),
    ({"time": "2025-13-01T00:00:00+08:00", "value": 1}, "time"),
    ({"time": iso(1), "value": True}, "value"),
    ({"time": iso(1), "value": "1e999"}, "value"),
    ({"time": iso(1), "value": None}, "value"),
    ({"time": iso(1), "value": [1]}, "value"),
])
def test_bad_single_reading_is_400_naming_the_field(device_client, row, field):
    response = device_client.post(URL, row)
    assert response.status_code == 400
    assert field in response.json()


def test_nan_is_400(device_client):
    response = device_client.post(URL, data=f'{{"time": "{iso(1)}", "value": NaN}}',
                                  content_type="application/json")
    assert response.status_code == 400
    assert not Reading.objects.exists()


def test_future_time_is_400_but_small_clock_skew_is_allowed(device_client):
    response = device_client.post(URL, {"time": iso(-10), "value": 20})
    assert response.status_code == 400
    assert "future" in response.json()["time"][0]
    assert device_client.post(URL, {"time": iso(-1), "value": 20}).status_code == 201


def test_other_timezone_offsets_are_the_same_instant(device_client, sensor):
    now = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
    utc = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
    shanghai = timezone.localtime(now).isoformat()
    response = device_client.post(URL, {"readings": [{"time": utc, "value": 1}, {"time": shanghai, "value": 2}]})
    assert response.json() == {"accepted": 1, "duplicates": 1}
    assert Reading.objects.get(sensor=sensor).value == 1


def test_duplicates_in_batch_and_already_stored_are_skipped(device_client, sensor):
    first = batch([20, 21, 22])
    assert device_client.post(URL, first).json() == {"accepted": 3, "duplicates": 0}
    time = iso(5)
    again = {"readings": [*first["readings"][1:], {"time": time, "value": 30}, {"time": time, "value": 31}]}
    response = device_client.post(URL, again)
    assert response.status_code == 201
    assert response.json() == {"accepted": 1, "duplicates": 3}
    assert Reading.objects.filter(sensor=sensor).count() == 4
    assert Reading.objects.get(sensor=sensor, value__gte=30).value == 30  # the first of a repeated time wins


def test_non_object_body_and_empty_batch_are_400(device_client):
    assert device_client.post(URL, [1, 2], format="json").status_code == 400
    assert device_client.post(URL, {"readings": []}).status_code == 400
    assert device_client.post(URL, {"readings": "many"}).status_code == 400
    response = device_client.post(URL, {"readings": [5]})
    assert response.status_code == 400 and "0" in response.json()["readings"]
    assert device_client.post(URL, data="{not json", content_type="application/json").status_code == 400


def test_readings_of_other_sensors_are_untouched(device_client, sensor):
    other = SensorFactory()
    time = iso(3)
    Reading.objects.create(sensor=other, time=time, value=5)
    assert device_client.post(URL, {"time": time, "value": 6}).json() == {"accepted": 1, "duplicates": 0}


def test_throttle_is_per_sensor(api_client, monkeypatch):
    monkeypatch.setattr(SensorRateThrottle, "rate", "2/min", raising=False)
    first, second = SensorFactory(), SensorFactory()
    api_client.credentials(HTTP_AUTHORIZATION=f"Device {first.key}")
    codes = [api_client.post(URL, {"time": iso(i + 1), "value": 20}).status_code for i in range(3)]
    assert codes == [201, 201, 429]
    api_client.credentials(HTTP_AUTHORIZATION=f"Device {second.key}")
    assert api_client.post(URL, {"time": iso(1), "value": 20}).status_code == 201


def test_ingest_query_count_does_not_grow_with_batch_size(device_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        assert device_client.post(URL, batch([20] * 10)).status_code == 201
    with django_assert_max_num_queries(12):
        assert device_client.post(URL, batch([20] * 900, start_minutes_ago=2000)).status_code == 201
