import pytest


@pytest.fixture
def card_payments_on(settings):
    """Card payment switched on without calling Stripe (for paths that only check the setting)."""
    settings.STRIPE_SECRET_KEY = "sk_test_presales_not_called"
