"""manage.py make_standing_orders [--date YYYY-MM-DD]: the orders of the boxes cut off that day, as the beat job."""
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from subscriptions import services


class Command(BaseCommand):
    help = "Make the standing orders whose cut-off is the date (default today); running it again makes nothing more."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The cut-off date, YYYY-MM-DD (default: today).")

    def handle(self, *args, **options):
        day = None
        if options.get("date"):
            try:
                day = date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError("--date must be YYYY-MM-DD")
        counts = services.make_standing_orders(day=day)
        self.stdout.write(", ".join(f"{key}: {value}" for key, value in counts.items()))
