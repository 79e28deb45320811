"""Queues by concern: every task has its queue, routed in one place (CELERY_TASK_ROUTES), by task name."""
import pytest
from django.conf import settings

from config.celery import app

EXPECTED = {
    "orders.process_stripe_event": "payments",
    "orders.reconcile_payments": "payments",
    "orders.cancel_open_intents": "payments",
    "orders.expire_unpaid_orders": "payments",
    "orders.capture_weighed_order": "payments",
    "ledger.run_payouts": "payments",
    "ledger.check_ledger": "maintenance",
    "subscriptions.make_standing_orders": "payments",
    "presales.capture_presale_order": "payments",
    "presales.follow_order_payment": "payments",
    "presales.expire_groups": "maintenance",
    "presales.release_unpaid_preorders": "maintenance",
    "notifications.deliver": "notifications",
    "notifications.sweep_pending": "notifications",
    "shops.make_thumbnails": "images",
    "monitoring.rebuild_hourly_rollups": "ingestion",
    "monitoring.maintain_reading_partitions": "maintenance",
    "accounts.clear_expired_sessions": "maintenance",
    "logistics.complete_delivered_parts": "maintenance",
}


def queue_of(name: str) -> str:
    return app.amqp.router.route({}, name)["queue"].name


@pytest.fixture(autouse=True)
def _all_tasks_loaded():
    app.loader.import_default_modules()


@pytest.mark.parametrize(("task", "concern"), sorted(EXPECTED.items()))
def test_each_concern_has_its_queue(task, concern):
    # Routing is by name, so it holds whether or not the task's app is installed yet.
    assert queue_of(task) == settings.TASK_QUEUES[concern]


def test_every_task_of_the_project_is_routed_to_a_concern_queue():
    ours = [name for name in app.tasks if not name.startswith("celery.")]
    assert len(ours) >= len(EXPECTED)
    unrouted = {name: queue_of(name) for name in ours if queue_of(name) not in settings.TASK_QUEUES.values()}
    assert unrouted == {}


def test_every_beat_job_names_a_task_that_exists():
    assert {job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()} <= set(app.tasks)
