"""The buyer's catalogue pages: home, category, search, product and shop."""
import datetime
import gzip
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import BuyerFactory
from shops import search
from shops.models import Category, Product, ProductImage, Shop
from shops.search import listing

from .factories import CategoryFactory, HarvestLotFactory, ProductFactory, ShopFactory, VillageFactory

pytestmark = pytest.mark.django_db


APPLE_DOCUMENT = search.build_document(title="烟台红富士苹果", extra=["苹果", "Apples"])


def text(response) -> str:
    return response.content.decode()


def this_month_mask() -> int:
    return Product.mask_for_months([timezone.localdate().month])


def other_month_mask() -> int:
    return Product.mask_for_months([timezone.localdate().month % 12 + 1])


def with_photos(product, count=1):
    for position in range(count):
        ProductImage.objects.create(
            product=product, image=f"products/{product.pk}/p{position}.jpg", width=1200, height=900,
            position=position, is_cover=position == 0, status=ProductImage.Status.READY,
            alt_text=f"photo {position}",
            thumbnails={"320": f"products/{product.pk}/p{position}-320.webp",
                        "640": f"products/{product.pk}/p{position}-640.webp"})


# --- Home --------------------------------------------------------------------------------------

def test_home_shows_season_new_arrivals_provinces_and_categories(client):
    ProductFactory(title="当季红富士", season_mask=this_month_mask(),
                   shop=ShopFactory(village=VillageFactory(province="陕西省")))
    ProductFactory(title="过季香梨", season_mask=other_month_mask())
    page = text(client.get("/"))
    season = page.split('id="season-h"')[1].split("</section>")[0]
    assert "当季红富士" in season and "过季香梨" not in season
    arrivals = page.split('id="new-h"')[1].split("</section>")[0]
    assert "当季红富士" in arrivals and "过季香梨" in arrivals
    assert "/search/?province=%E9%99%95%E8%A5%BF%E7%9C%81" in page  # 陕西省, url-encoded
    assert 'href="/c/fruit/"' in page


def test_home_hides_closed_shops_and_withdrawn_products(client):
    ProductFactory(title="下架商品", is_active=False)
    ProductFactory(title="关门农场的梨", shop=ShopFactory(is_open=False))
    page = text(client.get("/"))
    assert "下架商品" not in page and "关门农场的梨" not in page


# --- Category ----------------------------------------------------------------------------------

def test_category_page_includes_childrens_products(client):
    fruit = Category.objects.get(slug="fruit")
    ProductFactory(title="红富士", category=Category.objects.get(slug="apples"))
    ProductFactory(title="香梨", category=Category.objects.get(slug="pears"))
    ProductFactory(title="大米", category=Category.objects.get(slug="rice"))
    response = client.get(fruit.get_absolute_url())
    page = text(response)
    assert response.status_code == 200
    assert "红富士" in page and "香梨" in page and "大米" not in page
    assert 'href="/c/apples/"' in page  # subcategory links


def test_unknown_category_is_404(client):
    assert client.get("/c/no-such-thing/").status_code == 404


# --- Search ------------------------------------------------------------------------------------

@pytest.fixture
def produce():
    shandong = ShopFactory(village=VillageFactory(province="山东省"))
    yunnan = ShopFactory(village=VillageFactory(province="云南省"))
    apples = Category.objects.get(slug="apples")
    tea = Category.objects.get(slug="green-tea")
    items = {
        "cheap_apple": ProductFactory(title="烟台红富士苹果", category=apples, shop=shandong, price=Decimal("30.00")),
        "dear_apple": ProductFactory(title="有机红富士苹果", category=apples, shop=shandong, price=Decimal("90.00"),
                                     organic=True),
        "sold_out_apple": ProductFactory(title="昭通苹果", category=apples, shop=yunnan, price=Decimal("50.00"),
                                         stock=0),
        "tea": ProductFactory(title="普洱茶", category=tea, shop=yunnan, price=Decimal("120.00")),
    }
    for product in items.values():
        product.search_document = search.build_document(
            title=product.title, extra=[product.category.name_zh, product.category.name_en])
        product.save(update_fields=["search_document"])
    return items


