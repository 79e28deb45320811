"""The client's address, the one way every part of the site reads it (throttles, sign-in lockout, logs).

Behind N trusted proxies (the load balancer, maybe a CDN in front of it) the address chain of a request is
`X-Forwarded-For` (each proxy appends the address it received the request from) followed by REMOTE_ADDR (the
proxy nearest to us). The last N entries of that chain were written by proxies we trust; the entry just before
them is the client as our outermost trusted proxy saw it. Everything further left was sent by the client and
can be anything, so it is never used.

    TRUSTED_PROXY_COUNT = 0: REMOTE_ADDR, X-Forwarded-For ignored (the embedded site, a direct connection);
    TRUSTED_PROXY_COUNT = 1: the right-most X-Forwarded-For entry (one load balancer);
    TRUSTED_PROXY_COUNT = 2: the second from the right (a CDN, then the load balancer), and so on.

This is the same address DRF's `NUM_PROXIES` picks, which the settings set from the same number.
"""
import ipaddress

from django.conf import settings


def _valid(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request) -> str:
    """The right-most address not written by one of our TRUSTED_PROXY_COUNT proxies; REMOTE_ADDR without any."""
    meta = getattr(request, "META", request)
    remote = meta.get("REMOTE_ADDR", "") or ""
    trusted = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if trusted <= 0:
        return remote
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    chain = [*forwarded, remote] if remote else forwarded
    if not chain:
        return remote
    # A chain shorter than the proxies we expect: the left-most entry is the best we have.
    candidate = chain[-(trusted + 1)] if len(chain) > trusted else chain[0]
    return _valid(candidate) or remote


class ClientAddressFilter:
    """A logging filter that puts the client's address on records about a request (`%(client_ip)s`)."""

    def filter(self, record) -> bool:
        request = getattr(record, "request", None)
        if not hasattr(record, "client_ip"):
            record.client_ip = client_ip(request) if hasattr(request, "META") else "-"
        return True
