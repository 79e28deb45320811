"""A small cache-based rate limiter for the HTML forms and API actions DRF's throttles do not cover.

`hit(scope, key, rate)` counts one attempt in a fixed window and says whether it is within the rate. Rates read
like DRF's: "5/h", "10/hour", "30/15m" (30 per 15 minutes), "100/d". Keys are hashed, so an e-mail address or
a username never appears in the cache. A cache that does not answer lets the attempt through: the limiter
slows abuse, it is not what keeps data safe.
"""
import hashlib
import logging
import math
import re
import time
from dataclasses import dataclass

from django.core.cache import cache

logger = logging.getLogger(__name__)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window ends (0 when allowed)


def parse_rate(rate: str) -> tuple[int, int]:
    """("5/h") -> (5, 3600): attempts allowed and the window in seconds."""
    match = _RATE.match(rate or "")
    if not match:
        raise ValueError(f"Not a rate: {rate!r} (expected e.g. '5/h' or '30/15m').")
    count, multiple, unit = match.groups()
    return int(count), int(multiple or 1) * _UNITS[unit.lower()]


def _key(scope: str, key: str, window: int) -> str:
    digest = hashlib.sha256(f"{scope}\0{key}".encode()).hexdigest()[:32]
    return f"ratelimit:{scope}:{digest}:{window}"


def hit(scope: str, key: str, rate: str, *, now: float | None = None) -> Verdict:
    """Count one attempt for `key` under `scope`; allowed while the window's count is within the rate."""
    limit, period = parse_rate(rate)
    now = time.time() if now is None else now
    window = int(now // period)
    cache_key = _key(scope, key, window)
    try:
        if cache.add(cache_key, 1, timeout=period + 1):
            count = 1
        else:
            try:
                count = cache.incr(cache_key)
            except ValueError:  # expired between add() and incr()
                cache.set(cache_key, 1, timeout=period + 1)
                count = 1
    except Exception:  # noqa: BLE001 - a cache outage must not refuse service
        logger.warning("Rate limiter: cache unavailable, letting %s through", scope, exc_info=True)
        return Verdict(True, 0)
    if count is None or count <= limit:
        return Verdict(True, 0)
    return Verdict(False, max(1, math.ceil((window + 1) * period - now)))


def reset(scope: str, key: str, rate: str, *, now: float | None = None) -> None:
    _limit, period = parse_rate(rate)
    now = time.time() if now is None else now
    cache.delete(_key(scope, key, int(now // period)))
