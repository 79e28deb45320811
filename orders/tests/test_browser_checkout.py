"""Real-browser journey: fill a cart from two farms, check out, pay by card on the local Stripe server."""
import re
import time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD, AddressFactory, BuyerFactory
from orders.models import Order, Payment, ShopOrder, StripeEvent
from shops.tests.factories import ProductFactory, ShopFactory, VillageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username: str) -> None:
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/profile/")


def enter_card(page, number: str) -> None:
    """Type into the card element served by localstripe's Stripe.js stand-in (real Stripe.js mounts an iframe)."""
    card = page.locator("#card-element")
    card.get_by_placeholder("number").fill(number)
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("30")
    card.get_by_placeholder("cvc").fill("123")
    card.get_by_placeholder("postal_code").fill("310000")


def wait_for_processed_events(count: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while StripeEvent.objects.filter(processed_at__isnull=False).count() < count and time.monotonic() < deadline:
        time.sleep(0.1)


def test_buyer_pays_an_order_from_two_farms_by_card(browser_page, live_server, localstripe):
    localstripe.register_webhook(live_server.url + "/stripe/webhook/")
    buyer = BuyerFactory(username="citybuyer")
    AddressFactory(user=buyer, province="浙江省", city="杭州市", is_default=True)
    apples = ProductFactory(title="红富士苹果", price=Decimal("68.00"), stock=20,
                            shop=ShopFactory(name="绿源果园", village=VillageFactory(province="山东省")))
    tea = ProductFactory(title="龙井新茶", price=Decimal("120.00"), stock=5,
                         shop=ShopFactory(name="狮峰茶社", village=VillageFactory(province="浙江省")))
    page = browser_page
    sign_in(page, "citybuyer")

    for product in (apples, tea):
        page.goto(f"{page.base_url}/p/{product.pk}/")
        page.get_by_role("button", name="Add to cart").click()
        page.wait_for_load_state()
    page.goto(page.base_url + "/cart/")
    page.get_by_role("link", name="Check out").click()
    page.wait_for_url("**/checkout/")
    page.get_by_label("Online payment").check()
    page.get_by_role("button", name="Place order").click()

    page.wait_for_url(re.compile(r"/orders/\w+/pay/$"))
    order = Order.objects.get(buyer=buyer)
    assert order.status == Order.Status.PENDING_PAYMENT
    assert page.locator("h1").inner_text() == f"Pay for order {order.number}"
    # The card element served by localstripe's Stripe.js stand-in (a real Stripe.js mounts an iframe here).
    enter_card(page, "4242424242424242")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("button", name=f"Pay ¥{order.total}").click()

    # The page waits for Stripe's webhook, then opens the order page, which now says "Paid".
    page.wait_for_url(f"**/orders/{order.number}/", timeout=30000)
    wait_for_processed_events(1)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Payment.objects.get(order=order).status == Payment.Status.SUCCEEDED
    assert list(order.shop_orders.values_list("status", flat=True)) == [ShopOrder.Status.NEW] * 2
    assert "Paid" in page.locator("main").inner_text()


def test_declined_card_then_a_card_with_3d_secure(browser_page, live_server, localstripe):
    """An order placed earlier is paid from its order page: a decline is shown, another card asks for 3-D Secure."""
    from orders import services

    localstripe.register_webhook(live_server.url + "/stripe/webhook/")
    buyer = BuyerFactory(username="teabuyer")
    address = AddressFactory(user=buyer, province="浙江省")
    services.add_to_cart(cart=services.open_cart(user=buyer), product=ProductFactory(price=Decimal("45.50")),
                         quantity=2)
    order = services.place_order(buyer=buyer, address=address, payment_method=Order.PaymentMethod.STRIPE)
    page = browser_page
    sign_in(page, "teabuyer")
    page.goto(f"{page.base_url}/orders/{order.number}/")
    page.get_by_role("link", name="Pay now").click()
    page.wait_for_url(f"**/orders/{order.number}/pay/")

    enter_card(page, "4000000000000341")
    page.get_by_role("button", name=f"Pay ¥{order.total}").click()
    expect(page.locator("#pay-error")).to_have_text("Your card was declined.")
    expect(page.get_by_role("button", name=f"Pay ¥{order.total}")).to_be_enabled()
    wait_for_processed_events(1)
    assert Payment.objects.get(order=order).status == Payment.Status.FAILED

    page.locator("#card-element").get_by_placeholder("number").fill("4000002500003155")
    page.get_by_role("button", name=f"Pay ¥{order.total}").click()
    page.get_by_role("button", name="Complete authentication").click()  # localstripe's 3-D Secure prompt
    page.wait_for_url(f"**/orders/{order.number}/", timeout=30000)
    wait_for_processed_events(2)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert Payment.objects.get(order=order, status=Payment.Status.SUCCEEDED)
