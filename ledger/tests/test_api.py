"""The money API (API.md "Money to the farmers"): shapes, bad input, permissions and fixed query counts."""
from decimal import Decimal

import pytest

from accounts.tests.factories import FarmerFactory
from ledger import services
from ledger.models import JournalEntry, Payout, PayoutAccount, ShopBalance
from logistics.tests.factories import StationFactory, agent_at, staff
from shops.tests.factories import ProductFactory, ShopFactory, ShopMemberFactory

from .helpers import card_sale, cash_sale, complete, give_account

pytestmark = pytest.mark.django_db


def sold_and_completed(price="50.00", quantity=1, shop=None):
    shop = shop or ShopFactory()
    product = ProductFactory(shop=shop, price=Decimal(price), stock=500)
    order = card_sale(lines=[(product, quantity)])
    complete(order.shop_orders.get())
    return shop, order


def snapshot():
    return (JournalEntry.objects.count(), Payout.objects.count(),
            list(ShopBalance.objects.order_by("pk").values_list("available", "scheduled", "paid_out")))


def test_balance_and_entries_for_the_shop_manager(api_client):
    shop, order = sold_and_completed()
    api_client.force_authenticate(shop.owner)
    data = api_client.get("/api/v1/seller/balance/", {"shop": shop.slug}).json()
    assert data == {"shop": shop.slug, "currency": "CNY", "pending": "0.00", "available": "47.50",
                    "scheduled": "0.00", "paid_out": "0.00", "commission_rate": "0.0500"}
    entries = api_client.get("/api/v1/seller/ledger/", {"shop": shop.slug}).json()
    assert entries["count"] == 2
    kinds = {e["kind"]: e for e in entries["results"]}
    assert kinds["sale"]["amount"] == "50.00" and kinds["commission"]["amount"] == "-2.50"
    assert kinds["sale"]["order_number"] == order.number
    assert set(kinds["sale"]) >= {"id", "time", "kind", "amount", "order_number", "shop_order", "memo"}


def test_a_cooperative_manager_sees_the_shop_money(api_client):
    shop, _order = sold_and_completed()
    manager = FarmerFactory()
    ShopMemberFactory(shop=shop, user=manager, role="manager")
    api_client.force_authenticate(manager)
    assert api_client.get("/api/v1/seller/balance/", {"shop": shop.slug}).status_code == 200


def test_a_farmer_never_sees_another_shops_money(api_client, client):
    shop, _order = sold_and_completed()
    give_account(shop)
    batch, _made = services.run_payouts(period="w1")
    payout = Payout.objects.get()
    other = FarmerFactory()
    ShopFactory(owner=other)
    api_client.force_authenticate(other)
    for url in ("/api/v1/seller/balance/", "/api/v1/seller/ledger/", "/api/v1/seller/payouts/"):
        assert api_client.get(url, {"shop": shop.slug}).status_code == 404, url
    assert api_client.get(f"/api/v1/seller/payouts/{payout.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/seller/payouts/{payout.pk}/statement.csv").status_code == 404
    assert api_client.get(f"/api/v1/shops/{shop.slug}/payout-account/").status_code == 404
    put = api_client.put(f"/api/v1/shops/{shop.slug}/payout-account/",
                         {"holder": "x", "bank": "y", "account_number": "12345678"}, format="json")
    assert put.status_code == 404
    client.force_login(other)
    assert client.get(f"/seller/money/?shop={shop.slug}").status_code == 404
    assert client.get(f"/seller/money/entries/?shop={shop.slug}").status_code == 404
    assert client.get(f"/seller/money/payouts/{payout.pk}/").status_code == 404
    assert client.get(f"/seller/money/payouts/{payout.pk}/statement.csv").status_code == 404
    assert client.get(f"/seller/money/{shop.slug}/payout-account/").status_code == 404
    # A farmer is not staff: the staff endpoints are refused.
    assert api_client.post("/api/v1/payouts/run/", {}, format="json").status_code == 403
    assert api_client.get(f"/api/v1/payouts/batches/{batch.pk}/export.csv").status_code == 403


