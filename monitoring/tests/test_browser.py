"""Real-browser journey: a farmer adds a sensor, the device posts readings, the farmer sees the chart."""
import json
import urllib.request
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.factories import PASSWORD
from monitoring.models import Sensor
from shops.tests.factories import ShopFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_farmer_adds_a_sensor_and_sees_its_readings(browser_page):
    page = browser_page
    shop = ShopFactory()
    page.goto(page.base_url + "/accounts/login/")
    page.get_by_label("Username").fill(shop.owner.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/profile/")

    page.get_by_role("link", name="Sensors").first.click()
    page.get_by_role("link", name="Add a sensor").click()
    page.get_by_label("Name").fill("Greenhouse air")
    page.get_by_label("Where it is").select_option(label=shop.name)
    page.get_by_label("Plot or field").fill("2 号大棚")
    page.get_by_label("Lowest acceptable value").fill("5")
    page.get_by_label("Highest acceptable value").fill("30")
    page.get_by_role("button", name="Add the sensor").click()
    key = page.get_by_label("Device key").input_value()
    sensor = Sensor.objects.get()
    assert sensor.key_matches(key)

    # The device sends an afternoon of readings, one of them too hot.
    start = timezone.now() - timedelta(hours=4)
    rows = [{"time": (start + timedelta(minutes=10 * i)).isoformat(), "value": 31.5 if i == 12 else 22 + i % 3}
            for i in range(24)]
    request = urllib.request.Request(page.base_url + "/api/v1/readings/", method="POST",
                                     data=json.dumps({"readings": rows}).encode(),
                                     headers={"Authorization": f"Device {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        assert json.load(response) == {"accepted": 24, "duplicates": 0}

    page.get_by_role("link", name="Go to the sensor").click()
    chart = page.locator("figure svg[role=img]")
    assert chart.is_visible() and chart.locator("polyline").count() == 1
    assert "31.5" in page.locator("main table").inner_text()  # the closed alert, with its worst value
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
