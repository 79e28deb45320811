"""DRF throttles keyed on `core.net.client_ip`, so a client cannot pick its own bucket by sending X-Forwarded-For.

DRF's own `get_ident` honours `NUM_PROXIES`, which the settings set to TRUSTED_PROXY_COUNT; these classes use
the one function of `core.net` all the same, so throttles, the sign-in lockout and the logs agree by construction.
"""
from rest_framework import throttling

from .net import client_ip


class ClientAddressMixin:
    def get_ident(self, request):
        return client_ip(request)


class AnonRateThrottle(ClientAddressMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientAddressMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(ClientAddressMixin, throttling.ScopedRateThrottle):
    pass
