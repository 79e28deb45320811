"""Every write to the outbox.

Other apps call `notify()` inside their own transaction: the Notification rows commit or roll
back with the business change, and delivery is handed to Celery only after commit. A broker that
is down never breaks the caller; the sweeper hands the row over later. Delivery claims a row
before sending, so a task that runs twice (or two workers at once) sends once.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme

from . import channels as channel_senders
from .models import Notification, phrase_text

logger = logging.getLogger(__name__)


def _msgid(message) -> str:
    """The English message id of a translatable string (a gettext_lazy or gettext_noop one)."""
    with translation.override(None):  # no catalogue active: gettext gives the message id back
        return str(message)


def _stored_value(value):
    if isinstance(value, Promise):  # a translatable word (a status, a problem): translated when shown
        return {"_t": _msgid(value)}
    if isinstance(value, bool | int | float) or value is None:
        return value
    return str(value)


@dataclass(frozen=True, init=False)
class Phrase:
    """A message kept as its English id and values, translated when shown (in the reader's language).

    `Phrase(gettext_lazy("Order %(number)s is paid"), {"number": "FG123"})`; a gettext_noop id works alike.
    """

    msgid: str
    params: dict

    def __init__(self, message, params: dict | None = None):
        object.__setattr__(self, "msgid", _msgid(message))
        object.__setattr__(self, "params", {k: _stored_value(v) for k, v in (params or {}).items()})

    def __str__(self) -> str:
        return phrase_text(self.msgid, self.params)


Text = str | Callable[[], str] | Phrase

# A claimed row whose worker vanished (killed mid-send) is handed out again after this long:
# longer than any task may run, so a live send is never doubled.
STUCK_AFTER = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 300)
# After the sweeper hands a row to the broker it leaves it alone this long, so a busy queue is
# not filled with copies of the same row every minute.
REQUEUE_AFTER = timedelta(minutes=5)


class DeliveryFailed(Exception):
    """A send failed and will be tried again in `countdown` seconds."""

    def __init__(self, message: str, *, countdown: int):
        super().__init__(message)
        self.countdown = countdown


def _render(text: Text) -> str:
    return str(text() if callable(text) else text)


def _language_of(user) -> str:
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


def _wanted_channels(user, wanted: Iterable[str]) -> list[str]:
    known = set(Notification.Channel.values)
    result = []
    for channel in wanted:
        if channel not in known:
            raise ValueError(f"unknown notification channel {channel!r}")
        if channel == Notification.Channel.SMS and not getattr(user, "phone", ""):
            continue
        if channel == Notification.Channel.EMAIL and not user.email:
            continue
        if channel not in result:
            result.append(channel)
    return result


def enqueue_deliveries(notification_ids: list[int]) -> bool:
    """Hand several rows to Celery in one message (one row: `enqueue_delivery`). Never raises."""
    if len(notification_ids) == 1:
        return enqueue_delivery(notification_ids[0])
    deliver_many = current_app.tasks["notifications.deliver_many"]
    try:
        deliver_many.apply_async(
            args=[list(notification_ids)],
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        )
    except Exception:
        logger.exception("Could not enqueue notifications %s; the sweeper will send them later", notification_ids)
        return False
    return True


def enqueue_delivery(notification_id: int) -> bool:
    """Hand one row to Celery. Never raises: the row stays pending and the sweeper retries it.

    The task is named, not imported (notifications.tasks calls this module); it is registered in every
    process by NotificationsConfig.ready(), so it still runs in-process when tasks are eager.
    """
    deliver = current_app.tasks["notifications.deliver"]
    try:
        # A short publish retry: the sweeper, not the web request, waits out a broker outage.
        deliver.apply_async(
            args=[notification_id],
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        )
    except Exception:
        logger.exception("Could not enqueue notification %s; the sweeper will send it later", notification_id)
        return False
    return True


@dataclass(frozen=True)
class Message:
    """One event for one recipient, as `notify` takes it (for `notify_many`)."""

    recipient: object
    kind: str
    subject: Text
    body: Text
    link: str = ""
    channels: Iterable[str] = ("inbox", "email")
    dedupe_key: str | None = None
    link_label: str | Promise = ""  # the words on the link's button (translatable); empty: "Open"


def _message_ids(message: Message) -> dict:
    """The fields that let the inbox show a Phrase subject and body in the reader's language."""
    fields: dict = {"params": {}}
    for part in ("subject", "body"):
        text = getattr(message, part)
        if isinstance(text, Phrase):
            fields[f"{part}_msgid"] = text.msgid
            fields["params"].update(text.params)
    if "subject_msgid" in fields and "body_msgid" not in fields:
        fields.pop("subject_msgid")  # shown whole or not at all: never half in one language
    if "body_msgid" in fields and "subject_msgid" not in fields:
        fields.pop("body_msgid")
    if "subject_msgid" not in fields:
        fields["params"] = {}
    fields["link_label"] = _msgid(message.link_label) if message.link_label else ""
    return fields


def _rows(message: Message, now: datetime) -> list[Notification]:
    """The unsaved outbox rows of one message: rendered in the recipient's language, one per channel."""
    link = message.link
    if link and (not link.startswith("/") or not url_has_allowed_host_and_scheme(link, allowed_hosts=None)):
        raise ValueError("a notification link must be a path on this site, such as /orders/12/")
    with translation.override(_language_of(message.recipient)):
        subject = " ".join(_render(message.subject).split())[:200]
        body = _render(message.body)
    ids = _message_ids(message)
    return [Notification(recipient=message.recipient, channel=channel, kind=message.kind, subject=subject, body=body,
                         link=link, next_attempt_at=now, **ids,
                         dedupe_key=message.dedupe_key[:200] if message.dedupe_key else "")
            for channel in _wanted_channels(message.recipient, message.channels)]


def notify_many(messages: Iterable[Message]) -> list[Notification]:
    """Write the outbox rows of several events at once; call it inside the transaction of the business change.

    Rows without a dedupe key go in one INSERT; a row with one is written only if its (recipient, channel,
    key) has none yet (each in a savepoint, so a racing duplicate never aborts the caller's transaction).
    After commit, every row written is handed to Celery in one message. Returns the rows written now.
    """
    now = timezone.now()
    plain: list[Notification] = []
    written: list[Notification] = []
    for message in messages:
        for row in _rows(message, now):
            if not row.dedupe_key:
                plain.append(row)
                continue
            fields = {f: getattr(row, f) for f in ("kind", "subject", "body", "link", "next_attempt_at",
                                                   "subject_msgid", "body_msgid", "params", "link_label")}
            row, created = Notification.objects.get_or_create(
                recipient=row.recipient, channel=row.channel, dedupe_key=row.dedupe_key, defaults=fields)
            if created:
                written.append(row)
    if plain:
        written += Notification.objects.bulk_create(plain)
    if written:
        transaction.on_commit(partial(enqueue_deliveries, [row.pk for row in written]))
    return written


def notify(
    *,
    recipient,
    kind: str,
    subject: Text,
    body: Text,
    link: str = "",
    channels: Iterable[str] = ("inbox", "email"),
    dedupe_key: str | None = None,
    link_label: str | Promise = "",
) -> list[Notification]:
    """Write the outbox rows for one event; call it inside the transaction of the business change.

    `subject` and `body` are Phrases (an English message id and its values, e.g.
    `Phrase(gettext_lazy("Order %(n)s is paid"), {"n": n})`): rendered here in the recipient's language
    for email and SMS, and kept as ids so the inbox shows them in whatever language the reader uses.
    Lazy translatable strings and callables returning a string still work, but stay in the language
    they were written in. `link_label` names the link's button (translatable). SMS is skipped for a
    user without a phone, email for one without an address. With a `dedupe_key`, writing the same event again adds no
    row for a channel that already has one. Returns the rows written now; each is sent after commit.
    Several events at once: `notify_many`.
    """
    return notify_many([Message(recipient=recipient, kind=kind, subject=subject, body=body, link=link,
                                channels=tuple(channels), dedupe_key=dedupe_key, link_label=link_label)])


def _backoff(attempts: int) -> int:
    """Seconds before attempt number `attempts + 1`: base, 2 x base, 4 x base ... capped."""
    base = settings.NOTIFICATION_RETRY_BASE_SECONDS
    return int(min(base * 2 ** max(attempts - 1, 0), settings.NOTIFICATION_RETRY_MAX_SECONDS))


def _claim(notification_id: int, now: datetime) -> Notification | None:
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("recipient")
            .filter(pk=notification_id, status=Notification.Status.PENDING)
            .first()
        )
        if row is None:
            return None  # already sent, being sent by someone else, failed for good, or gone
        row.status = Notification.Status.SENDING
        row.attempts += 1
        row.next_attempt_at = now + STUCK_AFTER
        row.save(update_fields=["status", "attempts", "next_attempt_at"])
    return row


