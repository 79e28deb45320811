"""Search in Chinese, pinyin and English, on whichever database the suite runs (SQLite by default,
PostgreSQL with DATABASE_URL); the `postgres` tests check that the index serves the queries there."""
from decimal import Decimal

import pytest
from django.db import connection

from shops import search, services
from shops.models import Category, Product

from .factories import ShopFactory

pytestmark = pytest.mark.django_db


def make(shop, title, *, category="apples", description="", **fields):
    """A product through the service, so its search document is built as in production."""
    defaults = {"unit": Product.Unit.BOX, "unit_weight_kg": Decimal("5"), "price": Decimal("68.00"), "stock": 50}
    return services.create_product(shop=shop, actor=shop.owner, category=Category.objects.get(slug=category),
                                   title=title, description=description, **{**defaults, **fields})


@pytest.fixture
def catalogue():
    shop = ShopFactory()
    return {
        "fuji": make(shop, "烟台红富士苹果", description="脆甜多汁，产地直发。"),
        "english": make(shop, "Fuji apples from Qixia", category="apples"),
        "pear": make(shop, "库尔勒香梨", category="pears"),
        "tea": make(shop, "西湖龙井明前茶", category="green-tea", unit=Product.Unit.BAG),
        # Initials pgy: a match of 'pg' inside another term would wrongly find it.
        "dandelion": make(shop, "蒲公英茶", category="green-tea", description="Upgrade your morning tea."),
        "rice": make(shop, "五常大米", category="rice", unit=Product.Unit.BAG),
    }


def found(query: str) -> list[str]:
    return list(search.filter_by_query(Product.objects.all(), query).values_list("title", flat=True))


@pytest.mark.parametrize("query", ["苹果", "红富士", "富士苹果", "pingguo", "ping guo", "PingGuo", "hongfushi"])
def test_chinese_and_pinyin_queries_find_the_chinese_title(catalogue, query):
    assert "烟台红富士苹果" in found(query)
    assert "五常大米" not in found(query)


@pytest.mark.parametrize("query", ["apple", "apples", "Apples", "Ａｐｐｌｅ", "fresh Fuji apples", "fuji"])
def test_english_finds_english_titles_and_plurals(catalogue, query):
    assert "Fuji apples from Qixia" in found(query)
    assert "五常大米" not in found(query)


def test_english_category_name_finds_chinese_titles_too(catalogue):
    # "Apples" is the category's English name, part of every apple product's document.
    assert "烟台红富士苹果" in found("apple")


@pytest.mark.parametrize("query, title", [
    ("梨", "库尔勒香梨"),      # a one-character word inside a longer title word
    ("茶", "西湖龙井明前茶"),
    ("龙井茶", "西湖龙井明前茶"),  # jieba keeps 龙井茶 whole; its characters still match
    ("大米", "五常大米"),
    ("dami", "五常大米"),
])
def test_single_characters_and_unsplit_words_match(catalogue, query, title):
    assert title in found(query)


@pytest.mark.parametrize("query", ["aple", "appel", "appple", "pinguo", "pingguoo"])
def test_typos_in_latin_or_pinyin_words_still_find(catalogue, query):
    titles = found(query)
    assert "烟台红富士苹果" in titles or "Fuji apples from Qixia" in titles
    assert "五常大米" not in titles


def test_short_words_match_whole_terms_only(catalogue):
    # 'pg' is 苹果's initials; 蒲公英 has the term 'pgy' and "Upgrade" the term 'upgrade'.
    titles = found("pg")
    assert "烟台红富士苹果" in titles
    assert "蒲公英茶" not in titles


def test_prefix_matches_from_three_letters(catalogue):
    assert "Fuji apples from Qixia" in found("appl")
    assert found("ap") == []


def test_every_word_must_match(catalogue):
    assert found("苹果 大米") == []
    assert found("烟台 apple") == ["烟台红富士苹果"]


def test_nonsense_finds_nothing(catalogue):
    assert found("zzzzqqq") == []
    assert found("火龙果") == []


def test_empty_query_returns_queryset_unchanged(catalogue):
    assert search.filter_by_query(Product.objects.all(), "  ").count() == len(catalogue)


def test_title_match_ranks_before_description_match(catalogue):
    shop = catalogue["fuji"].shop
    make(shop, "山楂果干礼盒", category="dried-fruit", description="里面有苹果干。")
    titles = found("苹果")
    assert titles.index("烟台红富士苹果") < titles.index("山楂果干礼盒")