def test_payout_account_shows_only_the_last_four_digits_and_notifies_managers(api_client):
    from notifications.models import Notification

    shop = ShopFactory()
    api_client.force_authenticate(shop.owner)
    answer = api_client.put(f"/api/v1/shops/{shop.slug}/payout-account/",
                            {"holder": "李大山", "bank": "农业银行", "account_number": "6222 0202 0202 0202"},
                            format="json")
    assert answer.status_code == 200, answer.content
    assert "6222020202020202" not in answer.content.decode() and answer.json()["account_last4"] == "0202"
    read = api_client.get(f"/api/v1/shops/{shop.slug}/payout-account/").json()
    assert read["account_last4"] == "0202" and "account_number" not in read
    api_client.put(f"/api/v1/shops/{shop.slug}/payout-account/",
                   {"holder": "李大山", "bank": "农业银行", "account_number": "6222020202029999"}, format="json")
    account = PayoutAccount.objects.get()
    assert account.hold_until is not None
    assert Notification.objects.filter(kind="payout_account_changed", recipient=shop.owner).exists()


def test_a_changed_account_holds_the_next_payout():
    shop, _order = sold_and_completed()
    give_account(shop)
    give_account(shop, number="6222020202029999")
    _batch, made = services.run_payouts(period="w1")
    assert made == 0


def test_bank_account_number_with_letters_is_a_400_and_saves_nothing(api_client):
    shop = ShopFactory()
    api_client.force_authenticate(shop.owner)
    answer = api_client.put(f"/api/v1/shops/{shop.slug}/payout-account/",
                            {"holder": "李大山", "bank": "农业银行", "account_number": "6222ABCD0202"}, format="json")
    assert answer.status_code == 400 and "account_number" in answer.json()
    assert not PayoutAccount.objects.exists()


@pytest.mark.parametrize("amount", ["0", "-5.00", "0.00", "abc", "1.001"])
def test_zero_negative_or_malformed_adjustment_is_a_400_and_changes_nothing(api_client, amount):
    shop, _order = sold_and_completed()
    before = snapshot()
    api_client.force_authenticate(staff())
    answer = api_client.post("/api/v1/ledger/adjustments/", {"shop": shop.slug, "amount": amount, "reason": "fix"},
                             format="json")
    assert answer.status_code == 400 and "amount" in answer.json()
    assert snapshot() == before


def test_adjustment_needs_a_reason_and_books_a_credit_or_a_debit(api_client):
    shop, _order = sold_and_completed()
    api_client.force_authenticate(staff())
    assert api_client.post("/api/v1/ledger/adjustments/", {"shop": shop.slug, "amount": "5.00", "reason": ""},
                           format="json").status_code == 400
    credit = api_client.post("/api/v1/ledger/adjustments/",
                             {"shop": shop.slug, "amount": "5.00", "reason": "Crate deposit returned"}, format="json")
    assert credit.status_code == 201 and credit.json()["amount"] == "5.00"
    debit = api_client.post("/api/v1/ledger/adjustments/", {"shop": shop.slug, "amount": "2.00", "direction": "debit",
                                                            "reason": "Damaged crate"}, format="json")
    assert debit.json()["amount"] == "-2.00"
    assert ShopBalance.objects.get(shop=shop).available == Decimal("50.50")


def test_payout_to_a_shop_without_an_account_is_a_409_and_changes_nothing(api_client):
    shop, _order = sold_and_completed()
    before = snapshot()
    api_client.force_authenticate(staff())
    answer = api_client.post("/api/v1/payouts/run/", {"shop": shop.slug}, format="json")
    assert answer.status_code == 409 and answer.json()["code"] == "no_payout_account"
    assert snapshot() == before
    # The weekly run skips it (nothing to pay it to) rather than failing the others.
    answer = api_client.post("/api/v1/payouts/run/", {}, format="json")
    assert answer.status_code == 201 and answer.json()["payouts"] == 0