def titles(response) -> list[str]:
    return [p.title for p in response.context["page"].object_list]


def test_search_finds_by_words_and_ranks(client, produce):
    response = client.get("/search/", {"q": "苹果"})
    assert set(titles(response)) == {"烟台红富士苹果", "有机红富士苹果", "昭通苹果"}
    assert "Results for “苹果”" in text(response)


@pytest.mark.parametrize("params, expected", [
    ({"category": "green-tea"}, {"普洱茶"}),
    ({"category": "fruit"}, {"烟台红富士苹果", "有机红富士苹果", "昭通苹果"}),
    ({"province": "云南省"}, {"昭通苹果", "普洱茶"}),
    ({"min_price": "40", "max_price": "100"}, {"有机红富士苹果", "昭通苹果"}),
    ({"in_stock": "on"}, {"烟台红富士苹果", "有机红富士苹果", "普洱茶"}),
    ({"certified": "on"}, {"有机红富士苹果"}),
    ({"q": "pingguo", "province": "山东省", "max_price": "50"}, {"烟台红富士苹果"}),
])
def test_search_facets_filter(client, produce, params, expected):
    assert set(titles(client.get("/search/", params))) == expected


@pytest.mark.parametrize("sort, expected", [
    ("price", ["烟台红富士苹果", "昭通苹果", "有机红富士苹果", "普洱茶"]),
    ("-price", ["普洱茶", "有机红富士苹果", "昭通苹果", "烟台红富士苹果"]),
    ("newest", ["普洱茶", "昭通苹果", "有机红富士苹果", "烟台红富士苹果"]),
])
def test_search_sorts(client, produce, sort, expected):
    assert titles(client.get("/search/", {"sort": sort})) == expected


def test_search_shows_facet_counts(client, produce):
    page = text(client.get("/search/", {"q": "苹果"}))
    assert "山东省 (2)" in page and "云南省 (1)" in page
    assert "Fruit (3)" in page


def test_each_facet_counts_with_the_other_filters_but_not_its_own(client, produce):
    page = text(client.get("/search/", {"q": "苹果", "province": "云南省"}))
    assert "山东省 (2)" in page and "云南省 (1)" in page  # the province facet ignores the chosen province
    assert "Fruit (1)" in page  # the category facet keeps it


def test_facet_options_are_written_once_per_listing_version_language_and_choice(client, produce, monkeypatch):
    from shops import services
    from shops.search import forms as search_forms

    written = []
    monkeypatch.setattr(listing, "options_html", lambda rows: written.append(1) or search_forms.options_html(rows))
    page = text(client.get("/search/", {"q": "苹果", "n": "1"}))
    assert "Fruit (3)" in page and len(written) == 2  # categories, provinces
    page = text(client.get("/search/", {"q": "苹果", "n": "2"}))  # another copy of the same listing
    assert "Fruit (3)" in page and len(written) == 2
    page = text(client.get("/search/", {"q": "苹果", "province": "云南省"}))  # another choice
    assert '<option value="云南省" selected>云南省 (1)</option>' in page and len(written) == 4
    page = text(client.get("/search/", {"q": "苹果", "n": "3"}, HTTP_ACCEPT_LANGUAGE="zh-hans"))
    assert "水果 (3)" in page and len(written) == 6
    # The listing changes: its options are written again with the new counts.
    apple = produce["cheap_apple"]
    services.update_product(product=apple, actor=apple.shop.owner, is_active=False)
    page = text(client.get("/search/", {"q": "苹果", "n": "4"}))
    assert "Fruit (2)" in page and "山东省 (1)" in page


def test_many_results_list_facets_without_counting_them(client, produce, monkeypatch, django_assert_max_num_queries):
    monkeypatch.setattr(listing, "FACET_COUNT_LIMIT", 2)
    # categories, count, page ids, the tiles' rows and photos, the provinces (no GROUP BY over the products)
    with django_assert_max_num_queries(6):
        page = text(client.get("/search/"))
    assert '<option value="山东省">山东省</option>' in page and '<option value="云南省">云南省</option>' in page
    assert "Fruit (" not in page


