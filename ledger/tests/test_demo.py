import io

import pytest

from accounts import demo as accounts_demo
from ledger import demo, reconcile
from ledger.models import JournalEntry, Payout
from logistics import demo as logistics_demo
from orders import demo as orders_demo
from shops import demo as shops_demo

pytestmark = pytest.mark.django_db


def test_demo_has_completed_sales_a_paid_payout_and_a_pending_one_and_is_idempotent():
    out = io.StringIO()
    for app in (accounts_demo, shops_demo, orders_demo, logistics_demo, demo):
        app.load(out)
    assert set(Payout.objects.values_list("status", flat=True)) == {"paid", "scheduled"}
    assert JournalEntry.objects.filter(kind="release").count() >= 3
    before = (Payout.objects.count(), JournalEntry.objects.count())
    demo.load(out)
    assert (Payout.objects.count(), JournalEntry.objects.count()) == before
    assert reconcile.check() == []
