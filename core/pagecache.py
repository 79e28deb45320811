"""Whole anonymous pages, cached and checked against a version number that any write can bump.

A `Version` is one integer in the shared cache (key `<name>:version`). Cached entries carry the
version they were made under (in their key, `Version.stamp`, or stored with the entry); a bump makes
every one of them stale at once, and stale entries are never read again and expire on their own.
One integer in the shared cache works across every app server. With Redis and the version's feed
setting on, every bump is also published, and a thread in each process keeps its own copy of the
version (`VersionFeed`), so a cached page is served without asking Redis for the version.

A `PageCache` keeps pages for visitors without a session, who all see the same page: key = path +
sorted query + language, valid only for the version stored with it. Signed-in visitors (and anyone
with a session or a pending message) get a fresh page. The only per-visitor part of an anonymous
page is the CSRF token of its forms: the stored page keeps the text around it, and each hit puts in a
token of the visitor's own. The page is also stored gzip-compressed around that hole (the token goes
in as a stored deflate block), so a hit costs neither a render nor a compression. While the feed is
up, the most used pages are kept in the process as well (`LocalPages`): a hit then needs no network.

Generic: the app that owns the version decides what bumps it and which views are cached.
"""
import functools
import hashlib
import os
import re
import struct
import threading
import time
import zlib
from collections import OrderedDict

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache, caches
from django.db import transaction
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.utils.cache import add_never_cache_headers, patch_cache_control, patch_vary_headers
from django.utils.translation import get_language

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


# --- The version, pushed to every process ---------------------------------------------------

class VersionFeed:
    """This process's copy of a version, pushed by Redis pub/sub.

    Every bump publishes the new version on a channel; one daemon thread per process applies it
    (within a millisecond or so), so a cached page is served without asking Redis anything.
    Until the subscription is up, or while it is broken, `current()` is None and callers read
    the version from the cache as before: a lost connection costs speed, never freshness.
    The thread pings every few seconds, so even a silently dead connection is noticed.
    """

    PING_SECONDS = 3

    def __init__(self, version: "Version"):
        self._source = version
        self._lock = threading.Lock()
        self._owner = None  # (pid, pool) the running thread serves; a fork or new settings restart it
        self.version: int | None = None

    def current(self) -> int | None:
        client = self._source.redis_client()
        if client is None:
            if self._owner is not None:
                self.stop()
            return None
        # The pool, not the client: each thread has a client object of its own, all on one pool.
        owner = (os.getpid(), id(client.connection_pool))
        if self._owner != owner:
            with self._lock:
                if self._owner != owner:
                    self._owner, self.version = owner, None
                    threading.Thread(target=self._listen, args=(client, owner), daemon=True,
                                     name=f"{self._source.name}-version-feed").start()
        return self.version

    def stop(self) -> None:
        """Let the thread end (within a second) and forget the version."""
        self._owner, self.version = None, None

    def pushed(self, version: int) -> None:
        """A version this process has just written: seen here at once, before its message returns."""
        if self.version is not None:
            self.version = max(self.version, version)

    def _read(self, client) -> None:
        value = client.get(self._source.raw_key())
        self.version = int(value) if value is not None else None

    def _listen(self, client, owner) -> None:
        channel = self._source.channel(client)
        while self._owner == owner:
            pubsub = None
            try:
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(channel)
                self._read(client)  # only once subscribed, so that no bump can fall between the two
                pinged = time.monotonic()
                while self._owner == owner:
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self.version = max(self.version or 0, int(message["data"]))
                    if time.monotonic() - pinged > self.PING_SECONDS:
                        pubsub.ping()  # raises on a dead connection
                        pinged = time.monotonic()
                        if self.version is None:  # a publish failed, or there was no version yet
                            self._read(client)
            except Exception:
                # Whatever went wrong, fall back to reading the cache until subscribed again.
                if self._owner == owner:
                    self.version = None
                time.sleep(1)
            finally:
                if pubsub is not None:
                    pubsub.close()


class Version:
    """A version number in the default cache, under `<name>:version`.

    `feed_setting` names the boolean setting that turns the Redis pub/sub feed on (it is read on
    every use, so tests and settings changes take effect at once).
    """

    def __init__(self, name: str, *, feed_setting: str | None = None):
        self.name = name
        self.key = f"{name}:version"
        self.feed_setting = feed_setting
        self.feed = VersionFeed(self)

    def redis_client(self):
        """The raw client of the default cache when it is Redis and the feed is on, else None."""
        if not self.feed_setting or not getattr(settings, self.feed_setting, False):
            return None
        try:
            from django_redis import get_redis_connection
            from django_redis.cache import RedisCache
        except ImportError:  # pragma: no cover - django-redis is a pinned dependency
            return None
        if not isinstance(caches["default"], RedisCache):
            return None
        return get_redis_connection("default")

    def raw_key(self) -> str:
        return cache.make_key(self.key)

    def channel(self, client) -> str:
        # Channels span every database of the server: the key prefix and the database keep them apart.
        return f"{self.raw_key()}@{client.connection_pool.connection_kwargs.get('db', 0)}"

    def _publish(self, version) -> None:
        client = self.redis_client()
        if client is None or version is None:
            return
        self.feed.pushed(int(version))
        try:
            client.publish(self.channel(client), int(version))
        except Exception:  # a cache outage is a cache miss, never a failed write
            self.feed.version = None

    def current(self) -> int:
        pushed = self.feed.current()
        if pushed is not None:
            return pushed
        version = cache.get(self.key)
        if version is None:
            if cache.add(self.key, _initial_version(), timeout=None):
                self._publish(cache.get(self.key))
            version = cache.get(self.key) or 1
        return version

    def _bump(self) -> None:
        try:
            version = cache.incr(self.key)
        except ValueError:  # no version yet
            version = _initial_version()
            cache.set(self.key, version, timeout=None)
        self._publish(version)

    def bump(self) -> None:
        """Make every entry of this version stale, now and again when the surrounding transaction commits.

        The second bump matters: a page rendered between the first bump and the commit still shows
        the old rows and would otherwise stay cached under the new version.
        """
        self._bump()
        transaction.on_commit(self._bump, robust=True)

    def stamp(self, *parts) -> str:
        """A cache key that carries the current version: `<name>:<version>:<parts...>`."""
        return ":".join([self.name, str(self.current()), *map(str, parts)])