def test_run_export_mark_paid_and_a_second_mark_paid_is_a_409(api_client):
    shop, _order = sold_and_completed()
    give_account(shop)
    api_client.force_authenticate(staff())
    run = api_client.post("/api/v1/payouts/run/", {}, format="json")
    assert run.status_code == 201 and run.json()["payouts"] == 1
    again = api_client.post("/api/v1/payouts/run/", {}, format="json")
    assert again.json() == {**run.json(), "payouts": 0}
    export = api_client.get(f"/api/v1/payouts/batches/{run.json()['batch']}/export.csv")
    text = export.content.decode("utf-8-sig")
    assert export.status_code == 200 and "****0202" in text and "6222020202020202" not in text and "47.50" in text
    payout = Payout.objects.get()
    assert api_client.post(f"/api/v1/payouts/{payout.pk}/mark-paid/", {"reference": ""},
                           format="json").status_code == 400
    paid = api_client.post(f"/api/v1/payouts/{payout.pk}/mark-paid/", {"reference": "ICBC-778"}, format="json")
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    before = snapshot()
    second = api_client.post(f"/api/v1/payouts/{payout.pk}/mark-paid/", {"reference": "ICBC-779"}, format="json")
    assert second.status_code == 409
    failed = api_client.post(f"/api/v1/payouts/{payout.pk}/mark-failed/", {"reason": "late"}, format="json")
    assert failed.status_code == 409
    assert snapshot() == before
    assert Payout.objects.get().reference == "ICBC-778"


def test_seller_sees_payouts_and_statement_csv(api_client):
    shop, order = sold_and_completed()
    give_account(shop)
    services.run_payouts(period="w1")
    payout = Payout.objects.get()
    api_client.force_authenticate(shop.owner)
    listed = api_client.get("/api/v1/seller/payouts/", {"shop": shop.slug}).json()
    assert listed["count"] == 1
    assert set(listed["results"][0]) >= {"id", "number", "shop", "amount", "status", "created", "paid_at",
                                          "reference"}
    csv = api_client.get(f"/api/v1/seller/payouts/{payout.pk}/statement.csv").content.decode("utf-8-sig")
    assert order.number in csv and "50.00" in csv and "-2.50" in csv and "-47.50" in csv


def test_agent_cash_remit_and_staff_confirm(api_client):
    station = StationFactory()
    agent = agent_at(station)
    order, _agent = cash_sale(agent=agent, price=Decimal("30.00"), quantity=1)
    api_client.force_authenticate(agent)
    assert api_client.get("/api/v1/agent/cash/").json()["held"] == str(order.total)
    too_much = api_client.post("/api/v1/agent/cash/remittances/", {"amount": "9999.00"}, format="json")
    assert too_much.status_code == 409
    assert api_client.post("/api/v1/agent/cash/remittances/", {"amount": "-1"}, format="json").status_code == 400
    made = api_client.post("/api/v1/agent/cash/remittances/", {"amount": str(order.total)}, format="json")
    assert made.status_code == 201
    api_client.force_authenticate(staff())
    url = f"/api/v1/agent/cash/remittances/{made.json()['id']}/confirm/"
    assert api_client.post(url).status_code == 200
    assert api_client.post(url).status_code == 409
    api_client.force_authenticate(agent)
    cash = api_client.get("/api/v1/agent/cash/").json()
    assert (cash["held"], cash["remitted"]) == ("0.00", str(order.total))


def test_cash_count_records_the_difference(client):
    station = StationFactory()
    agent = agent_at(station)
    order, _agent = cash_sale(agent=agent, price=Decimal("30.00"), quantity=1)
    client.force_login(agent)
    assert client.get("/agent/cash/").status_code == 200
    client.post("/agent/cash/", {"count": "1", "count-counted": "20.00"})
    from ledger.models import CashCount

    counted = CashCount.objects.get()
    assert (counted.expected, counted.difference) == (order.total, Decimal("20.00") - order.total)


def test_list_endpoints_and_balance_page_have_fixed_query_counts(client, api_client,
                                                                  django_assert_max_num_queries):
    shop = ShopFactory()
    give_account(shop)
    for _ in range(2):
        sold_and_completed(shop=shop)
    services.run_payouts(period="w1")
    api_client.force_authenticate(shop.owner)
    client.force_login(shop.owner)

    def counts():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        out = []
        for url, get in (("/api/v1/seller/ledger/", api_client.get), ("/api/v1/seller/payouts/", api_client.get),
                         ("/api/v1/seller/balance/", api_client.get), ("/seller/money/", client.get),
                         ("/seller/money/entries/", client.get), ("/seller/money/payouts/", client.get)):
            with CaptureQueriesContext(connection) as ctx:
                assert get(url, {"shop": shop.slug}).status_code == 200
            out.append(len(ctx))
        return out

    few = counts()
    for _ in range(4):
        sold_and_completed(shop=shop)
    services.run_payouts(period="w2")
    assert counts() == few
    with django_assert_max_num_queries(12):
        client.get("/seller/money/", {"shop": shop.slug})
