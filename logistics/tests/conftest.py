import pytest


@pytest.fixture(autouse=True)
def _card_payments_on(settings):
    # Orders paid online are marked paid as the webhook would; no call reaches Stripe in these tests.
    settings.STRIPE_SECRET_KEY = "sk_test_x"


@pytest.fixture
def station(db):
    from .factories import StationFactory

    return StationFactory()


@pytest.fixture
def agent(station):
    from .factories import agent_at

    return agent_at(station)
