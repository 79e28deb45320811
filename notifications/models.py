from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _


def phrase_text(msgid: str, params: dict) -> str:
    """A stored English message id in the active language, with its values filled in.

    A value stored as {"_t": msgid} is itself a message (a status or problem name) and is translated too.
    """
    values = {k: gettext(v["_t"]) if isinstance(v, dict) and "_t" in v else v for k, v in (params or {}).items()}
    try:
        return gettext(msgid) % values if values else gettext(msgid)
    except (KeyError, TypeError, ValueError):
        try:
            return msgid % values
        except (KeyError, TypeError, ValueError):
            return msgid


class Notification(models.Model):
    """One message to one person on one channel: the outbox row.

    Written in the same transaction as the business change it reports, delivered by Celery after
    commit. Subject and body are rendered at write time in the recipient's language for email and
    SMS, so a retry days later sends exactly what the event said. The inbox shows them in the
    reader's current language from the English message ids and their values (`subject_msgid`,
    `body_msgid`, `params`); rows written before those existed show their stored text.
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
    # The English message ids and their values, translated when the message is shown.
    subject_msgid = models.CharField(_("subject message id"), max_length=300, blank=True, default="")
    body_msgid = models.TextField(_("body message id"), blank=True, default="")
    params = models.JSONField(_("message values"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    # The words on the link's button, an English message id (empty: "Open").
    link_label = models.CharField(_("link label"), max_length=100, blank=True, default="")
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

    @property
    def subject_text(self) -> str:
        return phrase_text(self.subject_msgid, self.params) if self.subject_msgid else self.subject

    @property
    def body_text(self) -> str:
        return phrase_text(self.body_msgid, self.params) if self.body_msgid else self.body

    @property
    def link_text(self) -> str:
        return gettext(self.link_label) if self.link_label else pgettext("notification link", "Open")
