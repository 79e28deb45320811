"""Rate limits per client address on password reset and sign-up, web and API (finding 7)."""
import pytest
from django.core import mail

from core.throttling import ScopedRateThrottle

from .factories import BuyerFactory

pytestmark = pytest.mark.django_db
LB = "10.0.0.2"


@pytest.fixture(autouse=True)
def behind_the_balancer(settings, monkeypatch):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RATE_LIMIT_PASSWORD_RESET = "3/h"
    settings.RATE_LIMIT_SIGNUP = "2/h"
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES, "auth": "1000/min"})


def reset_from(client, address: str, email: str):
    return client.post("/accounts/password/reset/", {"email": email}, REMOTE_ADDR=LB,
                       HTTP_X_FORWARDED_FOR=f"6.6.6.{len(mail.outbox)}, {address}")


def test_password_reset_is_limited_per_address(client):
    BuyerFactory(email="a@example.com")
    codes = [reset_from(client, "198.51.100.7", f"nobody{n}@example.com").status_code for n in range(3)]
    assert codes == [302, 302, 302]
    refused = reset_from(client, "198.51.100.7", "a@example.com")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many attempts" in refused.content.decode()
    assert not mail.outbox
    # Another client is not held back.
    assert reset_from(client, "203.0.113.5", "a@example.com").status_code == 302
    assert len(mail.outbox) == 1


def test_password_reset_cannot_flood_one_mailbox_from_many_addresses(client):
    BuyerFactory(email="victim@example.com")
    for n in range(6):
        assert reset_from(client, f"198.51.100.{n + 1}", "victim@example.com").status_code == 302
    assert len(mail.outbox) == 3  # the same answer every time, but only three e-mails


def test_web_sign_up_is_limited_per_address(client):
    def sign_up(n, address="198.51.100.7"):
        return client.post("/accounts/signup/", {"role": "buyer", "username": f"new{n}", "email": f"n{n}@example.com",
                                                 "password1": "golden-rice-88", "password2": "golden-rice-88"},
                           REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR=address)

    assert sign_up(1).status_code == 302
    client.logout()
    assert sign_up(2).status_code == 302
    client.logout()
    refused = sign_up(3)
    assert refused.status_code == 429 and "Too many attempts" in refused.content.decode()
    assert sign_up(4, address="203.0.113.5").status_code == 302


def test_api_sign_up_is_limited_per_address(api_client):
    def register(n, address="198.51.100.7"):
        return api_client.post("/api/v1/auth/register/", {"username": f"api{n}", "email": f"api{n}@example.com",
                                                          "password": "plum-blossom-9", "role": "buyer"},
                               REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR=address)

    assert [register(n).status_code for n in range(2)] == [201, 201]
    refused = register(3)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0 and "detail" in refused.json()
    assert register(4, address="203.0.113.5").status_code == 201
