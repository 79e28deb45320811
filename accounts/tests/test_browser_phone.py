"""Real browser at 360 px: a farmer signs up with a mobile number and the SMS code, no e-mail, no password."""
import json
import re

import pytest
from playwright.sync_api import expect

from accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_farmer_signs_up_by_phone_at_360px(browser_page, settings, tmp_path):
    settings.SMS_BACKEND = "notifications.channels.FileSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path)
    page = browser_page
    page.goto(page.base_url + "/accounts/signup/")
    page.get_by_label("Sell my farm's produce").check()
    page.get_by_label("Your name").fill("王秀英")
    page.get_by_label("Mobile number").fill("138 0013 8000")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.get_by_role("main").get_by_role("button", name="Sign up").click()

    page.wait_for_url(re.compile(r"/accounts/login/code/enter/"))
    expect(page.get_by_text("We sent a 6-digit code by SMS to 13800138000.")).to_be_visible()
    with open(tmp_path / "sms.jsonl", encoding="utf-8") as handle:
        sms = json.loads(handle.readlines()[-1])
    assert sms["to"] == "13800138000"
    code_box = page.get_by_label("6-digit code")
    assert code_box.bounding_box()["height"] >= 44
    code_box.fill(re.search(r"\b(\d{6})\b", sms["text"]).group(1))
    page.get_by_role("main").get_by_role("button", name="Sign in").click()

    page.wait_for_url("**/seller/open-shop/")
    user = User.objects.get(phone="13800138000")
    assert (user.is_active, user.role, user.email) == (True, "farmer", "")
