"""SMS gateways that misbehave on purpose, for the retry tests (also loaded by the real worker)."""
import os

from notifications.channels import FileSMSBackend


class GatewayDown(ConnectionError):
    pass


class FailingSMSBackend:
    def send(self, *, to: str, text: str) -> None:
        raise GatewayDown("SMS gateway timed out")


_calls = {"n": 0}


class FlakySMSBackend(FileSMSBackend):
    """Fails the first SMS_FLAKY_FAILURES sends in this process, then writes like FileSMSBackend."""

    def send(self, *, to: str, text: str) -> None:
        _calls["n"] += 1
        if _calls["n"] <= int(os.environ.get("SMS_FLAKY_FAILURES", "2")):
            raise GatewayDown(f"SMS gateway refused attempt {_calls['n']}")
        super().send(to=to, text=text)