def test_document_keeps_title_terms_first_and_strips_markup():
    document = search.build_document(title="烟台红富士苹果", description="<p><strong>脆甜</strong> 苹果</p>",
                                      extra=["苹果", "Apples"]).split()
    assert document[:2] == ["烟台", "yantai"]
    assert {"苹果", "pingguo", "pg", "脆甜", "apples", "apple"} <= set(document)
    assert "strong" not in document and "p" not in document
    title, rest = " ".join(document).split(f" {search.TITLE_END} ")
    description, extra = rest.split(f" {search.EXTRA_START} ")
    assert "苹果" in title.split() and "苹果" not in description.split()  # said once per section
    assert "苹果" in extra.split() and "脆甜" in description.split()


def test_products_of_the_kind_asked_for_rank_first(catalogue):
    honey = make(catalogue["fuji"].shop, "苹果花蜂蜜", category="honey")
    dried = make(catalogue["fuji"].shop, "冻干苹果脆片", category="dried-fruit")
    titles = found("苹果")
    # Apples (category 苹果), then products that only name apples in the title.
    assert titles.index("烟台红富士苹果") < titles.index(honey.title)
    assert titles.index("烟台红富士苹果") < titles.index(dried.title)


def test_a_title_match_ranks_before_a_match_elsewhere(catalogue):
    shop = catalogue["fuji"].shop
    make(shop, "红枣", category="dried-fruit", description="Goes well with apples.")
    titles = found("apple")
    assert titles.index("Fuji apples from Qixia") < titles.index("红枣")


@pytest.mark.parametrize("plural, singular", [
    ("apples", "apple"), ("cherries", "cherry"), ("peaches", "peach"), ("tomatoes", "tomato"),
    ("boxes", "box"), ("citrus", "citrus"), ("grass", "grass"), ("pingguo", "pingguo"),
])
def test_singular(plural, singular):
    assert search.singular(plural) == singular


def test_edits1_covers_drops_swaps_changes_and_additions():
    variants = search.edits1("aple")
    assert {"ape", "apel", "able", "apple"} <= variants  # dropped, swapped, changed, added
    assert "aple" not in variants
    assert "apple" in search.edits1("appel") and "pingguo" in search.edits1("pinguo")


def test_close_words_use_edit_distance_and_skip_known_prefixes():
    words = {"apple": 40, "apricot": 3, "pingguo": 25, "pear": 9, "pale": 1}
    assert search.close_words("aple", words) == ["apple"]  # 'pale' is as close, but one product's word
    assert search.close_words("appel", words) == ["apple"]  # a swap counts as one edit
    assert search.close_words("pinguo", words) == ["pingguo"]
    assert search.close_words("appl", words) == []  # a prefix of a known word is no typo
    assert search.close_words("banana", words) == []


def test_a_reported_search_is_announced_with_normalised_words(searches):
    from django.contrib.auth.models import AnonymousUser

    search.report_search(query="  Ｄｒａｇｏｎ   FRUIT ", results=0, via=search.VIA_API, category="fruit",
                         province="云南省", user=AnonymousUser(), language="zh-hans")
    search.report_search(query="the of", results=5, via=search.VIA_WEB)  # stop words only: no search
    search.report_search(query="   ", results=5, via=search.VIA_WEB)
    assert searches == [{"query": "dragon fruit", "results": 0, "category": "fruit", "province": "云南省",
                         "language": "zh-hans", "user": None, "via": "api"}]


# --- PostgreSQL ------------------------------------------------------------------------------

def _plan(queryset) -> str:
    sql, params = queryset.order_by().query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def test_postgres_search_uses_the_tsvector_index(postgres, catalogue):
    queryset = search.ProductSearch("苹果").filter(Product.objects.all())
    assert "shops_product_search_tsv" in _plan(queryset)


def test_postgres_typo_correction_finds_the_catalogues_spelling(postgres, catalogue):
    matcher = search.ProductSearch("appel")  # a swap: one edit from apple
    assert matcher.corrections == {"appel": ["apple"]}
    assert "shops_product_search_tsv" in _plan(matcher.filter(Product.objects.all()))
    assert "Fuji apples from Qixia" in found("appel")


def test_known_words_are_not_corrected(catalogue):
    assert search.ProductSearch("apple").corrections == {}
    assert search.ProductSearch("appl").corrections == {}  # a prefix of a known word


def test_unknown_words_without_close_spellings_find_nothing(catalogue):
    matcher = search.ProductSearch("qwertyu")
    assert matcher.corrections == {}
    assert not matcher.filter(Product.objects.all()).exists()


def test_postgres_prefix_and_whole_terms(postgres, catalogue):
    assert "烟台红富士苹果" in found("pingg")
    assert "蒲公英茶" not in found("pg")
