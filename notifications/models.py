from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Notification(models.Model):
    """One message to one person on one channel: the outbox row.

    Written in the same transaction as the business change it reports, delivered by Celery after
    commit. The body is rendered at write time in the recipient's language, so a retry days later
    sends exactly what the event said.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")
        INBOX = "inbox", _("Inbox")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("recipient")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    kind = models.SlugField(_("kind"), max_length=50, help_text=_("What happened, e.g. order_paid."))
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("body"))
    link = models.CharField(
        _("link"), max_length=500, blank=True, help_text=_("A path on this site, e.g. /orders/12/.")
    )
    # The same event written twice (a retried webhook, a double click) makes one row per channel.
    dedupe_key = models.CharField(_("deduplication key"), max_length=200, blank=True, default="")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # When the sweeper may hand the row to a worker again. Set to the write time for a new row,
    # so "written a minute ago and never enqueued" and "retry is due" are one indexed condition.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "channel", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="notification_dedupe_per_recipient_channel",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_sweep_idx"),
            models.Index(fields=["recipient", "channel", "read_at"], name="notification_inbox_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} → {self.recipient_id}: {self.subject}"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None
