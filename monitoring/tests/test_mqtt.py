"""The MQTT bridge against real Mosquitto brokers: the system one on 1883, and our own for restarts."""
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from django.core.management import call_command

from conftest import free_port, port_open, require_service
from monitoring import services
from monitoring.models import Reading
from monitoring.mqtt import TOPIC, Bridge, MessageRejected, handle_message, sensor_id_from_topic

from .factories import SensorFactory, iso

pytestmark = [pytest.mark.django_db, pytest.mark.services]
SYSTEM_BROKER = "mqtt://127.0.0.1:1883"
BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def system_broker():
    require_service("Mosquitto", port_open(SYSTEM_BROKER, 1883))
    return SYSTEM_BROKER


@pytest.fixture
def prefix():
    # Our own topic tree, so parallel test runs on the shared broker never see each other's messages.
    return f"test-{uuid.uuid4().hex[:12]}/"


def publish(port: int, topic: str, payload) -> None:
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        client.publish(topic, body, qos=1).wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


def topic_for(prefix: str, sensor) -> str:
    return f"{prefix}farmgate/sensors/{sensor.pk}/readings"


def start_broker(port: int) -> subprocess.Popen:
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    require_service("mosquitto binary", Path(binary).exists())
    broker = subprocess.Popen([binary, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if port_open(f"mqtt://127.0.0.1:{port}", port):
            return broker
        time.sleep(0.05)
    broker.kill()
    pytest.fail("our mosquitto did not start")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_topic_of_the_contract():
    assert TOPIC == "farmgate/sensors/+/readings"
    assert sensor_id_from_topic("farmgate/sensors/42/readings") == 42
    with pytest.raises(MessageRejected):
        sensor_id_from_topic("farmgate/sensors/abc/readings")


def test_key_must_belong_to_the_sensor_in_the_topic(sensor):
    other = SensorFactory()
    with pytest.raises(MessageRejected):
        handle_message(f"farmgate/sensors/{other.pk}/readings",
                       json.dumps({"key": sensor.key, "time": iso(1), "value": 5}).encode())
    services.revoke_sensor_key(sensor=sensor)
    with pytest.raises(MessageRejected):
        handle_message(f"farmgate/sensors/{sensor.pk}/readings",
                       json.dumps({"key": sensor.key, "time": iso(1), "value": 5}).encode())
    assert not Reading.objects.exists()


def test_bridge_stores_readings_and_skips_bad_messages(system_broker, prefix, sensor):
    ready = threading.Event()
    topic = topic_for(prefix, sensor)
    messages = [
        {"key": sensor.key, "time": iso(3), "value": 21.5},
        b"this is not json",
        {"key": "wrong-key-wrong-key-wrong-key-wrong", "time": iso(2.5), "value": 99},
        {"key": sensor.key, "readings": [{"time": iso(2), "value": 22}, {"time": "soon", "value": 1}]},
        {"key": sensor.key, "readings": [{"time": iso(2), "value": 22}, {"time": iso(1), "value": 40}]},
    ]

    def publisher():
        if ready.wait(15):
            for message in messages:
                publish(1883, topic, message)

    thread = threading.Thread(target=publisher, daemon=True)
    thread.start()
    call_command("ingest_mqtt", url=system_broker, topic=f"{prefix}{TOPIC}", max_messages=len(messages),
                 timeout=30, on_ready=ready.set)
    thread.join(5)
    values = list(Reading.objects.filter(sensor=sensor).order_by("time").values_list("value", flat=True))
    assert values == [21.5, 22, 40]
    assert sensor.alerts.get().worst_value == 40  # the same service: alerts open over MQTT too


def test_bridge_reconnects_after_the_broker_restarts(prefix, sensor):
    port = free_port()
    broker = start_broker(port)
    ready = threading.Event()
    bridge = Bridge(url=f"mqtt://127.0.0.1:{port}", topic=f"{prefix}{TOPIC}", max_messages=2, on_ready=ready.set)
    topic = topic_for(prefix, sensor)
    state = {"broker": broker}

    def restart_between_messages():
        if not ready.wait(15):
            return
        ready.clear()
        publish(port, topic, {"key": sensor.key, "time": iso(2), "value": 20})
        for _ in range(100):  # wait until the bridge has it before pulling the plug
            if bridge.received:
                break
            time.sleep(0.05)
        stop(state["broker"])
        time.sleep(0.5)
        state["broker"] = start_broker(port)
        if ready.wait(30):  # subscribed again after reconnecting
            publish(port, topic, {"key": sensor.key, "time": iso(1), "value": 21})

    thread = threading.Thread(target=restart_between_messages, daemon=True)
    thread.start()
    try:
        bridge.run(timeout=60)
    finally:
        thread.join(5)
        stop(state["broker"])
    assert list(Reading.objects.filter(sensor=sensor).order_by("time").values_list("value", flat=True)) == [20, 21]


def test_sigterm_stops_the_bridge_gracefully():
    port = free_port()
    broker = start_broker(port)
    env = {**os.environ, "MQTT_URL": f"mqtt://127.0.0.1:{port}", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "manage.py", "ingest_mqtt", "--timeout", "60"], cwd=BASE_DIR,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "Listening" in process.stdout.readline()
        time.sleep(1)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=15)
        assert process.returncode == 0, err
        assert "Stopped: 0 messages" in out
    finally:
        if process.poll() is None:
            process.kill()
        stop(broker)