@pytest.mark.parametrize("params, field", [
    ({"min_price": "abc"}, "min_price"),
    ({"max_price": "-5"}, "max_price"),
    ({"min_price": "50", "max_price": "10"}, "max_price"),
    ({"category": "no-such-category"}, "category"),
    ({"sort": "sideways"}, "sort"),
    ({"q": "苹" * 200}, "q"),
])
def test_bad_filter_input_shows_form_error_not_500(client, produce, params, field):
    response = client.get("/search/", params)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert 'class="error" role="alert"' in text(response) or field == "sort"


def test_invalid_filter_is_ignored_and_the_rest_applies(client, produce):
    response = client.get("/search/", {"min_price": "abc", "province": "云南省"})
    assert set(titles(response)) == {"昭通苹果", "普洱茶"}


def test_empty_result_says_so_and_offers_to_remove_filters(client, produce):
    response = client.get("/search/", {"q": "苹果", "province": "云南省", "certified": "on"})
    page = text(response)
    assert titles(response) == []
    assert "Nothing matches “苹果”." in page
    assert "Remove “Province: 云南省”" in page
    assert "?q=%E8%8B%B9%E6%9E%9C&amp;certified=on" in page  # the same search without the province


def test_searches_are_announced_with_their_count_and_filters(client, produce, searches):
    client.get("/search/", {"q": "苹果", "province": "云南省", "certified": "on"})
    client.get("/c/fruit/", {"q": "  PingGuo "})
    client.get("/search/", {"province": "云南省"})  # no words: not a search
    client.get("/search/", {"q": "the"})  # stop words only: not a search either
    assert [(s["query"], s["results"], s["category"], s["province"], s["via"], s["user"]) for s in searches] == [
        ("苹果", 0, "", "云南省", "web", None), ("pingguo", 3, "fruit", "", "web", None)]
    assert searches[0]["language"] == "en"


def test_a_signed_in_search_is_announced_with_its_user(client, produce, searches):
    buyer = BuyerFactory()
    client.force_login(buyer)
    client.get("/search/", {"q": "火龙果"})
    assert [(s["query"], s["results"], s["user"]) for s in searches] == [("火龙果", 0, buyer)]


@pytest.mark.parametrize("page_param, expected", [("abc", 1), ("0", 2), ("999", 2), ("2", 2), ("", 1)])
def test_bad_page_numbers_give_first_or_last_page(client, page_param, expected):
    ProductFactory.create_batch(25)
    response = client.get("/search/", {"page": page_param})
    assert response.status_code == 200
    assert response.context["page"].number == expected


def test_search_says_which_close_spellings_it_also_searched(client):
    product = ProductFactory(title="Fuji apples")
    product.search_document = search.build_document(title=product.title)
    product.save(update_fields=["search_document"])
    response = client.get("/search/", {"q": "aple"})
    assert titles(response) == ["Fuji apples"]
    assert "Also searched for close spellings: apple" in text(response)


def test_search_works_without_javascript_as_a_plain_get_form(client, produce):
    page = text(client.get("/search/"))
    assert '<form method="get" action="/search/"' in page
    # The only script is the shell's service-worker registration: the page itself needs none.
    assert [tag for tag in re.findall(r"<script[^>]*>", page) if "sw-register.js" not in tag] == []


# --- Product -----------------------------------------------------------------------------------

