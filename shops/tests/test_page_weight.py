"""Page weight on a phone: what a 360 px wide, DPR 2 Chromium downloads for the first screen of the catalogue.

Every response's encoded size (bytes on the wire, from the DevTools protocol) is summed until the network is idle,
without scrolling, as a buyer opening the page sees it. The figures are printed (`pytest -s`).
Budgets: home, category and search under 150 KB with 16 tiles of real (textured) photos; a product page under
120 KB.
"""
import datetime
from pathlib import Path

import pytest

from conftest import CHROMIUM, CHROMIUM_ARGS, require_service
from shops import images, search
from shops.demo_photos import demo_photo
from shops.models import Product

from .factories import CategoryFactory, ProductFactory, ShopFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTING_BUDGET = 150 * 1024
PRODUCT_BUDGET = 120 * 1024
TILES = 16


@pytest.fixture
def phone(live_server, monkeypatch):
    """Chromium, and the URL of the live server."""
    require_service("Chromium", Path(CHROMIUM).exists())
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser, live_server.url
        finally:
            browser.close()


def weigh(browser, url: str) -> tuple[int, dict[str, int], int]:
    """A first visit to the page on a 360x740 phone at DPR 2 (a new profile: empty cache, no service worker yet);
    (total bytes, bytes per URL, product tiles on the page) once the network is idle. A response's bytes are its
    headers and its encoded body, as they came over the network."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="en-US", service_workers="block")
    page = context.new_page()
    finished = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(300)  # lazy images that the first layout asked for
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    tiles = page.locator(".grid .tile").count()
    per_url = {}
    for request in finished:
        if request.url.startswith("data:"):
            continue  # inline placeholders: part of the page's HTML, already counted
        sizes = request.sizes()
        per_url[request.url] = sizes["responseHeadersSize"] + sizes["responseBodySize"]
    context.close()
    return sum(per_url.values()), per_url, tiles


def report(name: str, total: int, per_url: dict[str, int], base: str) -> None:
    photos = {u: s for u, s in per_url.items() if "/media/" in u}
    print(f"\n{name}: {total / 1024:.1f} KB in {len(per_url)} responses; photos {sum(photos.values()) / 1024:.1f} KB "
          f"in {len(photos)}")
    for url, size in sorted(per_url.items(), key=lambda item: -item[1]):
        print(f"  {size / 1024:7.1f} KB  {url.replace(base, '')}")


def add_photo(product: Product, seed: int, size=(640, 480)) -> None:
    images.add_product_image(product=product, actor=product.shop.owner,
                             upload=demo_photo(f"{product.category.slug} {product.title}", seed, size=size))


@pytest.fixture
def catalogue():
    """16 products with photos in one category: 8 older ones in season now (the home's "In season"), 8 newer ones
    out of season (its "New arrivals"), so the home page shows 16 different tiles."""
    month = datetime.date.today().month
    category = CategoryFactory(slug="apples", name_en="Apples", name_zh="苹果")
    shop = ShopFactory()
    products = []
    for n in range(TILES):
        in_season = n < TILES // 2
        months = [month] if in_season else [(month % 12) + 1]
        product = ProductFactory(shop=shop, category=category, title=f"红富士苹果 Fuji apples {n}",
                                 season_mask=Product.mask_for_months(months))
        Product.objects.filter(pk=product.pk).update(
            created_at=product.created_at - datetime.timedelta(days=TILES - n))
        add_photo(product, n)
        products.append(product)
    Product.objects.filter(pk__in=[p.pk for p in products]).update(
        search_document=search.build_document(title="红富士苹果", extra=["苹果", "Fuji", "apples"]))
    # The product page's product: a full-size phone photo as its cover and a second photo.
    featured = products[-1]
    featured.images.all().delete()
    add_photo(featured, 100, size=(960, 720))
    add_photo(featured, 101)
    return products


def test_catalogue_pages_stay_within_their_weight_budget_on_a_phone(phone, catalogue):
    browser, base = phone
    pages = {"home": "/", "category": "/c/apples/", "search": "/search/?q=苹果",
             "product": f"/p/{catalogue[-1].pk}/"}
    weights = {}
    for name, path in pages.items():
        total, per_url, tiles = weigh(browser, base + path)
        report(name, total, per_url, base)
        weights[name] = (total, per_url)
        assert tiles >= (TILES if name != "product" else 4), (name, tiles)
    print("\nPage weight at 360x740, DPR 2: " + ", ".join(f"{n} {w / 1024:.1f} KB" for n, (w, _) in weights.items()))

    for name in ("home", "category", "search"):
        total, per_url = weights[name]
        # Each tile takes its 320 px variant (AVIF or WebP), never the 640 px one.
        photos = [u for u in per_url if "/media/" in u]
        assert photos and all("-320-" in u for u in photos), photos
        assert total < LISTING_BUDGET, f"{name}: {total} bytes"
    total, per_url = weights["product"]
    assert total < PRODUCT_BUDGET, f"product: {total} bytes"
