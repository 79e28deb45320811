"""Real-browser journey: sign up as a buyer, sign out and in, switch to Chinese."""
import pytest

from accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_up_sign_in_and_switch_to_chinese(browser_page):
    page = browser_page
    page.goto(page.base_url + "/")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Buy produce").check()
    page.get_by_label("Username").fill("citybuyer")
    page.get_by_label("Your name").fill("周小红")
    page.get_by_label("Email").fill("citybuyer@example.com")
    page.get_by_label("Password", exact=True).fill("morning-market-7")
    page.get_by_label("Password again").fill("morning-market-7")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url("**/accounts/profile/")
    assert User.objects.get(username="citybuyer").role == "buyer"

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Sign in").first.click()
    page.get_by_label("Username").fill("citybuyer")
    page.get_by_label("Password").fill("morning-market-7")
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/accounts/profile/")
    assert "citybuyer" in page.locator("main").inner_text()

    page.get_by_role("button", name="简体中文").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert "我的账户" in page.locator("h1").inner_text()
    assert "退出" in page.locator("footer").inner_text()  # sign out: in the footer and the header menu

    # Readable at 360 px: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
