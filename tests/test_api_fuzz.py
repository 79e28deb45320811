"""Every API operation, fed generated input by schemathesis from our own OpenAPI schema: never a server error,
and only status codes the schema documents.

Schemathesis 4 runs in-process against the WSGI application (`schemathesis.openapi.from_wsgi`), on the test
database, anonymously and with a buyer's token. Checks enabled: `not_a_server_error` (no 5xx) and
`status_code_conformance` (every status is documented; core.schema adds 400/401/403/404/413/429 everywhere).
Response-body conformance is left out: several list endpoints document a looser shape than they send.

Both valid (positive) and invalid (negative) input is generated. A bounded run: FUZZ_EXAMPLES examples per
operation (default 5), no shrinking, a fixed seed, so the whole file takes about two minutes. Raise FUZZ_EXAMPLES
locally to dig deeper (25 examples: no failure either, about four minutes).
"""
import os

import pytest
from hypothesis import HealthCheck, Phase, given, seed
from hypothesis import settings as hypothesis_settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.tests.factories import AddressFactory, BuyerFactory
from shops.tests.factories import ProductFactory

schemathesis = pytest.importorskip("schemathesis")
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import status_code_conformance  # noqa: E402

# Committed transactions, as in production: requests reach the WSGI handler directly, which closes a connection
# that is inside a test's transaction (autocommit off) after each request on PostgreSQL.
pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
CHECKS = [not_a_server_error, status_code_conformance]
# Operations that end the buyer's own token would leave the rest of the run unauthenticated.
KEEPS_THE_TOKEN = ("/api/v1/auth/logout/", "/api/v1/auth/logout-all/", "/api/v1/auth/token/refresh/",
                   "/api/v1/auth/password/")


@pytest.fixture
def api_schema(settings, monkeypatch):
    from config.wsgi import application

    settings.ALLOWED_HOSTS = ["*"]
    # Rate limits would answer most generated requests with 429 (documented, but it tests nothing).
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES",
                        dict.fromkeys(SimpleRateThrottle.THROTTLE_RATES, "1000000/min"))
    settings.RATE_LIMIT_SIGNUP = settings.RATE_LIMIT_PASSWORD_RESET = "1000000/h"
    settings.SIGNIN_ADDRESS_FAILURE_LIMIT = 1_000_000
    product = ProductFactory()
    AddressFactory()
    assert product.pk
    return schemathesis.openapi.from_wsgi("/api/schema/", application)


def fuzz(schema, *, headers: dict | None = None, skip: tuple[str, ...] = ()) -> list[str]:
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in skip:
            continue

        @seed(20261201)
        @hypothesis_settings(max_examples=EXAMPLES, deadline=None, database=None,
                             phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE))
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every operation's failures
            failures.append(f"{operation.label}: {str(exc).strip()[:1500]}")
    return failures


def test_no_server_error_and_documented_statuses_for_anonymous_clients(api_schema):
    failures = fuzz(api_schema)
    assert not failures, "\n\n".join(failures)


def test_no_server_error_and_documented_statuses_for_a_buyer(api_schema):
    from accounts import services

    token, _expiry = services.issue_token(user=BuyerFactory())
    failures = fuzz(api_schema, headers={"Authorization": f"Token {token}"}, skip=KEEPS_THE_TOKEN)
    assert not failures, "\n\n".join(failures)