def deliver_notification(*, notification_id: int) -> str:
    """Send one row at most once. Returns "sent", "skipped" or "failed" (given up for good);
    raises DeliveryFailed when the send failed and should be retried after its countdown."""
    row = _claim(notification_id, timezone.now())
    if row is None:
        return "skipped"
    try:
        channel_senders.send(row)
    except Exception as exc:
        now = timezone.now()
        permanent = isinstance(exc, channel_senders.Undeliverable)
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if permanent or row.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
            row.status = Notification.Status.FAILED
            row.next_attempt_at = None
        else:
            row.status = Notification.Status.PENDING
            countdown = _backoff(row.attempts)
            row.next_attempt_at = now + timedelta(seconds=countdown)
        Notification.objects.filter(pk=row.pk, status=Notification.Status.SENDING).update(
            status=row.status, next_attempt_at=row.next_attempt_at, last_error=row.last_error
        )
        if row.status == Notification.Status.FAILED:
            logger.error("Notification %s failed for good after %s attempts: %s", row.pk, row.attempts, row.last_error)
            return "failed"
        logger.warning("Notification %s attempt %s failed, retrying in %ss: %s",
                       row.pk, row.attempts, countdown, row.last_error)
        raise DeliveryFailed(row.last_error, countdown=countdown) from exc
    Notification.objects.filter(pk=row.pk, status=Notification.Status.SENDING).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), next_attempt_at=None, last_error=""
    )
    return "sent"


