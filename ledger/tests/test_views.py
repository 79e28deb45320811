"""The money pages: payout account form, statement (print stylesheet, CSV), staff page actions, Chinese."""
from decimal import Decimal

import pytest

from ledger import selectors
from ledger.models import CashRemittance, JournalEntry, Payout, PayoutAccount, ShopBalance
from logistics.tests.factories import StationFactory, agent_at, staff
from shops.tests.factories import ProductFactory

from .helpers import card_sale, cash_sale, complete, give_account

pytestmark = pytest.mark.django_db


def completed_shop():
    product = ProductFactory(price=Decimal("40.00"), stock=50)
    order = card_sale(lines=[(product, 1)])
    complete(order.shop_orders.get())
    return product.shop, order


def test_payout_account_form_refuses_letters_and_saves_digits(client):
    shop, _order = completed_shop()
    client.force_login(shop.owner)
    url = f"/seller/money/{shop.slug}/payout-account/"
    page = client.post(url, {"holder": "李大山", "bank": "农业银行", "account_number": "62AB0202"})
    assert page.status_code == 200 and "8 to 30 digits" in page.content.decode()
    assert not PayoutAccount.objects.exists()
    assert client.post(url, {"holder": "李大山", "bank": "农业银行", "account_number": "6222 0202 0202 0202"}
                       ).status_code == 302
    page = client.get(url).content.decode()
    assert "0202" in page and "6222020202020202" not in page


def test_balance_page_in_chinese_and_statement_prints(client):
    shop, order = completed_shop()
    give_account(shop)
    admin = staff()
    client.force_login(admin)
    client.post("/staff/money/", {"action": "run"})
    payout = Payout.objects.get()
    client.force_login(shop.owner)
    page = client.get("/seller/money/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "可提现" in page and "销售" in page and order.number in page
    statement = client.get(f"/seller/money/payouts/{payout.pk}/").content.decode()
    assert "statement-print.css" in statement and 'media="print"' in statement
    assert client.get(f"/seller/money/payouts/{payout.pk}/statement.csv")["Content-Type"].startswith("text/csv")


def test_staff_page_runs_marks_adjusts_and_confirms(client):
    shop, _order = completed_shop()
    give_account(shop)
    agent = agent_at(StationFactory())
    cash_order, _agent = cash_sale(agent=agent)
    remittance = CashRemittance.objects.create(station=agent.agent.station, agent=agent, amount=cash_order.total)
    client.force_login(staff())
    assert client.get("/staff/money/").status_code == 200
    client.post("/staff/money/", {"action": "run"})
    payout = Payout.objects.get(shop=shop)
    client.post("/staff/money/", {"action": "failed", "payout": payout.pk, "reason": "Account closed"})
    assert Payout.objects.get(pk=payout.pk).status == "failed"
    client.post("/staff/money/", {"action": "adjust", "shop": shop.slug, "amount": "0", "reason": "x"})
    assert not JournalEntry.objects.filter(kind="adjustment").exists()
    client.post("/staff/money/", {"action": "adjust", "shop": shop.slug, "amount": "3.00", "reason": "Crates"})
    assert ShopBalance.objects.get(shop=shop).available == Decimal("41.00")
    client.post("/staff/money/", {"action": "confirm", "remittance": remittance.pk})
    assert CashRemittance.objects.get().status == "confirmed"


def test_staff_page_is_hidden_from_farmers(client):
    shop, _order = completed_shop()
    client.force_login(shop.owner)
    assert client.get("/staff/money/").status_code == 404


def test_money_pages_show_amounts_to_the_fen_whatever_the_database_answers(client):
    """SQLite answers sums and raw SQL on decimals with floats (¥202.35000000000005 was shown); amounts are fen."""
    agent = None
    for price in ("19.90", "33.30", "0.70"):
        order, agent = cash_sale(agent, price=Decimal(price))
    complete(order.shop_orders.get())
    station = agent.agent.station
    cash = selectors.cash_position(station)
    summary = selectors.money_summary(order.shop_orders.get().shop)
    for amount in (*cash.values(), *(summary[k] for k in ("pending", "available", "scheduled", "paid_out"))):
        if isinstance(amount, Decimal):
            assert amount.as_tuple().exponent == -2, amount
    client.force_login(agent)
    html = client.get("/agent/cash/").content.decode()
    assert f"¥{cash['held']}<" in html and "0000" not in html.split("In the drawer")[1][:200]


def test_entries_read_in_the_readers_language_whatever_language_wrote_them(client):
    from django.utils import translation

    with translation.override("en"):
        order, _agent = cash_sale()
    part = order.shop_orders.get()
    complete(part)
    client.force_login(part.shop.owner)
    client.cookies["django_language"] = "zh-hans"
    html = client.get(f"/seller/money/?shop={part.shop.slug}").content.decode()
    assert f"销售，订单 {order.number}" in html and f">订单 {order.number}</a>" in html  # not 排序 (sorting)
    assert "Sale, order" not in html and "Commission on" not in html
    with translation.override("en"):
        entry = JournalEntry.objects.filter(shop_order=part, kind=JournalEntry.Kind.SALE).get()
        assert entry.memo_text == f"Sale, order {order.number}"
