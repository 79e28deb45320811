"""CSV files: a shop's payout statement, and a batch's bank-transfer file (masked accounts only)."""
import csv
import io

from django.utils import timezone
from django.utils.translation import gettext as _

from . import selectors
from .models import Payout, PayoutBatch


def _csv(rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        # A cell starting with =, +, - or @ is text, never a formula, in a spreadsheet.
        writer.writerow([f"'{c}" if isinstance(c, str) and c[:1] in "=+-@" else c for c in row])
    return "\ufeff" + out.getvalue()  # the BOM makes spreadsheet programs read UTF-8 (Chinese names)


def statement_rows(payout: Payout):
    yield [_("Statement"), payout.number, payout.shop.name]
    yield [_("time"), _("kind"), _("order"), _("memo"), _("amount")]
    for entry in selectors.statement_entries(payout):
        yield [timezone.localtime(entry.created_at).isoformat(timespec="seconds"), entry.kind,
               entry.order.number if entry.order_id else "", entry.memo_text, str(entry.shop_amount)]
    yield [_("Payout"), payout.get_status_display(), payout.reference, f"****{payout.account_last4}",
           str(payout.amount)]


def statement_csv(payout: Payout) -> str:
    return _csv(statement_rows(payout))


def batch_csv(batch: PayoutBatch) -> str:
    rows = [["payee", "bank", "account", "amount", "currency", "reference", "shop"]]
    for payout in selectors.batch_payouts(batch):
        rows.append([payout.payee, payout.bank, f"****{payout.account_last4}", str(payout.amount), "CNY",
                     payout.number, payout.shop.slug])
    return _csv(rows)
