"""A real browser loads the main pages under the Content-Security-Policy without a single violation (finding 5):
nothing inline is left that the policy would block, Swagger UI included."""
import pytest

from shops.tests.factories import ProductFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pages_load_without_content_security_policy_violations(browser_page):
    product = ProductFactory()
    violations: list[str] = []
    browser_page.on("console", lambda message: violations.append(message.text)
                    if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text
                    else None)
    for path in ["/", product.get_absolute_url(), product.shop.get_absolute_url(), "/accounts/login/",
                 "/accounts/signup/", "/api/docs/"]:
        response = browser_page.goto(browser_page.base_url + path)
        assert response.status < 400, path
        assert "Content-Security-Policy" in response.headers or "content-security-policy" in response.headers
        browser_page.wait_for_load_state("networkidle")
    browser_page.wait_for_selector(".swagger-ui .info")  # Swagger UI started from its script file
    assert not violations, "\n".join(violations)
