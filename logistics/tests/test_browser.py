"""Real browser at phone size (360 px): the agent receives a parcel by typing its code."""
import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD
from logistics.models import Parcel

from .factories import StationFactory, agent_at, handed_over, mistype

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_receives_a_parcel_by_typing_its_code_at_360px(browser_page):
    station = StationFactory(name="国路夼村服务站")
    agent = agent_at(station)
    parcel = handed_over(station)
    page = browser_page
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Username").fill(agent.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/profile/")

    page.get_by_role("link", name="My station").click()
    page.wait_for_url("**/agent/")
    expect(page.get_by_role("heading", name="国路夼村服务站")).to_be_visible()
    expect(page.get_by_text(parcel.code)).to_be_visible()  # expected today
    code_box = page.get_by_label("Parcel code")
    expect(code_box).to_be_focused()
    receive = page.get_by_role("button", name="Receive", exact=True)
    box = receive.bounding_box()
    assert box["height"] >= 48 and box["width"] >= 280  # a big target across the card, even with gloves

    # One wrong character: the check character catches it and says so, next to the field.
    code_box.fill(mistype(parcel.code))
    receive.click()
    expect(page.get_by_role("alert").filter(has_text="not a valid parcel code")).to_be_visible()
    assert Parcel.objects.get().status == "expected"

    page.get_by_label("Parcel code").fill(parcel.code.lower())
    page.get_by_role("button", name="Receive", exact=True).click()
    expect(page.get_by_text(f"Parcel {parcel.code} received.")).to_be_visible()
    assert Parcel.objects.get().status == "received"
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
