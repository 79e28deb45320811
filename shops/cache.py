"""Catalogue cache: a version number, and whole anonymous pages checked against it.

Cached catalogue pages and lists carry the current version (in their key, or stored with the
entry); every write that changes what a buyer sees (product, price, stock, photo, shop) bumps
it, so stale entries are never read again and expire on their own. One integer in the shared
cache works across every app server.

Pages (`cache_catalogue_page`) are kept for visitors without a session, who all see the same
page: key = path + sorted query + language, valid only for the version stored with it.
Signed-in visitors (and anyone with a session or a pending message) get a fresh page. The only
per-visitor part of an anonymous page is the CSRF token of its forms: the stored page keeps the
text around it, and each hit puts in a token of the visitor's own. The page is also stored
gzip-compressed around that hole (the token goes in as a stored deflate block), so a hit costs
neither a render nor a compression.
"""
import functools
import hashlib
import os
import re
import struct
import time
import zlib

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import add_never_cache_headers, patch_cache_control, patch_vary_headers
from django.utils.translation import get_language

VERSION_KEY = "catalogue:version"
PAGE_TIMEOUT = 10 * 60  # a page older than this is rendered again even without a change
BROWSER_MAX_AGE = 60  # the visitor's own browser may reuse a page this long (back button, weak networks)
_CACHEABLE_CONTROL = f"private, max-age={BROWSER_MAX_AGE}"

_TOKEN_VALUE = re.compile(rb'(?<=name="csrfmiddlewaretoken" value=")[^"]*')
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")
_GZIP_HEADER = b"\x1f\x8b\x08\x08\x00\x00\x00\x00\x00\xff"  # deflate, FNAME flag, no mtime, unknown OS


def _initial_version() -> int:
    # Time-based, so a version lost from the cache (eviction, flush) restarts above every
    # version used before and old entries can never come back.
    return time.time_ns() // 1000


def catalogue_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, _initial_version(), timeout=None)
        version = cache.get(VERSION_KEY) or 1
    return version


def _bump() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet
        cache.set(VERSION_KEY, _initial_version(), timeout=None)


def bump_catalogue_version() -> None:
    """Invalidate every cached catalogue entry, now and again when the surrounding transaction commits.

    The second bump matters: a page rendered between the first bump and the commit still shows
    the old rows and would otherwise stay cached under the new version.
    """
    _bump()
    transaction.on_commit(_bump, robust=True)


def catalogue_key(*parts) -> str:
    return ":".join(["catalogue", str(catalogue_version()), *map(str, parts)])


def page_cache_key(request) -> str:
    """Path + sorted query + language; the catalogue version is stored in the entry and checked on read.

    Reading the version and the entry together (one MGET) halves the round trips of a hit; an
    entry of an older version is never served, and is overwritten in place instead of lingering.
    """
    query = sorted((k, v) for k in request.GET for v in request.GET.getlist(k))
    raw = repr((request.path, query, get_language() or "")).encode()
    return "catalogue:page:" + hashlib.sha256(raw).hexdigest()[:40]


def _lookup(key: str) -> tuple[int, dict | None]:
    """(current version, the entry if it belongs to that version) in one round trip."""
    found = cache.get_many([VERSION_KEY, key])
    version = found.get(VERSION_KEY)
    if version is None:
        return catalogue_version(), None
    entry = found.get(key)
    return version, (entry if entry is not None and entry.get("version") == version else None)


def _cacheable_request(request) -> bool:
    """GET or HEAD from a visitor with neither a session nor a message waiting.

    Told from the cookies alone, which keeps a hit cheap: without a session cookie nobody is
    signed in (sessions carry the sign-in), and a message can only wait in its own cookie.
    """
    if request.method not in ("GET", "HEAD"):
        return False
    cookies = request.COOKIES
    return settings.SESSION_COOKIE_NAME not in cookies and CookieStorage.cookie_name not in cookies


