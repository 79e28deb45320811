"""manage.py check_ledger: prove the ledger balances; exit 1 naming what differs."""
from django.core.management.base import BaseCommand

from ledger import reconcile
from ledger.alerts import check_and_alert


class Command(BaseCommand):
    help = ("Check that every entry balances, every payment, refund and cash collection has its entries, and each "
            "shop's balance equals the sum of its entries. Exits 1 naming what differs.")

    def add_arguments(self, parser):
        parser.add_argument("--alert", action="store_true", help="Also notify staff users when something differs.")

    def handle(self, *args, **options):
        problems = check_and_alert() if options["alert"] else reconcile.check()
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            self.stderr.write(self.style.ERROR(f"The ledger does not reconcile: {len(problems)} problem(s)."))
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS("The ledger reconciles."))
