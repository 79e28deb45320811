"""The client address (finding 1): one function, fed by TRUSTED_PROXY_COUNT, used by throttles, the lockout
and the logs; a client choosing its own X-Forwarded-For gets nothing from it."""
import logging

import pytest
from axes.helpers import get_client_ip_address
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.throttling import AnonRateThrottle as DRFAnonRateThrottle

from core.net import ClientAddressFilter, client_ip
from core.throttling import AnonRateThrottle

LB = "10.0.0.2"
CASES = [
    # (trusted proxies, X-Forwarded-For, REMOTE_ADDR, expected client)
    (0, "", "203.0.113.7", "203.0.113.7"),
    (0, "198.51.100.1", "203.0.113.7", "203.0.113.7"),  # no proxy: the header is the client's own words
    (1, "203.0.113.7", LB, "203.0.113.7"),
    (1, "6.6.6.6, 203.0.113.7", LB, "203.0.113.7"),  # the spoofed left entry is ignored
    (1, "1.1.1.1, 2.2.2.2, 3.3.3.3, 203.0.113.7", LB, "203.0.113.7"),
    (1, "", LB, LB),  # the balancer's own health check
    (2, "6.6.6.6, 203.0.113.7, 192.0.2.50", LB, "203.0.113.7"),  # a CDN, then the balancer
    (2, "203.0.113.7", LB, "203.0.113.7"),  # fewer hops than expected: the left-most there is
    (1, "2001:db8::1", LB, "2001:db8::1"),
    (1, "not-an-address", LB, LB),
]


def request_with(forwarded: str, remote: str):
    extra = {"REMOTE_ADDR": remote}
    if forwarded:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize("trusted, forwarded, remote, expected", CASES)
def test_client_ip_is_the_rightmost_untrusted_address(settings, trusted, forwarded, remote, expected):
    settings.TRUSTED_PROXY_COUNT = trusted
    assert client_ip(request_with(forwarded, remote)) == expected


@pytest.mark.parametrize("trusted, forwarded, remote, expected", [c for c in CASES if c[-1] != LB or c[1] == ""])
def test_throttles_and_axes_use_the_same_address(settings, trusted, forwarded, remote, expected):
    settings.TRUSTED_PROXY_COUNT = trusted
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": trusted}
    request = request_with(forwarded, remote)
    assert AnonRateThrottle().get_ident(Request(request)) == expected
    assert get_client_ip_address(request) == expected
    # DRF's own get_ident agrees too, fed by the same number (NUM_PROXIES).
    assert DRFAnonRateThrottle().get_ident(Request(request)) == expected


def test_production_settings_feed_drf_and_axes_from_trusted_proxy_count(settings):
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.TRUSTED_PROXY_COUNT
    assert settings.AXES_CLIENT_IP_CALLABLE == "core.net.client_ip"
    assert "core.throttling.AnonRateThrottle" in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"]


def test_log_records_carry_the_client_address(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found", None, None)
    record.request = request_with("6.6.6.6, 203.0.113.7", LB)
    assert ClientAddressFilter().filter(record) and record.client_ip == "203.0.113.7"
    bare = logging.LogRecord("x", logging.INFO, __file__, 1, "no request", None, None)
    assert ClientAddressFilter().filter(bare) and bare.client_ip == "-"


@pytest.mark.django_db
def test_a_new_forwarded_header_per_request_does_not_lift_the_anonymous_limit(api_client, settings, monkeypatch):
    settings.TRUSTED_PROXY_COUNT = 1
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {**AnonRateThrottle.THROTTLE_RATES, "anon": "3/min"})
    codes = [api_client.get("/api/v1/categories/", REMOTE_ADDR=LB,
                            HTTP_X_FORWARDED_FOR=f"10.9.{n}.1, 203.0.113.7").status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]
    # Another client behind the same balancer has its own allowance.
    assert api_client.get("/api/v1/categories/", REMOTE_ADDR=LB,
                          HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 200


@pytest.mark.django_db
def test_a_new_forwarded_header_per_request_does_not_lift_the_token_limit(api_client, settings, monkeypatch):
    from core.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES, "auth": "3/min"})
    codes = [api_client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}, REMOTE_ADDR="203.0.113.7",
                             HTTP_X_FORWARDED_FOR=f"10.9.{n}.1").status_code for n in range(4)]
    assert codes == [400, 400, 400, 429]