def _stored_block(data: bytes) -> bytes:
    """A non-final stored deflate block (byte-aligned, as every flushed part ends)."""
    out = []
    for start in range(0, len(data), 0xFFFF):
        chunk = data[start:start + 0xFFFF]
        out.append(b"\x00" + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk)
    return b"".join(out) or b"\x00\x00\x00\xff\xff"


def _deflate_parts(parts: list[bytes]) -> list[bytes]:
    """Each part as raw deflate on its own, ending byte-aligned; only the last part ends the stream."""
    out = []
    for i, part in enumerate(parts):
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        last = i == len(parts) - 1
        out.append(compressor.compress(part) + compressor.flush(zlib.Z_FINISH if last else zlib.Z_FULL_FLUSH))
    return out


def _entry(response: HttpResponse, version: int) -> dict:
    parts = _TOKEN_VALUE.split(response.content)
    return {
        "version": version,
        "parts": parts,
        "deflated": _deflate_parts(parts),
        "headers": {k: v for k, v in response.items() if k.lower() in ("content-type", "content-language")},
        "meta": getattr(response, "cache_meta", None),
    }


def _response_from(entry: dict, request) -> HttpResponse:
    parts = entry["parts"]
    token = get_token(request).encode() if len(parts) > 1 else b""
    body = token.join(parts)
    response = HttpResponse(status=200, headers=entry["headers"])
    # Set outright, not patched: a hit is the hot path and its headers never vary.
    response["Vary"] = "Accept-Encoding, Cookie, Accept-Language"
    response["Cache-Control"] = _CACHEABLE_CONTROL
    if _ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")):
        deflated = entry["deflated"]
        pieces = [deflated[0]]
        for piece in deflated[1:]:
            pieces += [_stored_block(token), piece]
        # A random-length file name, as Django's GZipMiddleware adds against BREACH; the token is
        # compressed apart from the page anyway, so it never shares a back-reference with it.
        length = 1 + os.urandom(1)[0] % 100
        name = os.urandom(length).hex()[:length].encode() + b"\x00"
        trailer = struct.pack("<II", zlib.crc32(body) & 0xFFFFFFFF, len(body) & 0xFFFFFFFF)
        response.content = b"".join([_GZIP_HEADER, name, *pieces, trailer])
        response["Content-Encoding"] = "gzip"
    else:
        response.content = body
    response["Content-Length"] = str(len(response.content))
    response["X-Catalogue-Cache"] = "hit"
    return response


def _browser_headers(response: HttpResponse, cacheable: bool) -> None:
    patch_vary_headers(response, ("Cookie", "Accept-Language"))
    if cacheable:
        # private: the page carries the visitor's CSRF token, so no shared cache may keep it.
        patch_cache_control(response, private=True, max_age=BROWSER_MAX_AGE)  # = _CACHEABLE_CONTROL
    else:
        add_never_cache_headers(response)


def cache_catalogue_page(view=None, *, on_hit=None):
    """Serve a catalogue view from the cache to visitors without a session.

    A view may set `response.cache_meta`; `on_hit(request, meta)` then runs on every cache hit
    (the search page counts searches that found nothing that way).
    """
    if view is None:
        return functools.partial(cache_catalogue_page, on_hit=on_hit)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        cacheable = _cacheable_request(request)
        key = page_cache_key(request) if cacheable else None
        if cacheable:
            version, entry = _lookup(key)
            if entry is not None:
                if on_hit is not None and entry["meta"] is not None:
                    on_hit(request, entry["meta"])
                return _response_from(entry, request)
        response = view(request, *args, **kwargs)
        store = (cacheable and response.status_code == 200 and not response.streaming
                 and not response.cookies and response.get("Content-Type", "").startswith("text/html"))
        if store:
            # The version read before rendering: a page rendered across a bump is stale at once.
            cache.set(key, _entry(response, version), timeout=PAGE_TIMEOUT)
            response["X-Catalogue-Cache"] = "miss"
        if response.status_code == 200:
            _browser_headers(response, store)
        return response

    return wrapper
