"""The MQTT bridge: readings published by sensors go through the same ingestion service as HTTP.

Topic `farmgate/sensors/<sensor id>/readings`, payload `{"key","time","value"}` or `{"key","readings":[...]}`.
A bad message is logged and skipped; the bridge reconnects by itself after the broker comes back.
"""
import json
import logging
import os
import signal
import threading
from collections.abc import Callable
from urllib.parse import unquote, urlparse

import paho.mqtt.client as mqtt
from django.db import InterfaceError, OperationalError, connection

from . import services
from .authentication import sensor_for_key

logger = logging.getLogger("monitoring.mqtt")

TOPIC = "farmgate/sensors/+/readings"


class MessageRejected(Exception):
    """The message cannot be stored; the reason is logged, the bridge goes on."""


def sensor_id_from_topic(topic: str) -> int:
    # .../sensors/<id>/readings: the id is the segment before the last one.
    parts = topic.split("/")
    if len(parts) < 2 or parts[-1] != "readings" or not parts[-2].isdigit():
        raise MessageRejected(f"unexpected topic {topic!r}")
    return int(parts[-2])


def handle_message(topic: str, payload: bytes) -> services.IngestResult:
    """Check the key against the sensor in the topic and store the readings; MessageRejected if not."""
    sensor_id = sensor_id_from_topic(topic)
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, ValueError):
        raise MessageRejected(f"sensor {sensor_id}: the payload is not JSON")
    if not isinstance(data, dict):
        raise MessageRejected(f"sensor {sensor_id}: the payload is not a JSON object")
    key = data.pop("key", None)
    sensor = sensor_for_key(key) if isinstance(key, str) else None
    if sensor is None or sensor.pk != sensor_id:
        raise MessageRejected(f"sensor {sensor_id}: wrong, revoked or missing key")
    try:
        return services.record_readings(sensor=sensor, payload=data)
    except services.ReadingsInvalid as exc:
        raise MessageRejected(f"sensor {sensor_id}: invalid readings {json.dumps(exc.errors, default=str)[:500]}")


def _broker(url: str) -> dict:
    parsed = urlparse(url)
    if parsed.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"MQTT_URL must start with mqtt:// or mqtts://, not {parsed.scheme!r}")
    tls = parsed.scheme in ("mqtts", "ssl")
    return {"host": parsed.hostname or "127.0.0.1", "port": parsed.port or (8883 if tls else 1883), "tls": tls,
            "username": unquote(parsed.username) if parsed.username else None,
            "password": unquote(parsed.password) if parsed.password else None}


class Bridge:
    def __init__(self, *, url: str, topic: str = TOPIC, max_messages: int | None = None,
                 on_ready: Callable[[], None] | None = None, client_id: str = "") -> None:
        self.broker = _broker(url)
        self.topic = topic
        self.max_messages = max_messages
        self.on_ready = on_ready
        self.received = self.stored = self.rejected = 0
        self.stopping = False
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=client_id or f"farmgate-ingest-{os.getpid()}")
        if self.broker["username"]:
            self.client.username_pw_set(self.broker["username"], self.broker["password"])
        if self.broker["tls"]:
            self.client.tls_set()
        # After a broker restart, try again after 1 s, then back off up to 30 s.
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            logger.error("MQTT broker refused the connection: %s", reason_code)
            return
        logger.info("connected to %s:%s, subscribing to %s", self.broker["host"], self.broker["port"], self.topic)
        # Subscribing on every connect restores the subscription after a broker restart.
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties):
        if self.on_ready:
            self.on_ready()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        if not self.stopping:
            logger.warning("disconnected from the MQTT broker (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, message):
        self.received += 1
        try:
            result = self._handle(message.topic, message.payload)
        except MessageRejected as exc:
            self.rejected += 1
            logger.warning("skipped a message on %s: %s", message.topic, exc)
        except Exception:
            # Whatever went wrong with one message, the next one still gets its chance.
            self.rejected += 1
            logger.exception("could not store a message on %s", message.topic)
        else:
            self.stored += 1
            logger.debug("sensor readings on %s: %d accepted, %d duplicates", message.topic, result.accepted,
                         result.duplicates)
        if self.max_messages and self.received >= self.max_messages:
            self.stop()

    @staticmethod
    def _handle(topic: str, payload: bytes) -> services.IngestResult:
        try:
            return handle_message(topic, payload)
        except (OperationalError, InterfaceError):
            # The database went away (restart, idle timeout): reconnect once and try again.
            if connection.in_atomic_block:
                raise
            connection.close()
            return handle_message(topic, payload)

    def stop(self, *args) -> None:
        self.stopping = True
        self.client.disconnect()

    def run(self, timeout: float | None = None) -> None:
        """Serve until stopped: SIGTERM/SIGINT, --max-messages reached, or the timeout."""
        timer = threading.Timer(timeout, self.stop) if timeout else None
        previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, self.stop)
        try:
            if timer:
                timer.daemon = True
                timer.start()
            self.client.connect_async(self.broker["host"], self.broker["port"], keepalive=30)
            self.client.loop_forever(retry_first_connection=True)
        finally:
            if timer:
                timer.cancel()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
