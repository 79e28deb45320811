"""A Celery round trip through a real worker process on the Redis broker."""
import pytest

from core.tasks import ping

pytestmark = pytest.mark.services


def test_round_trip_through_real_worker(celery_worker_process):
    result = ping.delay("你好")
    assert result.get(timeout=30) == "你好"
    assert celery_worker_process.poll() is None  # the worker is a separate, live process
