"""Sign-in protection that a guesser cannot turn against the account owner.

Three layers, all keyed on the client address of `core.net.client_ip` (so a client behind the load balancer is
itself, not the balancer, and cannot choose its address with X-Forwarded-For):

1. django-axes locks a (username, address) pair after AXES_FAILURE_LIMIT wrong passwords for AXES_COOLOFF_TIME.
   Someone guessing `admin` from one address locks only themselves out: `admin` from any other address signs in.
2. A per-username back-off, across addresses: after SIGNIN_BACKOFF_AFTER failures within SIGNIN_WINDOW_MINUTES
   of each other, the next attempt for that username must wait 1 s, 2 s, 4 s ... (at most
   SIGNIN_BACKOFF_MAX_SECONDS) after the last failure. It is a delay, never a lock: an attempt after the wait is
   checked as usual, attempts refused during the wait do not count, and an address the user signed in from in
   the last KNOWN_ADDRESS_DAYS skips the wait altogether.
3. A per-address cap across usernames: SIGNIN_ADDRESS_FAILURE_LIMIT failures within the window, and that address
   may not try any username until the window ends (password spraying).

`GuardedModelBackend` (accounts.backends) applies 2 and 3 around Django's password check; a refusal is answered by
`lockout_response`, the AXES_LOCKOUT_CALLABLE, as 429 with Retry-After (JSON under /api/, a page elsewhere).
State lives in the cache: it is a brake, and a cache flush only releases it early. None of the three blocks
sign-in with a one-time code by SMS or e-mail (accounts.codes, with limits of its own), which the locked-out page
offers: whoever holds the account's phone or mailbox is never kept out by someone guessing its password.
"""
import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

KNOWN_ADDRESS_DAYS = 30
KNOWN_ADDRESSES_KEPT = 10


@dataclass(frozen=True)
class Refusal:
    message: str
    retry_after: int  # seconds


def now() -> float:
    return time.time()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def _username_key(username: str) -> str:
    return f"signin:user:{_digest((username or '').strip().lower())}"


def _address_key(address: str) -> str:
    return f"signin:address:{_digest(address or '-')}"


def _known_key(user_pk) -> str:
    return f"signin:known:{user_pk}"


def _window() -> int:
    return settings.SIGNIN_WINDOW_MINUTES * 60


def backoff_seconds(failures: int) -> int:
    """The wait after the last failure once a username has had `failures` of them (0: no wait)."""
    over = failures - settings.SIGNIN_BACKOFF_AFTER
    if over < 0:
        return 0
    return min(2 ** over, settings.SIGNIN_BACKOFF_MAX_SECONDS)


def is_known_address(user_pk, address: str) -> bool:
    return address in (cache.get(_known_key(user_pk)) or [])


def _known_user_pk(username: str):
    from django.contrib.auth import get_user_model

    model = get_user_model()
    return (model._default_manager.filter(**{f"{model.USERNAME_FIELD}__iexact": (username or "").strip()})
            .values_list("pk", flat=True).first())


def refusal(username: str, address: str) -> Refusal | None:
    """Why this attempt may not be checked now, or None when it may."""
    at = now()
    by_address = cache.get(_address_key(address))
    if by_address and by_address["n"] >= settings.SIGNIN_ADDRESS_FAILURE_LIMIT:
        wait = math.ceil(by_address["first"] + _window() - at)
        if wait > 0:
            return Refusal(_("Too many failed sign-ins from your network. Please wait %(minutes)d minutes and try "
                             "again.") % {"minutes": max(1, math.ceil(wait / 60))}, wait)
    by_username = cache.get(_username_key(username))
    if by_username:
        wait = math.ceil(by_username["last"] + backoff_seconds(by_username["n"]) - at)
        if wait > 0:
            user_pk = _known_user_pk(username)
            if user_pk is not None and is_known_address(user_pk, address):
                return None
            return Refusal(ngettext(
                "This account had many failed sign-ins. Please wait %(seconds)d second and try again.",
                "This account had many failed sign-ins. Please wait %(seconds)d seconds and try again.",
                wait) % {"seconds": wait}, wait)
    return None


def record_failure(username: str, address: str) -> None:
    at, window = now(), _window()
    key = _username_key(username)
    state = cache.get(key) or {"n": 0, "last": at}
    cache.set(key, {"n": state["n"] + 1, "last": at}, timeout=window + settings.SIGNIN_BACKOFF_MAX_SECONDS)
    key = _address_key(address)
    state = cache.get(key)
    if not state or state["first"] + window <= at:
        state = {"n": 0, "first": at}
    cache.set(key, {"n": state["n"] + 1, "first": state["first"]},
              timeout=max(1, math.ceil(state["first"] + window - at)))


def record_success(user, address: str) -> None:
    """Remember the address: the user's own places skip the username back-off."""
    key = _known_key(user.pk)
    known = [a for a in (cache.get(key) or []) if a != address]
    cache.set(key, [address, *known][:KNOWN_ADDRESSES_KEPT], timeout=KNOWN_ADDRESS_DAYS * 86400)


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: a clear 429 with Retry-After, as JSON for the API and a page otherwise.

    Used both for axes' own (username, address) lockout and for a refusal by the back-off or the address cap.
    """
    found = getattr(request, "signin_refusal", None)
    if found is None:
        minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
        found = Refusal(_("Too many failed sign-in attempts. Please wait %(minutes)d minutes and try again.")
                        % {"minutes": minutes}, minutes * 60)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": found.message}, status=429)
    else:
        # The page offers sign-in with a code (accounts.codes), which this lock does not block; its views check `next`.
        next_url = request.POST.get("next") or request.GET.get("next") or ""
        response = render(request, "accounts/locked_out.html", {"message": found.message, "next": next_url},
                          status=429)
    response["Retry-After"] = str(found.retry_after)
    return response
