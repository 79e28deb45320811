"""Real-browser journeys at phone size: pre-order a coming harvest and authorise the card (3-D Secure included),
and join a buying group through its share link, against the local Stripe server and its Stripe.js stand-in."""
import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD, AddressFactory, BuyerFactory
from presales.models import BuyingGroup, GroupMember, PreOrder

from .factories import make_deal, make_presale, start

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username: str) -> None:
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/profile/")


def enter_card(page, number: str) -> None:
    card = page.locator("#card-element")
    card.get_by_placeholder("number").fill(number)
    card.get_by_placeholder("exp_month").fill("12")
    card.get_by_placeholder("exp_year").fill("30")
    card.get_by_placeholder("cvc").fill("123")
    card.get_by_placeholder("postal_code").fill("310000")


def test_preorder_a_harvest_and_authorise_the_card_with_3d_secure(browser_page, localstripe):
    presale = make_presale(capacity=10)
    buyer = BuyerFactory(username="harvestbuyer")
    AddressFactory(user=buyer, is_default=True)
    page = browser_page
    sign_in(page, "harvestbuyer")

    page.goto(page.base_url + presale.get_absolute_url())
    expect(page.get_by_label("10 units left")).to_be_visible()
    page.get_by_label("Quantity").fill("2")
    page.get_by_label("Card: authorised now, charged when the farm ships").check()
    page.get_by_role("button", name="Place pre-order").click()
    page.wait_for_url("**/presales/hold/*/")
    pre = PreOrder.objects.get(buyer=buyer)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    enter_card(page, "4000002500003155")  # asks for 3-D Secure
    page.get_by_role("button", name=f"Reserve ¥{pre.order.total}").click()
    page.get_by_role("button", name="Complete authentication").click()  # localstripe's 3-D Secure prompt
    page.wait_for_url(f"**{pre.get_absolute_url()}", timeout=30000)
    expect(page.locator("main")).to_contain_text("Card authorised, charged when shipped")
    pre.refresh_from_db()
    assert pre.status == PreOrder.Status.AUTHORISED


def test_join_a_group_from_its_share_link_and_fill_it(browser_page, localstripe, settings):
    first = start(make_deal(size=2))
    from presales import services

    services.authorise_card(order=first.order, payment_method="pm_card_visa")
    buyer = BuyerFactory(username="groupbuyer")
    AddressFactory(user=buyer, is_default=True)
    page = browser_page
    sign_in(page, "groupbuyer")

    page.goto(page.base_url + first.group.get_absolute_url())
    expect(page.get_by_label("1 place left")).to_be_visible()
    page.get_by_role("button", name="Join and authorise card").click()
    page.wait_for_url("**/presales/hold/*/")
    member = GroupMember.objects.get(buyer=buyer)
    enter_card(page, "4242424242424242")
    page.get_by_role("button", name=f"Reserve ¥{member.order.total}").click()
    page.wait_for_url(f"**{first.group.get_absolute_url()}", timeout=30000)
    expect(page.locator("main")).to_contain_text("Complete")
    assert BuyingGroup.objects.get(pk=first.group_id).status == BuyingGroup.Status.FILLED
    member.refresh_from_db()
    assert member.status == GroupMember.Status.CONFIRMED
