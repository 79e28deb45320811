"""Product tiles kept as fragments per process: a changed product re-renders its own tile, nothing else."""
from decimal import Decimal

import pytest

from shops import cache, services, tiles
from shops.models import Category

from .factories import ProductFactory, ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rendered(monkeypatch):
    """The products whose tile was rendered (not taken from the fragments), in order."""
    seen: list[int] = []
    render = tiles.render_tile

    def recording(product, words):
        seen.append(product.pk)
        return render(product, words)

    monkeypatch.setattr(tiles, "render_tile", recording)
    return seen


@pytest.fixture
def apples():
    shop = ShopFactory(name="青山农场")
    category = Category.objects.get(slug="apples")
    return [ProductFactory(shop=shop, category=category, title=f"苹果 {n}", price=Decimal("10.00") + n, stock=50)
            for n in range(3)]


def page(client, n: int, **extra) -> str:
    """The apples category, newest first, with a query string the page cache has never seen."""
    response = client.get("/c/apples/", {"sort": "newest", "n": str(n)}, **extra)
    assert response.status_code == 200 and response["X-Catalogue-Cache"] == "miss"
    return response.content.decode()


def test_a_page_the_page_cache_misses_takes_every_tile_from_the_fragments(client, apples, rendered):
    first = page(client, 1)
    assert sorted(rendered) == sorted(p.pk for p in apples)
    rendered.clear()
    second = page(client, 2)
    assert rendered == []
    assert second.count('<li class="tile">') == 3 and all(p.title in second for p in apples)
    # The same tiles: the page differs only where its query string shows.
    assert first.split('<ul class="grid">')[1].split("</ul>")[0] == second.split('<ul class="grid">')[1].split(
        "</ul>")[0]


def test_a_price_change_renders_that_tile_again_and_no_other(client, apples, rendered):
    page(client, 1)
    rendered.clear()
    changed = apples[1]
    services.set_price_and_stock(product=changed, actor=changed.shop.owner, price=Decimal("99.50"))
    body = page(client, 2)
    assert rendered == [changed.pk]
    assert "¥99.50" in body and "¥11.00" not in body


def test_selling_out_shows_on_the_tile(client, apples, rendered):
    page(client, 1)
    rendered.clear()
    gone = apples[0]
    services.set_price_and_stock(product=gone, actor=gone.shop.owner, stock=0)
    body = page(client, 2)
    assert rendered == [gone.pk] and body.count("Sold out") == 1


def test_a_shop_rename_renders_its_tiles_again(client, apples, rendered):
    page(client, 1)
    rendered.clear()
    shop = apples[0].shop
    services.update_shop(shop=shop, actor=shop.owner, name="绿水农场")
    body = page(client, 2)
    assert sorted(rendered) == sorted(p.pk for p in apples)
    assert "绿水农场" in body and "青山农场" not in body


def test_each_language_has_its_own_tiles(client, apples, rendered):
    english = page(client, 1, HTTP_ACCEPT_LANGUAGE="en")
    rendered.clear()
    chinese = page(client, 2, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert sorted(rendered) == sorted(p.pk for p in apples)
    unit_en, unit_zh = (body.split('<small>/ ')[1].split("</small>")[0] for body in (english, chinese))
    assert unit_en != unit_zh


def test_only_the_first_row_loads_its_photos_at_once_also_from_the_fragments(client, apples):
    from .test_views import with_photos

    for product in apples:
        with_photos(product)
    for n in (1, 2):  # rendered, then from the fragments
        body = page(client, n)
        images = body.split('<img class="thumb"')[1:]
        assert ['loading="lazy"' in image.split(">")[0] for image in images] == [False, False, True]


def test_a_change_while_rows_are_read_leaves_the_fragment_stale_not_wrong(client, apples, rendered, monkeypatch):
    """Versions are read before the rows: a product changed after that read, but before its row is, gets its
    tile kept under the older version, so the next page renders it again."""
    changed = apples[2]
    listed = tiles.selectors.listed_products

    def changing_meanwhile():
        cache.product_changed(product_id=changed.pk)
        return listed()

    monkeypatch.setattr(tiles.selectors, "listed_products", changing_meanwhile)
    page(client, 1)
    monkeypatch.setattr(tiles.selectors, "listed_products", listed)
    rendered.clear()
    page(client, 2)
    assert rendered == [changed.pk]


def test_a_product_withdrawn_between_the_two_reads_is_left_out(apples):
    grid = tiles.TileGrid([p.pk for p in apples])
    gone = apples[1]
    services.withdraw_product(product=gone, actor=gone.shop.owner)
    html = grid.html()
    assert html.count('<li class="tile">') == 2 and gone.title not in html


def test_the_fragments_keep_the_most_recently_used():
    kept = tiles.Fragments(size=2)
    kept.put_many([(("en", 1), (1, 1), "one"), (("en", 2), (1, 1), "two")])
    assert kept.get_many([("en", 1)], [(1, 1)]) == ["one"]  # 1 is now the most recent
    kept.put_many([(("en", 3), (1, 1), "three")])
    assert kept.get_many([("en", 1), ("en", 2), ("en", 3)], [(1, 1)] * 3) == ["one", None, "three"]
    assert kept.get_many([("en", 1)], [(1, 2)]) == [None]  # another version: not served

