import pytest

from .factories import SensorFactory


@pytest.fixture
def sensor(db):
    return SensorFactory()


@pytest.fixture
def device_client(api_client, sensor):
    api_client.credentials(HTTP_AUTHORIZATION=f"Device {sensor.key}")
    return api_client