# --- Pages -----------------------------------------------------------------------------------

class LocalPages:
    """The most used pages, kept in this process as well while the version feed is up: a hit then
    costs no network round trip at all. Bounded in number and age (as the shared entries are);
    an entry of an older version is never served."""

    SIZE = 200

    def __init__(self, timeout: int = PAGE_TIMEOUT):
        self.timeout = timeout
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, version: int):
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            entry, expires = found
            if entry["version"] != version or expires < time.monotonic():
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: dict) -> None:
        with self._lock:
            self._entries[key] = (entry, time.monotonic() + self.timeout)
            self._entries.move_to_end(key)
            while len(self._entries) > self.SIZE:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


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


def _response_from(entry: dict, request, header: str) -> HttpResponse:
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
    response[header] = "hit"
    return response


def _browser_headers(response: HttpResponse, cacheable: bool) -> None:
    patch_vary_headers(response, ("Cookie", "Accept-Language"))
    if cacheable:
        # private: the page carries the visitor's CSRF token, so no shared cache may keep it.
        patch_cache_control(response, private=True, max_age=BROWSER_MAX_AGE)  # = _CACHEABLE_CONTROL
    else:
        add_never_cache_headers(response)


class PageCache:
    """Anonymous pages valid for one `Version`; `cached` is the view decorator.

    Entries live under `<version name>:page:<hash>`; responses say `hit` or `miss` in `header`.
    """

    def __init__(self, version: Version, *, header: str = "X-Page-Cache", timeout: int = PAGE_TIMEOUT):
        self.version = version
        self.header = header
        self.timeout = timeout
        self.prefix = f"{version.name}:page:"
        self.local_pages = LocalPages(timeout)

    def key(self, request) -> str:
        """Path + sorted query + language; the version is stored in the entry and checked on read."""
        query = sorted((k, v) for k in request.GET for v in request.GET.getlist(k))
        raw = repr((request.path, query, get_language() or "")).encode()
        return self.prefix + hashlib.sha256(raw).hexdigest()[:40]

    def lookup(self, key: str) -> tuple[int, dict | None]:
        """(current version, the entry if it belongs to that version).

        With the version feed up: this process's pages, else one GET. Without it: the version and
        the entry together in one MGET. An entry of an older version is never served.
        """
        version = self.version.feed.current()
        if version is not None:
            entry = self.local_pages.get(key, version)
            if entry is None:
                entry = cache.get(key)
                if entry is None or entry.get("version") != version:
                    return version, None
                self.local_pages.put(key, entry)
            return version, entry
        found = cache.get_many([self.version.key, key])
        version = found.get(self.version.key)
        if version is None:
            return self.version.current(), None
        entry = found.get(key)
        return version, (entry if entry is not None and entry.get("version") == version else None)

    def cached(self, view=None, *, on_hit=None):
        """Serve a view from the cache to visitors without a session.

        A view may set `response.cache_meta`; `on_hit(request, meta)` then runs on every cache hit
        (what the view would have done besides rendering, such as announcing a search).
        """
        if view is None:
            return functools.partial(self.cached, on_hit=on_hit)

        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            cacheable = _cacheable_request(request)
            key = self.key(request) if cacheable else None
            if cacheable:
                version, entry = self.lookup(key)
                if entry is not None:
                    if on_hit is not None and entry["meta"] is not None:
                        on_hit(request, entry["meta"])
                    return _response_from(entry, request, self.header)
            response = view(request, *args, **kwargs)
            store = (cacheable and response.status_code == 200 and not response.streaming
                     and not response.cookies and response.get("Content-Type", "").startswith("text/html"))
            if store:
                # The version read before rendering: a page rendered across a bump is stale at once.
                entry = _entry(response, version)
                cache.set(key, entry, timeout=self.timeout)
                if self.version.feed.version is not None:
                    self.local_pages.put(key, entry)
                response[self.header] = "miss"
            if response.status_code == 200:
                _browser_headers(response, store)
            return response

        return wrapper
