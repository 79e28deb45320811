"""Real browser at phone size (360 px), in Chinese: the agent orders for a villager, checks the total, places the
order, then hands the parcel over when the villager brings the code."""
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import PASSWORD
from logistics.tests.factories import StationFactory, agent_at
from orders.models import Order
from shops.search import build_document
from shops.tests.factories import HarvestLotFactory, ProductFactory, ShopFactory, VillageFactory

from .test_assisted import delivered_to_station, wrong

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def _tall_enough(locator) -> None:
    box = locator.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44


def test_agent_orders_for_a_villager_and_hands_the_parcel_over_at_360px(browser_page):
    home = StationFactory(name="国路夼村服务站", villages=[VillageFactory(name="国路夼村", province="山东省")])
    agent = agent_at(home)
    farm_station = StationFactory(name="龙井村服务站", villages=[VillageFactory(name="龙井村", province="浙江省",
                                                                               city="杭州市")])
    title = "西湖龙井明前茶 250g"
    tea = ProductFactory(shop=ShopFactory(village=farm_station.villages.first()), title=title,
                         search_document=build_document(title=title), price=Decimal("168.00"), stock=5)
    HarvestLotFactory(product=tea)
    page = browser_page
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Username").fill(agent.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/profile/")
    page.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": page.base_url}])

    page.goto(page.base_url + "/agent/")
    page.get_by_role("link", name="为村民下单").click()
    page.wait_for_url("**/agent/villager-orders/")
    expect(page.get_by_text("还没有为村民下的订单。")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="为村民下单").click()
    page.wait_for_url("**/agent/villager-orders/new/")
    _fits(page)

    # Nothing picked, no number: the page says what is missing and keeps the form.
    page.get_by_role("button", name="核对总价").click()
    expect(page.get_by_text("请至少选择一件商品。")).to_be_visible()
    page.get_by_label("村民手机号").fill("13905350177")
    page.get_by_label("村民姓名").fill("王秀英")
    page.get_by_label("查找农产品").fill("龙井")
    page.get_by_role("button", name="搜索").click()
    quantity = page.get_by_label("西湖龙井明前茶 250g")
    expect(quantity).to_be_visible()
    _tall_enough(quantity)
    quantity.fill("2")
    page.get_by_role("button", name="核对总价").click()

    expect(page.get_by_role("heading", name="核对订单")).to_be_visible()
    expect(page.get_by_text("到站付现金")).to_be_visible()
    expect(page.get_by_text("应付现金总额")).to_be_visible()
    _fits(page)
    place = page.get_by_role("button", name="下单", exact=True)
    _tall_enough(place)
    place.click()

    order = Order.objects.get()
    page.wait_for_url(f"**/agent/villager-orders/{order.number}/")
    expect(page.get_by_text(f"¥{order.total}").first).to_be_visible()
    expect(page.get_by_role("heading", name="接下来")).to_be_visible()
    expect(page.get_by_text("应收现金")).to_be_visible()
    _fits(page)
    assert (order.payment_method, order.buyer.phone) == ("cod", "13905350177")

    # The parcel reaches the station; the villager tells a wrong code, then the right one, and pays.
    parcel = delivered_to_station(order, farm_station)
    page.reload()
    code_box = page.locator("input[name=code]")
    _tall_enough(code_box)
    code_box.fill(wrong(parcel.delivery_code))
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="交货").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    order.refresh_from_db()
    assert order.status == "pending_payment"
    code_box.fill(parcel.delivery_code)
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="交货").click()
    expect(page.get_by_text("已交货")).to_be_visible()
    order.refresh_from_db()
    assert order.status == "completed"
    _fits(page)
