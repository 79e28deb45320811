"""The text messages of assisted farmers: each template under 70 characters (one SMS) in Chinese and English, and
sent for each new order of their shop (paid, or cash on delivery when placed) and each payout (receivers of orders'
and ledger's signals)."""
from decimal import Decimal

import pytest
from django.utils import translation

from accounts.tests.factories import FarmerFactory
from ledger import services as ledger_services
from ledger.models import Payout
from ledger.tests.helpers import cash_sale, complete, give_account, place
from logistics.tests.factories import staff
from shops.tests.factories import ProductFactory, ShopFactory
from stations import texts

from .behalf import registered, sent_sms, station_with_agent

pytestmark = pytest.mark.django_db

LONG_NAME = "黄河入海口生态农业专业合作社联合社第一分社"
LANGUAGES = ["zh-hans", "en"]


@pytest.fixture(autouse=True)
def sms_to_a_file(settings, tmp_path):
    settings.SMS_BACKEND = "notifications.channels.FileSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_consent_code_fits_one_sms_and_says_who_asks(language):
    with translation.override(language):
        text = texts.consent_code(code="493017", station=LONG_NAME, minutes=10)
    assert len(text) < 70 and "493017" in text and "10" in text and LONG_NAME[:5] in text
    assert ("农门集市" in text) == (language == "zh-hans")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_new_order_text_fits_one_sms(language):
    with translation.override(language):
        text = texts.new_order(number="261206ABCDE7", shop=LONG_NAME, total=Decimal("99999.99"))
    assert len(text) < 70 and "261206ABCDE7" in text and "99999.99" in text and LONG_NAME[:5] in text
    assert ("新订单" in text) == (language == "zh-hans")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_payout_text_fits_one_sms(language):
    with translation.override(language):
        text = texts.payout(shop=LONG_NAME, amount=Decimal("9999999.99"))
    assert len(text) < 70 and "9999999.99" in text and LONG_NAME[:5] in text
    assert ("货款" in text) == (language == "zh-hans")


def test_a_short_name_is_kept_whole():
    assert texts.short("王家果园") == "王家果园" and texts.short(LONG_NAME).endswith("…")
    assert len(texts.short(LONG_NAME)) == texts.SHORT_NAME


def _assisted_shop(language: str = "zh-hans"):
    station, agent = station_with_agent()
    record = registered(agent, station, phone="13905350101")
    record.farmer.language = language
    record.farmer.save(update_fields=["language"])
    shop = ShopFactory(owner=record.farmer, village=record.village, name="王大爷家的苹果园")
    return record, shop


def test_the_farmer_gets_an_sms_for_each_new_paid_order(django_capture_on_commit_callbacks, settings):
    record, shop = _assisted_shop()
    product = ProductFactory(shop=shop, price=Decimal("45.00"), stock=50)
    other_shop_product = ProductFactory(shop=ShopFactory(owner=FarmerFactory(phone="13905350199")), stock=50)
    with django_capture_on_commit_callbacks(execute=True):
        order, agent = cash_sale(lines=[(product, 2), (other_shop_product, 1)])
    texts_sent = [s for s in sent_sms(settings) if s["to"] == "13905350101"]
    assert len(texts_sent) == 1
    text = texts_sent[0]["text"]
    assert order.number in text and "90.00" in text and "新订单" in text and len(text) < 70
    # Only assisted farmers get these texts; the other shop's owner has the app.
    assert not [s for s in sent_sms(settings) if s["to"] == "13905350199" and order.number in s["text"]
                and "new order" in s["text"]]


def test_a_cash_on_delivery_order_is_texted_when_placed_and_not_again_when_paid(django_capture_on_commit_callbacks,
                                                                                 settings):
    _record, shop = _assisted_shop()
    product = ProductFactory(shop=shop, price=Decimal("45.00"), stock=50)
    with django_capture_on_commit_callbacks(execute=True):
        order = place(payment_method="cod", lines=[(product, 1)])
    with translation.override("zh-hans"):  # the farmer's language
        expected = texts.new_order(number=order.number, shop=shop.name, total=Decimal("45.00"))
    assert [s["text"] for s in sent_sms(settings) if s["to"] == "13905350101" and order.number in s["text"]] == [
        expected]


def test_the_farmer_gets_an_sms_for_each_payout(django_capture_on_commit_callbacks, settings):
    record, shop = _assisted_shop(language="en")
    product = ProductFactory(shop=shop, price=Decimal("50.00"), stock=50)
    give_account(shop)
    order, _agent = cash_sale(lines=[(product, 2)])
    complete(order.shop_orders.get())
    ledger_services.run_payouts(period="t-1")
    payout = Payout.objects.get(shop=shop)
    before = len(sent_sms(settings))
    with django_capture_on_commit_callbacks(execute=True):
        ledger_services.mark_payout_paid(payout=payout, actor=staff(), reference="BANK-1")
    [text] = [s["text"] for s in sent_sms(settings)[before:] if s["to"] == "13905350101"]
    assert text == texts.payout(shop=shop.name, amount=payout.amount) and len(text) < 70
    assert "paid to your bank account" in text
