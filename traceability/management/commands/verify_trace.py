"""Check the hash chains of the trace log: every lot, or one with --lot CODE.

Exits with status 1 (and names each altered record) when a chain no longer verifies.
"""
from itertools import groupby

from django.core.management.base import BaseCommand, CommandError

from traceability import selectors
from traceability.chain import verify
from traceability.models import TraceEvent


class Command(BaseCommand):
    help = "Verify the hash chains of the trace log (all lots, or one with --lot CODE)."

    def add_arguments(self, parser):
        parser.add_argument("--lot", help="The lot code to check (as printed or typed).")

    def handle(self, *args, **options):
        records = TraceEvent.objects.select_related("lot", "parcel").order_by("lot_id", "sequence")
        if options.get("lot"):
            lot = selectors.lot_with_product(options["lot"])
            if lot is None:
                raise CommandError(f"No lot has the code {options['lot']!r}.")
            records = records.filter(lot=lot)
        lots = altered = 0
        for _lot_id, rows in groupby(records.iterator(chunk_size=2000), key=lambda row: row.lot_id):
            rows = list(rows)
            code = rows[0].lot.code
            check = verify(rows, code)
            lots += 1
            if check.ok:
                self.stdout.write(f"{code}: ok, {check.count} records, head {check.head}")
                continue
            altered += 1
            for problem in check.problems:
                self.stdout.write(self.style.ERROR(
                    f"{code}: record {problem.sequence} ({problem.kind}) altered: {problem.reason_text}"))
        if options.get("lot") and lots == 0:
            self.stdout.write(f"{options['lot']}: no records yet")
        if altered:
            raise CommandError(f"{altered} of {lots} lot chains do not verify.")
        self.stdout.write(self.style.SUCCESS(f"{lots} lot chains verified."))
