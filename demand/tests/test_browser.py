"""Real browser at phone size (360 px): a buyer posts a request, a farmer answers it, the buyer opens the offer;
the farmer's insights page fits the phone."""
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD, BuyerFactory
from demand.models import DemandPost, Offer
from shops.tests.factories import CategoryFactory, ProductFactory

from .factories import SearchLogFactory, sale

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, user) -> None:
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/profile/")


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()


def test_request_offer_and_insights_at_360px(browser_page):
    # Transactional tests may run after the migration's categories were flushed: make one.
    category = CategoryFactory(slug="citrus-test", name_en="Citrus test", name_zh="柑橘测试")
    buyer = BuyerFactory()
    product = ProductFactory(title="赣南脐橙 5kg", category=category)
    farmer = product.shop.owner
    page = browser_page

    sign_in(page, buyer)
    page.get_by_role("link", name="My requests").click()
    page.get_by_role("link", name="Post what you want").click()
    page.get_by_label("Category (optional)").select_option("citrus-test")
    page.get_by_label("What you want").fill("脐橙 果径75mm以上")
    page.get_by_label("Quantity", exact=True).fill("40")
    page.get_by_label("Unit", exact=True).select_option("box")
    page.get_by_label("Province", exact=True).fill("上海市")
    page.get_by_label("City", exact=True).fill("上海市")
    page.get_by_label("Needed by").fill((timezone.localdate() + timedelta(days=9)).isoformat())
    page.get_by_label("Price you would pay per unit (¥)").fill("60")
    page.get_by_role("button", name="Post my request").click()
    expect(page.get_by_role("heading", name="脐橙 果径75mm以上")).to_be_visible()
    post = DemandPost.objects.get()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    sign_out(page)

    sign_in(page, farmer)
    page.get_by_role("link", name="Demand board").click()
    expect(page.get_by_role("cell", name="Citrus test")).to_be_visible()
    page.get_by_role("link", name="脐橙 果径75mm以上").click()
    page.get_by_label("Your product").select_option(str(product.pk))
    page.get_by_label("Your price per unit (¥)").fill("58.00")
    page.get_by_label("Quantity you can supply").fill("40")
    page.get_by_role("button", name="Send my offer").click()
    expect(page.get_by_text("Your offer is sent.")).to_be_visible()
    assert Offer.objects.get().post == post
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    # The insights page: charts and tables stay inside the phone's width.
    sale(product=product, quantity=3, unit_price="58.00", at=timezone.now())
    SearchLogFactory(query="沃柑", category="citrus-test", count=4)
    page.goto(page.base_url + f"/seller/insights/{product.shop.slug}/")
    expect(page.get_by_role("img", name="Revenue by product")).to_be_visible()
    expect(page.get_by_role("cell", name="沃柑")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    sign_out(page)

    sign_in(page, buyer)
    page.goto(page.base_url + post.get_absolute_url())
    expect(page.get_by_text("¥58.00")).to_be_visible()
    page.get_by_role("link", name="See the product").click()
    page.wait_for_url(f"**{product.get_absolute_url()}")
