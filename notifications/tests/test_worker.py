"""The outbox with the real parts: PostgreSQL, Redis as the broker and a separate Celery worker."""
import json
import logging
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from accounts.tests.factories import BuyerFactory
from notifications import services
from notifications.models import Notification
from notifications.tasks import sweep_pending

from .factories import NotificationFactory

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

CLOSED_BROKER = "redis://127.0.0.1:1/0"


@pytest.fixture
def worker_outbox(tmp_path, monkeypatch):
    """Where the worker (started after this fixture) writes what it sends: email files and SMS lines.
    Its SMS gateway fails twice before it works, and retries are 1 s, 2 s ... apart."""
    folders = {"mail": tmp_path / "mail", "sms": tmp_path / "sms"}
    monkeypatch.setenv("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
    monkeypatch.setenv("EMAIL_FILE_PATH", str(folders["mail"]))
    monkeypatch.setenv("SMS_BACKEND", "notifications.tests.sms_backends.FlakySMSBackend")
    monkeypatch.setenv("SMS_FILE_PATH", str(folders["sms"]))
    monkeypatch.setenv("SMS_FLAKY_FAILURES", "2")
    monkeypatch.setenv("NOTIFICATION_RETRY_BASE_SECONDS", "1")
    return folders


def wait_for_status(pk: int, status: str, timeout: float = 30) -> Notification:
    deadline = time.monotonic() + timeout
    while True:
        row = Notification.objects.get(pk=pk)
        if row.status == status or time.monotonic() > deadline:
            return row
        time.sleep(0.1)


def sent_emails(folder) -> list[str]:
    return [f.read_text() for f in sorted(folder.glob("*.log"))] if folder.exists() else []


def test_real_worker_delivers_after_commit(postgres, worker_outbox, celery_worker_process):
    user = BuyerFactory(email="mei@example.com")
    with transaction.atomic():
        row = services.notify(recipient=user, kind="order_paid", subject="Order FG00042 is paid",
                              body="Your farm is packing it.", link="/orders/42/", channels=("email",))[0]
    row = wait_for_status(row.pk, "sent")
    assert row.status == "sent", row.last_error
    assert row.attempts == 1
    emails = sent_emails(worker_outbox["mail"])
    assert len(emails) == 1
    assert "To: mei@example.com" in emails[0] and "Subject: Order FG00042 is paid" in emails[0]
    assert "/orders/42/" in emails[0]


def test_broker_down_during_the_order_then_sweeper_through_the_worker(
    postgres, worker_outbox, redis_url, celery_worker_process, switch_celery_broker, caplog, settings
):
    user = BuyerFactory(email="lin@example.com")
    switch_celery_broker(CLOSED_BROKER)
    with caplog.at_level(logging.ERROR, logger="notifications.services"), transaction.atomic():
        # The business change commits although its notification cannot be enqueued.
        row = services.notify(recipient=user, kind="order_paid", subject="Order FG00043 is paid",
                              body="Paid while the broker was down.", channels=("email",))[0]
    assert "Could not enqueue notification" in caplog.text
    time.sleep(1)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 0)
    assert sent_emails(worker_outbox["mail"]) == []

    switch_celery_broker(redis_url)  # the broker is back
    # A minute passes (the sweeper leaves fresh rows to their own enqueue).
    Notification.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=settings.NOTIFICATION_SWEEP_GRACE_SECONDS + 5)
    )
    sweep_pending.delay()  # beat's job, run by the worker, which enqueues the delivery to itself
    row = wait_for_status(row.pk, "sent")
    assert row.status == "sent", row.last_error
    emails = sent_emails(worker_outbox["mail"])
    assert len(emails) == 1 and "Subject: Order FG00043 is paid" in emails[0]


def test_real_worker_retries_a_failing_sms_gateway_with_backoff(postgres, worker_outbox, celery_worker_process):
    user = BuyerFactory(phone="13800138000")
    started = time.monotonic()
    with transaction.atomic():
        row = services.notify(recipient=user, kind="parcel_arrived", subject="Parcel arrived",
                              body="Your parcel is at the Dongshan station.", channels=("sms",))[0]
    row = wait_for_status(row.pk, "sent", timeout=60)
    elapsed = time.monotonic() - started
    assert row.status == "sent", row.last_error
    assert row.attempts == 3  # failed, failed, sent
    assert elapsed >= 3  # waited 1 s, then 2 s, between the attempts
    lines = (worker_outbox["sms"] / "sms.jsonl").read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) | {"time": None} == {
        "to": "13800138000", "text": "Your parcel is at the Dongshan station.", "time": None
    }


def test_concurrent_deliveries_send_once(postgres):
    row = NotificationFactory(channel="email")  # committed, not yet handed to any worker
    start = threading.Barrier(8)
    outcomes = []

    def deliver_once():
        try:
            start.wait()
            outcomes.append(services.deliver_notification(notification_id=row.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver_once) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["sent"] + ["skipped"] * 7
    assert len(mail.outbox) == 1
