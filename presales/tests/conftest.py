import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Every test makes several users; the production hasher's slowness is its point, not this suite's.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def card_payments_on(settings):
    """Card payment switched on without calling Stripe (for paths that only check the setting)."""
    settings.STRIPE_SECRET_KEY = "sk_test_presales_not_called"
