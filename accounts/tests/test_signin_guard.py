"""Sign-in lockout that cannot be used against a victim (finding 2).

Behind the load balancer (TRUSTED_PROXY_COUNT=1) each client is its own address. A guesser locks out only its
own (username, address) pair; the per-username back-off is a growing wait, never a lock, and the user's own
addresses skip it; one address guessing many usernames is capped.
"""
import pytest

from accounts import signin
from core.throttling import ScopedRateThrottle

from .factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token/"
LB = "10.0.0.2"


@pytest.fixture(autouse=True)
def behind_the_balancer(settings, monkeypatch):
    # The API's per-address throttle (20/min) would stop these loops first; the guard is under test here.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES, "auth": "1000/min"})
    settings.TRUSTED_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 5
    settings.SIGNIN_BACKOFF_AFTER = 10
    settings.SIGNIN_BACKOFF_MAX_SECONDS = 300
    settings.SIGNIN_ADDRESS_FAILURE_LIMIT = 30


@pytest.fixture
def clock(monkeypatch):
    """The guard's clock, moved by hand."""
    class Clock:
        t = 1_000_000.0

        def advance(self, seconds: float) -> None:
            self.t += seconds

    c = Clock()
    monkeypatch.setattr(signin, "now", lambda: c.t)
    return c


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", is_staff=True, is_superuser=True)


def token_from(api_client, address: str, username: str, password: str):
    return api_client.post(TOKEN, {"username": username, "password": password}, REMOTE_ADDR=LB,
                           HTTP_X_FORWARDED_FOR=f"6.6.6.6, {address}")


def web_login_from(client, address: str, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=LB,
                       HTTP_X_FORWARDED_FOR=address)


def test_an_attacker_cannot_keep_admin_out(api_client, client, admin_user, clock):
    for _ in range(40):  # far past every limit, from one address
        token_from(api_client, "198.51.100.66", "admin", "guess-guess")
    assert token_from(api_client, "198.51.100.66", "admin", PASSWORD).status_code == 429  # the guesser is locked
    # The admin, from their own address, with the right password: signed in, on the API and on the site.
    assert token_from(api_client, "203.0.113.10", "admin", PASSWORD).status_code == 200
    assert web_login_from(client, "203.0.113.10", "admin", PASSWORD).status_code == 302


def test_the_lockout_counts_the_real_client_not_the_balancer(api_client, admin_user, clock):
    for n in range(5):
        token_from(api_client, f"198.51.100.{n + 1}", "admin", "guess-guess")  # five attackers, one failure each
    assert token_from(api_client, "203.0.113.10", "admin", PASSWORD).status_code == 200


def test_the_username_back_off_is_a_growing_wait_not_a_lock(api_client, admin_user, clock):
    # Many addresses, each under the per-address lockout: the username slows down.
    for n in range(10):
        assert token_from(api_client, f"198.51.100.{n + 1}", "admin", "guess-guess").status_code == 400
    refused = token_from(api_client, "203.0.113.10", "admin", PASSWORD)
    assert refused.status_code == 429 and refused["Retry-After"] == "1"
    assert "wait 1 second" in refused.json()["detail"]
    clock.advance(1)
    # After the wait the attempt is checked as usual: a wrong one doubles the next wait ...
    assert token_from(api_client, "198.51.100.20", "admin", "guess-guess").status_code == 400
    assert token_from(api_client, "203.0.113.10", "admin", PASSWORD)["Retry-After"] == "2"
    clock.advance(2)
    # ... and the right password signs in.
    assert token_from(api_client, "203.0.113.10", "admin", PASSWORD).status_code == 200


def test_the_back_off_never_exceeds_its_maximum():
    assert signin.backoff_seconds(9) == 0
    assert [signin.backoff_seconds(n) for n in (10, 11, 12)] == [1, 2, 4]
    assert signin.backoff_seconds(100) == 300


def test_an_address_the_user_signed_in_from_skips_the_back_off(api_client, admin_user, clock):
    assert token_from(api_client, "203.0.113.10", "admin", PASSWORD).status_code == 200
    for n in range(16):
        token_from(api_client, f"198.51.100.{n + 1}", "admin", "guess-guess")
    assert token_from(api_client, "203.0.113.99", "admin", PASSWORD).status_code == 429  # a new place waits
    assert token_from(api_client, "203.0.113.10", "admin", PASSWORD).status_code == 200  # home does not


def test_refused_attempts_do_not_count_against_the_address(api_client, admin_user, clock):
    for n in range(10):
        token_from(api_client, f"198.51.100.{n + 1}", "admin", "guess-guess")
    for _ in range(6):  # the owner retries too early, six times
        assert token_from(api_client, "203.0.113.10", "admin", PASSWORD).status_code == 429
    clock.advance(2)
    assert token_from(api_client, "203.0.113.10", "admin", PASSWORD).status_code == 200


def test_one_address_cannot_spray_many_usernames(api_client, clock):
    victim = UserFactory(username="victim")
    for n in range(30):
        assert token_from(api_client, "198.51.100.66", f"user-{n}", "guess-guess").status_code == 400
    capped = token_from(api_client, "198.51.100.66", victim.username, PASSWORD)
    assert capped.status_code == 429 and int(capped["Retry-After"]) > 60
    assert "from your network" in capped.json()["detail"]
    # Everyone else signs in; the sprayer waits for the window to pass.
    assert token_from(api_client, "203.0.113.10", victim.username, PASSWORD).status_code == 200
    clock.advance(15 * 60)
    assert token_from(api_client, "198.51.100.66", victim.username, PASSWORD).status_code == 200


def test_web_sign_in_shows_the_wait_on_a_page(client, admin_user, clock):
    for n in range(10):
        web_login_from(client, f"198.51.100.{n + 1}", "admin", "guess-guess")
    page = web_login_from(client, "203.0.113.10", "admin", PASSWORD)
    assert page.status_code == 429 and page["Retry-After"] == "1"
    assert "many failed sign-ins" in page.content.decode()
