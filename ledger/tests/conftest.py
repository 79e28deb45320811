import pytest


@pytest.fixture(autouse=True)
def _card_payments_on(settings):
    # Card orders are paid as the webhook would say (tests.helpers.pay_by_card); refunds use fake_stripe_refunds
    # or localstripe (the end-to-end test points these settings at it).
    if not settings.STRIPE_SECRET_KEY:
        settings.STRIPE_SECRET_KEY = "sk_test_x"
