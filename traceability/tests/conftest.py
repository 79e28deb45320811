import pytest


@pytest.fixture(autouse=True)
def _card_payments_on(settings):
    # Orders paid online are marked paid as the webhook would; no call reaches Stripe in these tests.
    settings.STRIPE_SECRET_KEY = "sk_test_x"


@pytest.fixture
def station(db):
    from logistics.tests.factories import StationFactory

    return StationFactory(cold_store=True)


@pytest.fixture
def agent(station):
    from logistics.tests.factories import agent_at

    return agent_at(station)


@pytest.fixture
def validator():
    from .helpers import schema_validator

    return schema_validator()
