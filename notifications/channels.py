"""How a Notification leaves the building: email, SMS gateway, or the in-site inbox.

SMS goes through a pluggable backend named by the SMS_BACKEND setting (a dotted path to a class
with `send(*, to, text)`), the same way Django picks its email backend. A gateway client for a
real provider is one more class here or in a deployment package.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from .models import Notification

logger = logging.getLogger("notifications.sms")


class Undeliverable(Exception):
    """The message can never be sent (no address any more): retrying would not help."""


class BaseSMSBackend:
    def send(self, *, to: str, text: str) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class ConsoleSMSBackend(BaseSMSBackend):
    """Writes each message to the log: the embedded default, like Django's console email backend."""

    def send(self, *, to: str, text: str) -> None:
        logger.info("SMS to %s: %s", to, text)


class FileSMSBackend(BaseSMSBackend):
    """Appends each message as one JSON line to SMS_FILE_PATH/sms.jsonl (tests and demos)."""

    def send(self, *, to: str, text: str) -> None:
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"to": to, "text": text, "time": timezone.now().isoformat()}, ensure_ascii=False)
        # One short O_APPEND write per message, so concurrent workers never interleave lines.
        fd = os.open(folder / "sms.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


def get_sms_backend() -> BaseSMSBackend:
    return import_string(settings.SMS_BACKEND)()


def absolute_link(link: str) -> str:
    return f"{settings.SITE_URL}{link}" if link else ""


def send_email(notification: Notification) -> None:
    address = notification.recipient.email
    if not address:
        raise Undeliverable("recipient has no email address")
    body = notification.body
    if notification.link:
        body = f"{body}\n\n{absolute_link(notification.link)}"
    send_mail(notification.subject, body, None, [address], fail_silently=False)


def send_sms(notification: Notification) -> None:
    phone = notification.recipient.phone
    if not phone:
        raise Undeliverable("recipient has no phone number")
    text = notification.body
    if notification.link:
        text = f"{text} {absolute_link(notification.link)}"
    get_sms_backend().send(to=phone, text=text)


def send_inbox(notification: Notification) -> None:
    """The row itself is the inbox message: nothing leaves the site."""


SENDERS = {"email": send_email, "sms": send_sms, "inbox": send_inbox}


def send(notification: Notification) -> None:
    SENDERS[notification.channel](notification)
