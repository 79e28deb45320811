"""The public lot page /t/<code>: what it shows, what it never shows, and codes that are not lots."""
import datetime

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import FarmerFactory
from core import codes
from shops.models import LOT_PREFIX, InputApplication
from shops.tests.factories import (
    HarvestLotFactory,
    InputApplicationFactory,
    ProductFactory,
    ShopFactory,
    VillageFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def lot():
    grower = FarmerFactory(display_name="王秀英", email="xiuying@example.com", phone="13912345678")
    village = VillageFactory(name="果香村", name_en="Guoxiang", township="桃村镇", county="栖霞市", province="山东省")
    shop = ShopFactory(owner=grower, name="秀英果园", village=village, contact_phone="13700000000")
    product = ProductFactory(shop=shop, title="栖霞红富士苹果", green_food=True, origin="山东栖霞")
    harvest = datetime.date(2024, 10, 15)
    lot = HarvestLotFactory(product=product, grower=grower, plot="东坡 3 号地", harvested_on=harvest, quantity=200)
    InputApplicationFactory(lot=lot, kind=InputApplication.Kind.FERTILISER, product_name="有机肥",
                            applied_on=harvest - datetime.timedelta(days=60))
    InputApplicationFactory(lot=lot, kind=InputApplication.Kind.PESTICIDE, product_name="吡虫啉",
                            applied_on=harvest - datetime.timedelta(days=20), pre_harvest_interval_days=14)
    InputApplicationFactory(lot=lot, kind=InputApplication.Kind.PESTICIDE, product_name="毒死蜱",
                            applied_on=harvest - datetime.timedelta(days=5), pre_harvest_interval_days=21)
    lot.phi_violation = True
    lot.save(update_fields=["phi_violation"])
    return lot


def test_lot_page_shows_origin_harvest_certifications_and_inputs(client, lot):
    response = client.get(f"/t/{lot.code}")
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("栖霞红富士苹果", "秀英果园", "Guoxiang (果香村)", "桃村镇", "栖霞市", "山东省", "王秀英",
                 "2024-10-15", "东坡 3 号地", "Green food certified", codes.display(lot.code)):
        assert text in html, text
    checks = {row.application.product_name: row for row in response.context["checks"]}
    assert checks["吡虫啉"].checked and checks["吡虫啉"].respected and checks["吡虫啉"].days_before_harvest == 20
    assert checks["毒死蜱"].checked and not checks["毒死蜱"].respected
    assert not checks["有机肥"].checked
    assert html.count("Not respected") == 1 and html.count("✓ Respected") == 1
    assert "Pre-harvest interval not respected" in html  # the lot's warning


def test_lot_page_has_no_personal_data(client, lot):
    html = client.get(f"/t/{lot.code}").content.decode()
    grower = lot.grower
    for private in (grower.email, grower.phone, grower.username, lot.product.shop.contact_phone):
        assert private not in html


@pytest.mark.parametrize("typed", ["lower", "dashed", "confusable"])
def test_code_is_matched_the_crockford_way(client, lot, typed):
    code = {"lower": lot.code.lower(), "dashed": codes.display(lot.code),
            # O is read as 0 and I/L as 1 in the body, as a person might type them.
            "confusable": "l" + lot.code[1:].replace("0", "o").replace("1", "i").lower()}[typed]
    response = client.get(f"/t/{code}")
    assert response.status_code == 200 and response.context["lot"] == lot


def _with_wrong_check_character(code: str) -> str:
    wrong = next(ch for ch in codes.ALPHABET if ch != code[-1])
    return code[:-1] + wrong


@pytest.mark.parametrize("bad", ["wrong-check", "unknown", "garbage", "empty-body"])
def test_bad_or_unknown_code_is_the_404_page(client, lot, settings, bad):
    settings.DEBUG = False
    code = {"wrong-check": _with_wrong_check_character(lot.code),
            "unknown": codes.new_code(LOT_PREFIX),  # a valid code nobody recorded
            "garbage": "%3Cscript%3E",
            "empty-body": "L"}[bad]
    response = client.get(f"/t/{code}")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_lot_page_query_count_does_not_grow_with_inputs(client, lot, django_assert_max_num_queries):
    small = HarvestLotFactory(product=lot.product)
    InputApplicationFactory(lot=small)
    for days in range(30):
        InputApplicationFactory(lot=lot, applied_on=lot.harvested_on - datetime.timedelta(days=days + 1))
    counts = []
    for each in (small, lot):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/t/{each.code}").status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1]
    with django_assert_max_num_queries(4):
        client.get(f"/t/{lot.code}")


def test_lot_page_in_chinese_names_the_village_in_chinese(client, lot):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = client.get(f"/t/{lot.code}").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "果香村" in html and "Guoxiang" not in html
