"""Sending one text message through the gateway named by SMS_BACKEND, as django.core.mail does for e-mail.

The gateway clients live in `notifications.channels` (console, file), here (`HttpSMSGateway`, a provider's HTTP
API) or in a deployment package; any class with `send(*, to, text)` will do. The notifications outbox sends its SMS
through the same setting; `send_sms` is for the few messages that must not wait in (or be stored by) the outbox,
such as sign-in codes.
"""
import json
import urllib.error
import urllib.request

from django.conf import settings
from django.utils.module_loading import import_string


class SMSGatewayError(Exception):
    """The gateway did not accept the message; the outbox tries again later."""


class HttpSMSGateway:
    """Production client: POSTs {"to", "text"} as JSON to SMS_GATEWAY_URL with `Authorization: Bearer
    SMS_GATEWAY_TOKEN`, the shape of the common SMS relay APIs (or a small adapter in front of a provider's own).
    Any answer other than 2xx, or no answer within SMS_GATEWAY_TIMEOUT seconds, raises SMSGatewayError."""

    def send(self, *, to: str, text: str) -> None:
        url = settings.SMS_GATEWAY_URL
        if not url.startswith(("https://", "http://")):
            raise SMSGatewayError("SMS_GATEWAY_URL must be an http(s) URL")
        body = json.dumps({"to": to, "text": text}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8",
                   "Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}"}
        request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 - http(s) only
        try:
            with urllib.request.urlopen(request, timeout=settings.SMS_GATEWAY_TIMEOUT) as response:  # noqa: S310
                status = response.status
        except urllib.error.HTTPError as exc:
            raise SMSGatewayError(f"gateway answered {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SMSGatewayError(f"gateway unreachable: {exc}") from None
        if not 200 <= status < 300:
            raise SMSGatewayError(f"gateway answered {status}")


def send_sms(*, to: str, text: str) -> None:
    import_string(settings.SMS_BACKEND)().send(to=to, text=text)