def test_product_page_shows_everything_a_buyer_needs(client):
    village = VillageFactory(name="国路夼村", county="栖霞市", province="山东省")
    shop = ShopFactory(village=village, verification=Shop.Verification.VERIFIED, name="国路夼果园")
    product = ProductFactory(shop=shop, title="烟台红富士苹果", price=Decimal("68.00"), unit=Product.Unit.BOX,
                             unit_weight_kg=Decimal("5.000"), min_order=2, stock=40, origin="山东烟台栖霞",
                             organic=True, geographical_indication=True,
                             season_mask=Product.mask_for_months([9, 10, 11]))
    with_photos(product, 3)
    lot = HarvestLotFactory(product=product, harvested_on=datetime.date(2026, 10, 8))
    page = text(client.get(product.get_absolute_url()))
    assert "¥68.00" in page and "¥13.60 per kg" in page
    assert "box of 5 kg" in page
    assert "2 units" in page  # minimum order
    assert "In stock" in page and "40 units" not in page  # a band, not the count: sales within it keep the page
    assert "September – November" in page
    assert "山东烟台栖霞" in page
    assert "Organic" in page and "Geographical indication" in page
    assert "国路夼村" in page and "栖霞市" in page and "山东省" in page and "Verified" in page
    assert f'href="/t/{lot.code}"' in page
    assert lot.harvested_on.strftime("%Y-%m-%d") in page  # English dates: 2026-12-06 (config/formats/en)
    assert page.count("p0-320.webp") == 1 and "p1-320.webp" in page and "p2-320.webp" in page  # cover once


def test_product_page_breadcrumbs_follow_the_category_tree(client):
    orchard = CategoryFactory(slug="orchard", name_en="Orchard")
    apples = CategoryFactory(slug="orchard-apples", name_en="Apples", parent=orchard)
    page = text(client.get(ProductFactory(category=apples).get_absolute_url()))
    crumbs = re.search(r'<nav class="crumbs".*?</nav>', page, re.S).group(0)
    assert crumbs.index('href="/c/orchard/"') < crumbs.index('href="/c/orchard-apples/"')
    # A category written without a version bump (a shell, a data migration) is not in the tree this process
    # holds: the page reads it from its row rather than failing.
    search.CategoryTree.current()
    late = Category.objects.create(slug="orchard-pears", name_en="Pears", name_zh="梨", parent=orchard)
    response = client.get(ProductFactory(category=late).get_absolute_url())
    assert response.status_code == 200 and 'href="/c/orchard-pears/"' in text(response)


def test_product_description_is_sanitised(client):
    # Written straight to the database, past the service that cleans descriptions.
    product = ProductFactory(description='<p><strong>脆甜</strong></p><script>alert(1)</script><a href="x">link</a>')
    page = text(client.get(product.get_absolute_url()))
    assert "<strong>脆甜</strong>" in page
    assert "<script>alert(1)</script>" not in page and 'href="x"' not in page


def test_plain_description_keeps_its_lines_and_escapes(client):
    product = ProductFactory(description="第一行 & more\n第二行")
    page = text(client.get(product.get_absolute_url()))
    assert "<p>第一行 &amp; more<br>第二行</p>" in page


def test_sold_out_product_says_so(client):
    product = ProductFactory(stock=1, min_order=2)
    assert "Sold out" in text(client.get(product.get_absolute_url()))


@pytest.mark.parametrize("kwargs", [{"is_active": False}, {"shop__is_open": False}])
def test_products_off_sale_are_404(client, kwargs):
    product = ProductFactory(**kwargs)
    assert client.get(product.get_absolute_url()).status_code == 404


def test_missing_product_is_404(client):
    assert client.get("/p/999999/").status_code == 404


# --- Shop --------------------------------------------------------------------------------------

def test_shop_page_shows_shop_and_paginates_products(client):
    shop = ShopFactory(description="<p>山坡上的<strong>果园</strong></p>", verification=Shop.Verification.VERIFIED,
                       village=VillageFactory(name="龙井村", county="西湖区", province="浙江省"))
    ProductFactory.create_batch(25, shop=shop)
    ProductFactory(title="别家的茶")
    response = client.get(shop.get_absolute_url())
    page = text(response)
    assert "<strong>果园</strong>" in page and "龙井村" in page and "Verified" in page
    assert len(response.context["page"].object_list) == 24
    assert "别家的茶" not in page
    assert len(client.get(shop.get_absolute_url(), {"page": 2}).context["page"].object_list) == 1


