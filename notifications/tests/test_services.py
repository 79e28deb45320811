import json
import logging
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.tests.factories import BuyerFactory
from notifications import services
from notifications.models import Notification
from notifications.tasks import deliver, sweep_pending

from .factories import NotificationFactory

pytestmark = pytest.mark.django_db

FAILING_SMS = "notifications.tests.sms_backends.FailingSMSBackend"
FILE_SMS = "notifications.channels.FileSMSBackend"
CLOSED_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every publish is refused


class Rollback(Exception):
    pass


def order_paid(user, **kwargs):
    kwargs.setdefault("channels", ("inbox", "email"))
    return services.notify(recipient=user, kind="order_paid", subject="Order FG00001 is paid",
                           body="Your farm is packing it.", link="/orders/1/", **kwargs)


def test_rolled_back_transaction_writes_and_sends_nothing(django_capture_on_commit_callbacks):
    user = BuyerFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(Rollback), transaction.atomic():
        order_paid(user)
        raise Rollback
    assert callbacks == []
    assert not Notification.objects.exists()
    assert mail.outbox == []


def test_committed_notification_is_delivered_after_commit(django_capture_on_commit_callbacks, settings):
    user = BuyerFactory(email="mei@example.com")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        rows = order_paid(user)
        # Nothing leaves before the business change is committed.
        assert mail.outbox == []
    assert {r.channel for r in rows} == {"inbox", "email"}
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["mei@example.com"]
    assert mail.outbox[0].subject == "Order FG00001 is paid"
    assert mail.outbox[0].body == f"Your farm is packing it.\n\n{settings.SITE_URL}/orders/1/"
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_same_event_twice_makes_one_row_per_channel(django_capture_on_commit_callbacks):
    user = BuyerFactory()
    with django_capture_on_commit_callbacks(execute=True):
        first = order_paid(user, dedupe_key="order:1:paid")
        second = order_paid(user, dedupe_key="order:1:paid")
    assert len(first) == 2 and second == []
    assert Notification.objects.filter(recipient=user).count() == 2
    assert len(mail.outbox) == 1


def test_dedupe_key_is_per_recipient():
    order_paid(BuyerFactory(), dedupe_key="order:1:paid")
    order_paid(BuyerFactory(), dedupe_key="order:1:paid")
    assert Notification.objects.count() == 4


def test_text_is_rendered_in_the_recipients_language():
    chinese = BuyerFactory(language="zh-hans")
    english = BuyerFactory(language="")
    for user in (chinese, english):
        services.notify(recipient=user, kind="test", subject=gettext_lazy("Yes"),
                        body=lambda: str(gettext_lazy("No")), channels=("inbox",))
    zh = Notification.objects.get(recipient=chinese)
    en = Notification.objects.get(recipient=english)
    assert (zh.subject, zh.body) == ("是", "否")
    assert (en.subject, en.body) == ("Yes", "No")


def test_channels_follow_what_the_user_has():
    no_email = BuyerFactory(email="", phone="")
    with_phone = BuyerFactory(phone="13800138000")
    assert [n.channel for n in order_paid(no_email, channels=("inbox", "email", "sms"))] == ["inbox"]
    assert {n.channel for n in order_paid(with_phone, channels=("email", "sms"))} == {"email", "sms"}


@pytest.mark.parametrize("link", ["https://evil.example/", "//evil.example/x", "orders/1/"])
def test_link_must_be_a_path_on_this_site(link):
    with pytest.raises(ValueError):
        services.notify(recipient=BuyerFactory(), kind="x", subject="s", body="b", link=link)
    assert not Notification.objects.exists()


def test_delivery_task_run_twice_sends_one_email():
    row = NotificationFactory(channel="email")
    assert deliver.delay(row.pk).get() == "sent"
    assert deliver.delay(row.pk).get() == "skipped"
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 1 and row.sent_at is not None


def test_inbox_row_is_marked_sent_without_sending_anything():
    row = NotificationFactory(channel="inbox")
    assert services.deliver_notification(notification_id=row.pk) == "sent"
    row.refresh_from_db()
    assert row.status == "sent"
    assert mail.outbox == []


def test_failing_sms_gateway_backs_off_then_succeeds(settings, tmp_path):
    settings.SMS_BACKEND = FAILING_SMS
    settings.SMS_FILE_PATH = str(tmp_path)
    row = NotificationFactory(channel="sms", recipient=BuyerFactory(phone="13800138000"), body="Parcel arrived")

    for attempt, countdown in ((1, 30), (2, 60), (3, 120)):
        before = timezone.now()
        with pytest.raises(services.DeliveryFailed) as failed:
            services.deliver_notification(notification_id=row.pk)
        assert failed.value.countdown == countdown
        row.refresh_from_db()
        assert row.status == "pending" and row.attempts == attempt
        assert "SMS gateway timed out" in row.last_error
        assert before + timedelta(seconds=countdown) <= row.next_attempt_at
        assert row.next_attempt_at <= timezone.now() + timedelta(seconds=countdown)

    settings.SMS_BACKEND = FILE_SMS
    assert services.deliver_notification(notification_id=row.pk) == "sent"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("sent", 4, "")
    lines = (tmp_path / "sms.jsonl").read_text().splitlines()
    assert [json.loads(line)["to"] for line in lines] == ["13800138000"]
    assert json.loads(lines[0])["text"].startswith("Parcel arrived")


