"""The one rounding rule, commission rules by shop and category with a validity date, and append-only entries."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from ledger import commission, services
from ledger.models import AppendOnly, CommissionRule, Earning, JournalEntry, JournalLine
from ledger.money import to_fen
from ledger.postings import Unbalanced, post
from logistics.tests.factories import staff
from shops.tests.factories import CategoryFactory, ProductFactory, ShopFactory

from .helpers import card_sale

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("raw", "rounded"), [
    ("0.125", "0.13"), ("0.135", "0.14"), ("0.124", "0.12"), ("-0.125", "-0.13"), ("2.005", "2.01"), ("7", "7.00"),
])
def test_rounding_is_half_up_to_the_fen(raw, rounded):
    assert to_fen(Decimal(raw)) == Decimal(rounded)


def test_commission_rounds_once_half_up():
    # 5% of 0.50 x 5 = 0.125 -> 0.13
    order = card_sale(price=Decimal("0.50"), quantity=5)
    assert Earning.objects.get().commission == Decimal("0.13")
    assert order.shop_orders.get().items_total == Decimal("2.50")


def test_shop_rule_beats_category_rule_beats_default():
    admin = staff()
    category = CategoryFactory()
    shop = ShopFactory()
    product = ProductFactory(shop=shop, category=category, price=Decimal("100.00"), stock=50)
    services.set_commission_rule(actor=admin, category=category, rate="0.08", valid_from=timezone.now())
    card_sale(lines=[(product, 1)])
    services.set_commission_rule(actor=admin, shop=shop, rate="0.02", valid_from=timezone.now())
    card_sale(lines=[(product, 1)])
    assert list(Earning.objects.order_by("pk").values_list("commission", flat=True)) == [Decimal("8.00"),
                                                                                       Decimal("2.00")]
    assert commission.shop_rate(shop) == Decimal("0.02")


def test_a_new_rule_never_rewrites_a_past_sale_and_a_future_rule_waits_for_its_date():
    admin = staff()
    product = ProductFactory(price=Decimal("100.00"), stock=50)
    card_sale(lines=[(product, 1)])
    services.set_commission_rule(actor=admin, shop=product.shop, rate="0.10",
                                 valid_from=timezone.now() + timedelta(days=1))
    card_sale(lines=[(product, 1)])
    assert list(Earning.objects.order_by("pk").values_list("commission", flat=True)) == [Decimal("5.00"),
                                                                                       Decimal("5.00")]
    with pytest.raises(ValidationError):
        services.set_commission_rule(actor=admin, shop=product.shop, rate="0.10",
                                     valid_from=timezone.now() - timedelta(days=3))
    assert CommissionRule.objects.count() == 1


def test_commission_is_on_goods_never_on_shipping():
    order = card_sale(price=Decimal("40.00"), quantity=1)
    part = order.shop_orders.get()
    assert part.shipping_fee > 0
    assert Earning.objects.get().commission == Decimal("2.00")


def test_an_unbalanced_entry_is_refused():
    with pytest.raises(Unbalanced):
        post(kind="adjustment", key="x", lines=[("bank", Decimal("1.00")), ("adjustments", Decimal("-0.99"))])
    assert not JournalEntry.objects.exists()


def test_entries_cannot_be_changed_or_deleted_through_the_models():
    card_sale()
    entry = JournalEntry.objects.first()
    entry.memo = "changed"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        JournalLine.objects.filter(entry=entry).update(amount=1)
    with pytest.raises(AppendOnly):
        JournalEntry.objects.all().delete()


@pytest.mark.services
def test_postgresql_refuses_update_and_delete_of_entries(postgres):
    card_sale()
    entry = JournalEntry.objects.first()
    for sql in ("UPDATE ledger_journalline SET amount = amount + 1 WHERE entry_id = %s",
                "DELETE FROM ledger_journalline WHERE entry_id = %s",
                "UPDATE ledger_journalentry SET memo = 'x' WHERE id = %s"):
        with pytest.raises(Exception, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
