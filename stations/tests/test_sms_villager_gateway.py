"""The villager's SMS through the production gateway client (core.sms.HttpSMSGateway) against a real local HTTP
server: the JSON it posts, the token it sends, and a refusal that the outbox must retry."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import translation

from core.sms import HttpSMSGateway, SMSGatewayError
from stations import sms

from .test_assisted import PHONE, agent, farm_station, home, order_for_villager, product  # noqa: F401


class Gateway:
    """A local SMS relay: records each request and answers with `status`."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.status = 200
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.received.append({"json": json.loads(body), "auth": self.headers["Authorization"],
                                         "type": self.headers["Content-Type"]})
                self.send_response(gateway.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway(settings):
    relay = Gateway()
    settings.SMS_BACKEND = "core.sms.HttpSMSGateway"
    settings.SMS_GATEWAY_URL = relay.url
    settings.SMS_GATEWAY_TOKEN = "test-token"  # noqa: S105 - a local test server's
    settings.SMS_GATEWAY_TIMEOUT = 5
    yield relay
    relay.close()


@pytest.mark.django_db
def test_the_order_sms_reaches_the_gateway_as_json_with_the_token(gateway, agent, home, product,  # noqa: F811
                                                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        order = order_for_villager(agent, product)
    with translation.override("zh-hans"):
        expected = sms.order_placed(number=order.number, total=order.total, station=home.name)
    assert [r["json"] for r in gateway.received] == [{"to": PHONE, "text": expected}]
    assert gateway.received[0]["auth"] == "Bearer test-token"
    assert gateway.received[0]["type"].startswith("application/json")


def test_a_refusal_or_no_gateway_is_an_error_the_outbox_retries(gateway, settings):
    gateway.status = 503
    with pytest.raises(SMSGatewayError, match="503"):
        HttpSMSGateway().send(to=PHONE, text="农门集市：测试")
    settings.SMS_GATEWAY_URL = "file:///etc/passwd"
    with pytest.raises(SMSGatewayError):
        HttpSMSGateway().send(to=PHONE, text="农门集市：测试")
    gateway.close()
    settings.SMS_GATEWAY_URL = gateway.url
    with pytest.raises(SMSGatewayError, match="unreachable"):
        HttpSMSGateway().send(to=PHONE, text="农门集市：测试")