def test_backoff_is_capped(settings):
    settings.NOTIFICATION_RETRY_MAX_SECONDS = 600
    assert [services._backoff(n) for n in (1, 2, 5, 6, 20)] == [30, 60, 480, 600, 600]


def test_gives_up_after_max_attempts(settings):
    settings.SMS_BACKEND = FAILING_SMS
    settings.NOTIFICATION_MAX_ATTEMPTS = 3
    row = NotificationFactory(channel="sms", recipient=BuyerFactory(phone="13800138000"))
    for _ in range(2):
        with pytest.raises(services.DeliveryFailed):
            services.deliver_notification(notification_id=row.pk)
    assert services.deliver_notification(notification_id=row.pk) == "failed"
    row.refresh_from_db()
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 3, None)
    # A failed row is not picked up again by a stray task.
    assert services.deliver_notification(notification_id=row.pk) == "skipped"


def test_eager_task_leaves_a_failed_send_for_the_sweeper(settings):
    settings.SMS_BACKEND = FAILING_SMS
    row = NotificationFactory(channel="sms", recipient=BuyerFactory(phone="13800138000"))
    assert deliver.delay(row.pk).get() == "retry_later"
    row.refresh_from_db()
    assert row.status == "pending" and row.attempts == 1 and row.next_attempt_at > timezone.now()


def test_recipient_without_address_fails_at_once():
    row = NotificationFactory(channel="email", recipient=BuyerFactory(email=""))
    assert services.deliver_notification(notification_id=row.pk) == "failed"
    row.refresh_from_db()
    assert row.status == "failed" and row.attempts == 1


def test_broker_down_does_not_break_the_business_transaction(
    switch_celery_broker, django_capture_on_commit_callbacks, caplog
):
    from config.celery import app

    user = BuyerFactory()
    switch_celery_broker(CLOSED_BROKER)
    app.conf.task_always_eager = False  # really publish (the autouse fixture restores eager mode)
    with (
        caplog.at_level(logging.ERROR, logger="notifications.services"),
        django_capture_on_commit_callbacks(execute=True),
        transaction.atomic(),
    ):
        rows = order_paid(user, channels=("email",))
    assert "Could not enqueue notification" in caplog.text
    row = Notification.objects.get(pk=rows[0].pk)
    assert (row.status, row.attempts) == ("pending", 0)
    assert mail.outbox == []


def test_sweeper_delivers_a_row_whose_enqueue_failed(
    switch_celery_broker, django_capture_on_commit_callbacks, settings
):
    from config.celery import app

    user = BuyerFactory()
    switch_celery_broker(CLOSED_BROKER)
    app.conf.task_always_eager = False
    with django_capture_on_commit_callbacks(execute=True):
        row = order_paid(user, channels=("email",))[0]
    assert mail.outbox == []

    app.conf.task_always_eager = True  # the broker is back (in-process here)
    # Too fresh: the first enqueue might still be on its way.
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_pending.delay().get() == 0
    Notification.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=settings.NOTIFICATION_SWEEP_GRACE_SECONDS + 1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_pending.delay().get() == 1
    assert len(mail.outbox) == 1
    row.refresh_from_db()
    assert row.status == "sent"


def test_sweeper_leaves_rows_waiting_for_backoff_and_sent_rows_alone(django_capture_on_commit_callbacks):
    now = timezone.now()
    NotificationFactory(status="pending", next_attempt_at=now + timedelta(minutes=5))
    NotificationFactory(status="sent", next_attempt_at=None)
    NotificationFactory(status="failed", next_attempt_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.requeue_due(now=now + timedelta(minutes=1)) == 0


def test_sweeper_does_not_requeue_the_same_row_every_minute(django_capture_on_commit_callbacks):
    now = timezone.now()
    NotificationFactory(next_attempt_at=now - timedelta(minutes=2))
    with django_capture_on_commit_callbacks() as callbacks:  # handed over, but the broker never delivers
        assert services.requeue_due(now=now) == 1
    assert len(callbacks) == 1
    with django_capture_on_commit_callbacks():
        assert services.requeue_due(now=now + timedelta(minutes=1)) == 0
        assert services.requeue_due(now=now + services.REQUEUE_AFTER + timedelta(minutes=2)) == 1


def test_sweeper_rescues_a_row_whose_worker_died_mid_send(django_capture_on_commit_callbacks):
    now = timezone.now()
    row = NotificationFactory(channel="email", status="sending", attempts=1, next_attempt_at=now)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.requeue_due(now=now + timedelta(minutes=2)) == 1
    row.refresh_from_db()
    assert row.status == "sent" and row.attempts == 2
    assert len(mail.outbox) == 1


def test_resend_gives_failed_rows_new_attempts(django_capture_on_commit_callbacks):
    failed = NotificationFactory(channel="email", status="failed", attempts=8)
    sent = NotificationFactory(channel="email", status="sent", attempts=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.resend(notifications=Notification.objects.all()) == 1
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, failed.attempts) == ("sent", 1)
    assert sent.attempts == 1
    assert len(mail.outbox) == 1


def test_mark_read_and_mark_all_read():
    user = BuyerFactory()
    first, second = NotificationFactory.create_batch(2, recipient=user)
    other = NotificationFactory()
    services.mark_read(notification=first, user=user)
    first.refresh_from_db()
    assert first.read_at is not None
    with pytest.raises(Notification.DoesNotExist):
        services.mark_read(notification=other, user=user)
    assert services.mark_all_read(user=user) == 1
    second.refresh_from_db()
    other.refresh_from_db()
    assert second.read_at is not None and other.read_at is None