def requeue_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """The sweeper: hand to the broker every pending row whose time has come and that nobody has
    picked up within the grace period (its enqueue failed, or the broker lost the message).
    Returns how many rows were handed over."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.NOTIFICATION_SWEEP_GRACE_SECONDS)
    with transaction.atomic():
        # A worker that died after claiming leaves a row in "sending"; give it back.
        Notification.objects.filter(status=Notification.Status.SENDING, next_attempt_at__lte=now).update(
            status=Notification.Status.PENDING
        )
        due = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(status=Notification.Status.PENDING, next_attempt_at__lte=now - grace)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        Notification.objects.filter(pk__in=due).update(next_attempt_at=now + REQUEUE_AFTER)
        for pk in due:
            transaction.on_commit(partial(enqueue_delivery, pk))
    if due:
        logger.info("Sweeper re-enqueued %s notifications", len(due))
    return len(due)


@transaction.atomic
def resend(*, notifications: QuerySet[Notification]) -> int:
    """Give failed rows a fresh set of attempts (staff, after fixing an address or a gateway)."""
    pks = list(notifications.filter(status=Notification.Status.FAILED).values_list("pk", flat=True))
    Notification.objects.filter(pk__in=pks).update(
        status=Notification.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    for pk in pks:
        transaction.on_commit(partial(enqueue_delivery, pk))
    return len(pks)


@transaction.atomic
def mark_read(*, notification: Notification, user) -> Notification:
    if notification.recipient_id != user.pk:
        raise Notification.DoesNotExist  # never touch another user's row; callers scope first
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=notification.read_at)
    return notification


@transaction.atomic
def mark_all_read(*, user) -> int:
    return Notification.objects.filter(
        recipient=user, channel=Notification.Channel.INBOX, read_at__isnull=True
    ).update(read_at=timezone.now())
