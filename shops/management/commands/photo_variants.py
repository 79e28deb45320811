"""Queue the thumbnail task for every product photo missing a variant this server makes (a width, AVIF or the
placeholder), e.g. after an upgrade that added one. Safe to run again: complete photos are left alone."""
from django.core.management.base import BaseCommand

from shops import images


class Command(BaseCommand):
    help = "Make the missing photo variants (widths, AVIF, placeholder) of existing product photos."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only count the photos that need variants.")

    def handle(self, *args, dry_run: bool = False, **options):
        if dry_run:
            count = len(images.photos_missing_variants())
            self.stdout.write(f"{count} photo(s) need new variants.")
            return
        ids = images.schedule_missing_variants()
        self.stdout.write(self.style.SUCCESS(f"Queued new variants for {len(ids)} photo(s)."))
