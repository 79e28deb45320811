"""Real browser at phone size (360 px): the agent registers a farmer without a smartphone with a signed paper form,
acts for them on their shop pages under the "Acting for" banner, and stops."""
import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD
from shops.tests.factories import ShopFactory
from stations.models import ActivityEntry, AssistedFarmer

from .behalf import jpeg, station_with_agent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_agent_registers_a_farmer_on_paper_and_acts_for_them_at_360px(browser_page, tmp_path):
    station, agent = station_with_agent()
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(jpeg().read())
    page = browser_page
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Username").fill(agent.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/profile/")

    page.goto(page.base_url + "/agent/")
    page.get_by_role("link", name="Farmers of the station").click()
    page.wait_for_url("**/agent/farmers/")
    expect(page.get_by_text("No farmers registered yet.")).to_be_visible()
    _fits(page)
    page.get_by_role("link", name="Register a farmer").click()
    page.get_by_label("Farmer's name").fill("王德福")
    page.get_by_label("Mobile number").fill("139 0535 0101")
    page.get_by_label("Village").select_option(str(station.villages.first().pk))
    page.get_by_label("Photo of the farmer's ID card").set_input_files(str(photo))
    page.get_by_label("Signed paper form").check()
    page.get_by_label("Photo of the signed consent form").set_input_files(str(photo))
    _fits(page)
    page.get_by_role("button", name="Register").click()

    expect(page.get_by_text("王德福 is registered and their consent is recorded.")).to_be_visible()
    record = AssistedFarmer.objects.get()
    assert record.consent == "given" and record.consent_method == "paper"
    shop = ShopFactory(owner=record.farmer, village=record.village, name="王大爷家的苹果园")
    act = page.get_by_role("button", name="Act for 王德福")
    assert act.bounding_box()["height"] >= 44
    expect(page.get_by_text("Recorded your consent")).to_be_visible()
    _fits(page)
    act.click()

    page.wait_for_url("**/seller/")
    expect(page.get_by_text("Acting for 王德福", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name=shop.name)).to_be_visible()
    stop = page.get_by_role("button", name="Stop", exact=True)
    box = stop.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44
    _fits(page)
    page.get_by_role("link", name=shop.name).click()
    page.get_by_role("link", name="Edit shop").first.click()
    page.get_by_label("Description").fill("由村服务站代为经营。")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Acting for 王德福", exact=True)).to_be_visible()
    assert ActivityEntry.objects.filter(owner=record.farmer, actor=agent,
                                        view_name="shops:seller_shop_edit").count() == 1

    page.get_by_role("button", name="Stop", exact=True).click()
    page.wait_for_url(f"**/agent/farmers/{record.farmer_id}/")
    expect(page.get_by_text("Acting for 王德福", exact=True)).to_have_count(0)
    expect(page.get_by_text("Edited a shop")).to_be_visible()
