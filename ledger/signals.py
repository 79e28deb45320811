"""What ledger announces for the apps above it, sent inside the writing transaction."""
from django.dispatch import Signal

# mark_payout_paid: the bank confirmed a payout's transfer: `payout` (locked, with its shop).
payout_paid = Signal()
