"""Build the demo world. Idempotent: running it twice leaves the same world.

Each app that has demo data exposes `demo.load(out)`; they run in dependency order, so the
catalogue can use the demo farmers, orders the catalogue, and so on.
"""
from importlib import import_module
from importlib.util import find_spec

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

DEMO_APPS = ["accounts", "shops", "orders", "logistics", "traceability", "monitoring", "notifications", "presales",
             "demand", "ledger", "subscriptions", "stations"]


class Command(BaseCommand):
    help = "Create (or refresh) the demo users, shops, produce and orders."

    def add_arguments(self, parser):
        parser.add_argument("--allow-production", action="store_true",
                            help="Load demo users (with public passwords) even in the production profile.")

    def handle(self, *args, **options):
        if settings.PRODUCTION and not options["allow_production"]:
            raise CommandError("Refusing to create demo users with public passwords in production.")
        for app in DEMO_APPS:
            if find_spec(f"{app}.demo") is None:
                continue
            with transaction.atomic():
                import_module(f"{app}.demo").load(self.stdout)
        with transaction.atomic():  # after the stations' own demo: the agent orders for a villager
            import_module("stations.assisted_demo").load(self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
