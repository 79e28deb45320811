"""manage.py check_ledger and its daily task: silent when the books are right, naming what differs when not."""
from decimal import Decimal

import pytest
from django.core.management import call_command

from ledger import tasks
from ledger.models import ShopBalance
from logistics.tests.factories import staff
from notifications.models import Notification
from orders.models import Payment

from .helpers import card_sale, cash_sale

pytestmark = pytest.mark.django_db


def test_check_ledger_passes_on_right_books(capsys):
    card_sale()
    cash_sale()
    call_command("check_ledger")
    assert "reconciles" in capsys.readouterr().out


def test_check_ledger_names_a_wrong_balance_and_a_payment_without_entries(capsys):
    order = card_sale(price=Decimal("10.00"))
    ShopBalance.objects.filter(shop=order.shop_orders.get().shop).update(available=Decimal("1.00"))
    orphan = card_sale().payments.get()
    Payment.objects.create(order=orphan.order, provider="cash", status="succeeded", amount=Decimal("5.00"),
                           idempotency_key="orphan")
    with pytest.raises(SystemExit) as exit_:
        call_command("check_ledger")
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "available is 1.00 but its entries sum to 0" in err
    assert "cash payment" in err and "has no receipt entry" in err


def test_daily_task_tells_staff_when_the_books_differ():
    person = staff()
    order = card_sale()
    assert tasks.check_ledger.delay().get() == 0
    ShopBalance.objects.filter(shop=order.shop_orders.get().shop).update(pending=0)
    assert tasks.check_ledger.delay().get() == 1
    assert Notification.objects.filter(recipient=person, kind="ledger_check_failed").exists()


def test_weekly_task_runs_payouts():
    assert tasks.run_payouts.delay().get() == 0
