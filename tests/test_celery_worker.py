"""A Celery round trip through a real worker process on the Redis broker."""
import pytest

from core.tasks import ping

pytestmark = pytest.mark.services


def test_round_trip_through_real_worker(celery_worker_process):
    result = ping.delay("你好")
    assert result.get(timeout=30) == "你好"
    assert celery_worker_process.poll() is None  # the worker is a separate, live process


def test_worker_results_read_after_eager_tasks_ran_in_process(request):
    """Without REDIS_URL the first tasks of a run use the in-process result backend; a real worker
    started later must still be heard (its results are in Redis, not in the in-process cache)."""
    assert ping.delay("eager").get(timeout=5) == "eager"
    request.getfixturevalue("celery_worker_process")
    assert ping.delay("worker").get(timeout=30) == "worker"