def test_closed_or_unknown_shop_is_404(client):
    assert client.get(ShopFactory(is_open=False).get_absolute_url()).status_code == 404
    assert client.get("/s/nobody/").status_code == 404


# --- Fixed number of queries -------------------------------------------------------------------

def _catalogue(count: int) -> Product:
    products = ProductFactory.create_batch(count, season_mask=this_month_mask(),
                                           category=CategoryFactory(parent=Category.objects.get(slug="fruit")))
    Product.objects.update(search_document=APPLE_DOCUMENT)
    for product in products:
        with_photos(product, 2)
        HarvestLotFactory.create_batch(2, product=product)
    return products[0]


@pytest.mark.parametrize("count", [1, 50])
@pytest.mark.parametrize("path, max_queries", [
    # categories, in season ids + rows + photos, new arrivals ids (+ rows and photos of those not in season),
    # provinces
    ("/", 8),
    # categories, count, page ids, the tiles' rows and photos, both facets in one GROUP BY
    ("/c/fruit/", 6),
    # categories, count, page ids, the tiles' rows and photos, the category facet, the province facet (one chosen)
    ("/search/?q=苹果&province=山东省&in_stock=on&sort=price", 7),
    # categories, count, both facets, ranked ids, the tiles' rows and photos, plus the typo check: the vocabulary
    # (SQLite), or a savepoint, a setting and an EXISTS
    ("/search/?q=apple", "typo"),
])
def test_listing_pages_make_a_fixed_number_of_queries(client, django_assert_max_num_queries, count, path,
                                                        max_queries):
    _catalogue(count)
    if max_queries == "typo":
        max_queries = 12 if connection.vendor == "postgresql" else 9
    with django_assert_max_num_queries(max_queries):
        response = client.get(path)
    assert response.status_code == 200
    shown = response.context["tiles"] if "tiles" in response.context else response.context["new_arrivals"]
    assert len(shown) == min(count, 24 if path != "/" else 8)
    assert response.content.count(b'<li class="tile">') >= len(shown)


@pytest.mark.parametrize("count", [1, 50])
def test_product_and_shop_pages_make_a_fixed_number_of_queries(client, django_assert_max_num_queries, count):
    shop = ShopFactory()
    products = ProductFactory.create_batch(count, shop=shop)
    for product in products:
        with_photos(product, 2)
        HarvestLotFactory.create_batch(2, product=product)
    # product, photos, lots, more from the shop (ids; rows and photos of tiles not kept yet); its rating; pre-sale
    # and group offers
    with django_assert_max_num_queries(9):
        response = client.get(products[0].get_absolute_url())
    assert len(response.context["more"]) == min(count - 1, 4)
    # shop, count, page ids, the tiles' rows and photos (those not kept yet), rating
    with django_assert_max_num_queries(6):
        response = client.get(shop.get_absolute_url())
    assert len(response.context["tiles"]) == min(count, 24)


# --- Page weight -------------------------------------------------------------------------------

def _gzipped_size(client, path: str) -> int:
    response = client.get(path, HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    return len(response.content)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_home_and_product_pages_weigh_under_50_kb_gzipped(client, language):
    shop = ShopFactory()
    products = ProductFactory.create_batch(
        24, shop=shop, season_mask=this_month_mask(), organic=True,
        title="烟台栖霞红富士苹果 特级脆甜 产地直发 整箱五公斤装",
        description="<p>" + "脆甜多汁，果园现摘。" * 40 + "</p>")
    for product in products:
        with_photos(product, 4)
        HarvestLotFactory.create_batch(10, product=product)
    css = gzip.compress((Path(settings.BASE_DIR) / "static/css/site.css").read_bytes())
    client.cookies.load({settings.LANGUAGE_COOKIE_NAME: language})
    for path in ("/", products[0].get_absolute_url()):
        # The page and its stylesheet; photos come after and are not counted.
        assert _gzipped_size(client, path) + len(css) < 50 * 1024, path
