"""Sending one text message through the gateway named by SMS_BACKEND, as django.core.mail does for e-mail.

The gateway clients (console, file, a real provider) live in `notifications.channels` or a deployment package;
any class with `send(*, to, text)` will do. The notifications outbox sends its SMS through the same setting;
this is for the few messages that must not wait in (or be stored by) the outbox, such as sign-in codes.
"""
from django.conf import settings
from django.utils.module_loading import import_string


def send_sms(*, to: str, text: str) -> None:
    import_string(settings.SMS_BACKEND)().send(to=to, text=text)
