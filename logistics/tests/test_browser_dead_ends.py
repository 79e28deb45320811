"""Real browser at phone width: a sign-in merge undone at checkout, one new-address control, the inbox and a
blocked pack form that fit 320 px, with buttons big enough to tap."""
import datetime

import pytest
from django.utils import timezone

from accounts.tests.factories import PASSWORD, BuyerFactory
from notifications.tests.factories import NotificationFactory
from orders.models import Cart
from orders.tests.factories import fill_cart
from shops.models import HarvestLot, InputApplication
from shops.tests.factories import ProductFactory

from .factories import StationFactory, ready_part

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def sign_in(page, username: str, next_url: str) -> None:
    page.goto(f"{page.base_url}/accounts/login/?next={next_url}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{next_url}")


def test_phone_flows_leave_nobody_stuck(browser_page):
    page = browser_page
    buyer = BuyerFactory(username="midcheckout")
    eggs, old = ProductFactory(title="土鸡蛋", stock=30), ProductFactory(title="旧白菜", stock=30)
    fill_cart(buyer, (eggs, 1), (old, 4))

    # A visitor fills a cart, signs in at checkout: the merge is listed and Undo gives their cart back.
    page.goto(f"{page.base_url}/p/{eggs.pk}/")
    page.get_by_label("Quantity").first.fill("2")
    page.get_by_role("button", name="Add to cart").first.click()
    page.wait_for_load_state()
    sign_in(page, "midcheckout", "/checkout/")
    notice = page.locator(".cart-merged")
    assert "Added from your saved cart: 旧白菜 × 4" in notice.inner_text()
    assert "Quantity raised: 土鸡蛋 from 2 to 3" in notice.inner_text()
    undo = notice.get_by_role("button", name="Undo")
    box = undo.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    undo.click()
    page.wait_for_url("**/checkout/")
    assert dict(Cart.objects.get(user=buyer).items.values_list("product", "quantity")) == {eggs.pk: 2}
    assert page.locator(".cart-merged").count() == 0

    # One control for a new address: the radio; its fields show when it is chosen.
    assert page.get_by_text("New address", exact=True).count() == 0
    new = page.get_by_label("A new address")
    assert new.count() == 1 and new.is_checked()  # no saved address yet
    assert page.locator("#new-address").is_visible()
    page.set_viewport_size({"width": 320, "height": 700})
    assert page.evaluate(OVERFLOW) <= 0

    # The inbox at 320 px: a long link written into an old message wraps; a link is a button.
    NotificationFactory(recipient=buyer, subject="Parcel P123 is on its way",
                        body="Follow it at https://farmgate.example/track/PXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
                        link="/orders/")
    page.goto(page.base_url + "/inbox/")
    assert page.evaluate(OVERFLOW) <= 0
    button = page.locator(".inbox .button").first
    assert button.bounding_box()["height"] >= 44

    # A farmer whose only lot is inside its pre-harvest interval is told why and what to do.
    part = ready_part(StationFactory())
    lot = part.lines.get().product.lots.get()
    applied = timezone.localdate() - datetime.timedelta(days=1)
    InputApplication.objects.create(lot=lot, kind=InputApplication.Kind.PESTICIDE, product_name="吡虫啉",
                                    applied_on=applied, dose="10 g/亩", pre_harvest_interval_days=7)
    HarvestLot.objects.filter(pk=lot.pk).update(phi_violation=True)
    page.context.clear_cookies()
    owner = part.shop.owner
    owner.set_password(PASSWORD)
    owner.save()
    sign_in(page, owner.username, f"/seller/orders/{part.pk}/pack/")
    blocked = page.locator(".pack-blocked")
    assert f"Lot {lot.code} is inside its pre-harvest interval until" in blocked.inner_text()
    assert blocked.get_by_role("link", name="Record a harvest lot").bounding_box()["height"] >= 44
    assert page.evaluate(OVERFLOW) <= 0
