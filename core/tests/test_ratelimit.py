"""The cache-based limiter behind the sign-up and password-reset limits (finding 7)."""
import pytest

from core import ratelimit


@pytest.mark.parametrize("rate, parsed", [("5/h", (5, 3600)), ("10/hour", (10, 3600)), ("30/15m", (30, 900)),
                                          ("100/d", (100, 86400)), ("3 / min", (3, 60))])
def test_rates_read_like_drfs(rate, parsed):
    assert ratelimit.parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["", "5", "five/h", "5/week"])
def test_a_bad_rate_is_refused(rate):
    with pytest.raises(ValueError):
        ratelimit.parse_rate(rate)


def test_a_window_allows_the_rate_then_refuses_until_it_ends():
    now = 7200.0
    verdicts = [ratelimit.hit("t", "203.0.113.7", "2/h", now=now + n) for n in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[2].retry_after == 3600 - 2
    assert ratelimit.hit("t", "203.0.113.8", "2/h", now=now).allowed  # another key has its own count
    assert ratelimit.hit("t", "203.0.113.7", "2/h", now=now + 3600).allowed  # the next window
