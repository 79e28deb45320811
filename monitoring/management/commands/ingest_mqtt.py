"""`manage.py ingest_mqtt`: store the sensor readings published to the MQTT broker (MQTT_URL)."""
from django.conf import settings
from django.core.management.base import BaseCommand

from monitoring.mqtt import TOPIC, Bridge


class Command(BaseCommand):
    help = "Subscribe to farmgate/sensors/+/readings and store the readings; reconnects after broker restarts."
    # In-process callers (the tests) may pass on_ready, called each time the subscription is in place.
    stealth_options = ("on_ready",)

    def add_arguments(self, parser):
        parser.add_argument("--url", default="", help="Broker URL; default the MQTT_URL setting.")
        parser.add_argument("--topic", default=TOPIC, help=f"Topic filter (default {TOPIC}).")
        parser.add_argument("--max-messages", type=int, default=None, help="Stop after this many messages.")
        parser.add_argument("--timeout", type=float, default=None, help="Stop after this many seconds.")
        parser.add_argument("--client-id", default="", help="MQTT client id (default: one per process).")

    def handle(self, *args, **options):
        bridge = Bridge(url=options["url"] or settings.MQTT_URL, topic=options["topic"],
                        max_messages=options["max_messages"], on_ready=options.get("on_ready"),
                        client_id=options["client_id"])
        self.stdout.write(f"Listening on {bridge.broker['host']}:{bridge.broker['port']} for {bridge.topic}")
        bridge.run(timeout=options["timeout"])
        self.stdout.write(f"Stopped: {bridge.received} messages, {bridge.stored} stored, "
                          f"{bridge.rejected} skipped.")
