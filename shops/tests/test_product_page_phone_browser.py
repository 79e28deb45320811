"""Real browser at 360 px: swipe the product photos, open one full screen, and keep the buy bar on screen down to
the reviews."""
import pytest
from playwright.sync_api import expect

from .factories import ProductFactory
from .test_product_page_phone import reviewed, with_photos

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEIGHT = 740  # the browser_page viewport: 360 x 740


def test_a_phone_swipes_the_photos_zooms_one_and_keeps_the_buy_bar_in_view(browser_page):
    product = ProductFactory(title="烟台红富士苹果", stock=50, description="<p>" + "脆甜多汁，果园现摘。" * 60 + "</p>")
    with_photos(product, 3)
    reviewed(product, 6)
    page = browser_page
    page.goto(f"{page.base_url}{product.get_absolute_url()}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    strip = page.locator(".gallery-strip")
    dots = page.locator(".gallery-dots a")
    expect(dots).to_have_count(3)
    expect(dots.nth(0)).to_have_attribute("aria-current", "true")
    for dot in range(3):
        box = dots.nth(dot).bounding_box()
        assert box["width"] >= 44 and box["height"] >= 44
    # A swipe: the strip scrolls sideways by a photo and snaps to the second one.
    strip.hover()
    page.mouse.wheel(200, 0)
    page.wait_for_function("() => document.querySelector('.gallery-strip').scrollLeft > 0")
    expect(dots.nth(1)).to_have_attribute("aria-current", "true")
    page.wait_for_function("() => { const s = document.querySelector('.gallery-strip');"
                           " return s.scrollLeft === s.clientWidth; }")
    assert page.evaluate("window.scrollY") == 0  # the page itself did not move
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # A tap on the photo in view opens its large version full screen, inside the page.
    page.locator("#photo-2 [data-zoom]").click()
    dialog = page.locator("dialog[open]")
    expect(dialog).to_be_visible()
    expect(dialog.locator("img")).to_have_attribute("src", f"/media/products/{product.pk}/p1-1280.webp")
    box = dialog.bounding_box()
    assert box["width"] >= 359 and box["height"] >= HEIGHT - 1
    dialog.get_by_role("button", name="Close").click()
    expect(page.locator("dialog[open]")).to_have_count(0)
    assert page.url.endswith(product.get_absolute_url())

    # The buy bar is on screen at the top of the page and still there at the reviews, with 44 px targets.
    bar = page.locator(".buybar")
    for where in ("#reviews", ".review:last-of-type"):
        page.locator(where).first.scroll_into_view_if_needed()
        box = bar.bounding_box()
        assert box["y"] >= 0 and box["y"] + box["height"] <= HEIGHT + 0.5, where
        assert page.evaluate("window.scrollY") > 0
    button = bar.get_by_role("button", name="Add to cart")
    expect(button).to_be_in_viewport()
    assert button.bounding_box()["height"] >= 44
    assert bar.locator("input[name=quantity]").bounding_box()["height"] >= 44
    expect(page.locator(".review").first).to_contain_text("review words 5")

    button.click()
    page.wait_for_load_state()
    expect(page.get_by_text(f"“{product.title}” is in your cart.")).to_be_visible()
