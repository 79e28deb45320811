"""Whole anonymous pages, cached and checked against the versions of what each page shows.

`Versions` is a family of named version numbers ("scopes") in the shared cache, one key each
(`<name>:v:<scope>`): a product, a shop, a category's listing, the whole catalogue... A write bumps
the scopes it changes (`Versions.bump`), and only the entries that depend on one of them go stale.
A version is a time in microseconds, raised on each bump to max(old + 1, now), so it also says when
its scope last changed; a scope seen for the first time starts a little in the past (a lost key
restarts above every version used before, so old entries never come back).

With Redis and the feed setting on, every bump is also published on one channel, and a thread in
each process keeps the versions it has read up to date (`VersionsFeed`): a cached page is then
checked without asking Redis for anything. Until the subscription is up, or while it is broken,
versions are read from the cache: a lost connection costs speed, never freshness.

A `PageCache` keeps pages for visitors without a session, who all see the same page: key = path +
sorted query + language. The view says what the page shows by setting `response.cache_scopes`
(besides the cache's base scopes); the entry keeps those scopes with their versions, read after the
render, and a hit is served only while every one of them is unchanged. A page whose scopes changed
since its render began (less a margin for clocks of other servers) is served but not stored: it may
show rows older than its versions. Signed-in visitors (and anyone with a session or a pending
message) get a fresh page. The only per-visitor part of an anonymous page is the CSRF token of its
forms: the stored page keeps the text around it, and each hit puts in a token of the visitor's own.
The page is also stored gzip-compressed around that hole (the token goes in as a stored deflate
block), so a hit costs neither a render nor a compression, and a miss is compressed once: a client
that takes gzip gets that stored stream (with the tokens of its render) rather than a second
compression by GZipMiddleware. While the feed is up, the most used
pages are kept in the process as well (`LocalPages`): a hit then needs no network.

Generic: the app that owns the versions decides what bumps which scope and which views are cached.
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
from collections.abc import Iterable

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
# Versions are times on the clocks of the servers that bump them: a page is stored only when none of
# its scopes changed after its render began, less this much for clocks that disagree.
CLOCK_MARGIN_US = 100_000
# A scope's first version lies this far in the past, so a page rendered now can be stored under it.
_FIRST_VERSION_AGE_US = 10_000_000
LOCAL_VERSIONS_LIMIT = 500_000  # versions one process keeps from the feed before starting over

_TOKEN_FIELD = b'name="csrfmiddlewaretoken" value="'
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")
_GZIP_HEADER = b"\x1f\x8b\x08\x08\x00\x00\x00\x00\x00\xff"  # deflate, FNAME flag, no mtime, unknown OS

# max(old + 1, now) for each key, atomically; returns the new versions.
_BUMP_SCRIPT = """
local out = {}
for i, key in ipairs(KEYS) do
  local old = tonumber(redis.call('GET', key) or '0') or 0
  local new = math.max(old + 1, tonumber(ARGV[1]))
  redis.call('SET', key, string.format('%d', new))
  out[i] = new
end
return out
"""


def now_us() -> int:
    return time.time_ns() // 1000


# --- Versions, pushed to every process -------------------------------------------------------

class VersionsFeed:
    """This process's copy of the versions it has read, kept current by Redis pub/sub.

    Every bump publishes `scope version` pairs on one channel; one daemon thread per process applies
    them (within a millisecond or so). `current()` is the dict of known versions, or None until the
    subscription is up (or while it is broken). A version read from the cache is learnt only if the
    subscription did not restart meanwhile (`generation`), so no bump can fall between the two.
    The thread pings every few seconds, so even a silently dead connection is noticed.
    """

    PING_SECONDS = 3

    def __init__(self, source: "Versions"):
        self._source = source
        self._lock = threading.Lock()
        self._owner = None  # (pid, pool) the running thread serves; a fork or new settings restart it
        self.versions: dict[str, int] | None = None
        self.generation = 0

    def current(self) -> dict[str, int] | None:
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
                    self._reset(None)
                    self._owner = owner
                    threading.Thread(target=self._listen, args=(client, owner), daemon=True,
                                     name=f"{self._source.name}-versions-feed").start()
        return self.versions

    def _reset(self, versions) -> None:
        self.generation += 1
        self.versions = versions

    def stop(self) -> None:
        """Let the thread end (within a second) and forget the versions."""
        self._owner = None
        self._reset(None)

    def learn(self, found: dict[str, int], generation: int) -> None:
        """Versions just read from the cache, kept if the subscription has stayed up since."""
        versions = self.versions
        if versions is None or generation != self.generation:
            return
        if len(versions) > LOCAL_VERSIONS_LIMIT:
            self._reset({})
            return
        self._apply(versions, found)

    def pushed(self, found: dict[str, int]) -> None:
        """Versions this process has just written: seen here at once, before their message returns."""
        versions = self.versions
        if versions is not None:
            self._apply(versions, found)

    @staticmethod
    def _apply(versions: dict, found: dict[str, int]) -> None:
        for scope, version in found.items():
            if versions.get(scope, 0) < version:
                versions[scope] = version

    def _listen(self, client, owner) -> None:
        channel = self._source.channel(client)
        while self._owner == owner:
            pubsub = None
            try:
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(channel)
                pubsub.ping()
                self._reset({})  # only once subscribed: every version read from now on stays current
                pinged = time.monotonic()
                while self._owner == owner:
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message" and self.versions is not None:
                        data = message["data"]
                        words = (data.decode() if isinstance(data, bytes) else str(data)).split()
                        self._apply(self.versions, {s: int(v) for s, v in zip(words[::2], words[1::2], strict=False)})
                    if time.monotonic() - pinged > self.PING_SECONDS:
                        pubsub.ping()  # raises on a dead connection
                        pinged = time.monotonic()
            except Exception:
                # Whatever went wrong, fall back to reading the cache until subscribed again.
                if self._owner == owner:
                    self._reset(None)
                time.sleep(1)
            finally:
                if pubsub is not None:
                    pubsub.close()


class Versions:
    """Named version numbers in the default cache, under `<name>:v:<scope>`.

    `feed_setting` names the boolean setting that turns the Redis pub/sub feed on (it is read on
    every use, so tests and settings changes take effect at once).
    """

    def __init__(self, name: str, *, feed_setting: str | None = None):
        self.name = name
        self.feed_setting = feed_setting
        self.feed = VersionsFeed(self)
        self._lock = threading.Lock()
        self._script = None

    def key(self, scope: str) -> str:
        return f"{self.name}:v:{scope}"

    def redis_client(self):
        """The raw client of the default cache when it is Redis and the feed is on, else None."""
        if not self.feed_setting or not getattr(settings, self.feed_setting, False):
            return None
        return self._redis()

    @staticmethod
    def _redis():
        try:
            from django_redis import get_redis_connection
            from django_redis.cache import RedisCache
        except ImportError:  # pragma: no cover - django-redis is a pinned dependency
            return None
        if not isinstance(caches["default"], RedisCache):
            return None
        return get_redis_connection("default")

    def raw_key(self, scope: str) -> str:
        return cache.make_key(self.key(scope))

    def channel(self, client) -> str:
        # Channels span every database of the server: the key prefix and the database keep them apart.
        return f"{cache.make_key(self.name + ':versions')}@{client.connection_pool.connection_kwargs.get('db', 0)}"

    # Reading

    def current_many(self, scopes: Iterable[str]) -> dict[str, int]:
        """The current version of each scope (a scope never bumped gets its first version now)."""
        scopes = list(dict.fromkeys(scopes))
        generation = self.feed.generation
        local = self.feed.current()
        out: dict[str, int] = {}
        missing = scopes
        if local is not None:
            for scope in scopes:
                version = local.get(scope)
                if version is not None:
                    out[scope] = version
            if len(out) == len(scopes):
                return out
            missing = [s for s in scopes if s not in out]
        found = cache.get_many([self.key(s) for s in missing])
        fresh: dict[str, int] = {}
        for scope in missing:
            version = found.get(self.key(scope))
            if version is None:
                version = self._first(scope)
            fresh[scope] = int(version)
        if local is not None:
            self.feed.learn(fresh, generation)
        out.update(fresh)
        return out

    def current(self, scope: str) -> int:
        return self.current_many([scope])[scope]

    def _first(self, scope: str) -> int:
        key = self.key(scope)
        cache.add(key, now_us() - _FIRST_VERSION_AGE_US, timeout=None)
        return cache.get(key) or 1

    # Writing

    def _bump(self, scopes: list[str]) -> None:
        now = now_us()
        client = self._redis()
        try:
            if client is not None:
                if self._script is None:
                    self._script = client.register_script(_BUMP_SCRIPT)
                values = self._script(keys=[self.raw_key(s) for s in scopes], args=[now], client=client)
                new = {s: int(v) for s, v in zip(scopes, values, strict=True)}
            else:
                with self._lock:  # one process (local memory): a plain read and write under a lock
                    old = cache.get_many([self.key(s) for s in scopes])
                    new = {s: max(int(old.get(self.key(s)) or 0) + 1, now) for s in scopes}
                    cache.set_many({self.key(s): v for s, v in new.items()}, timeout=None)
        except Exception:  # pragma: no cover - a cache outage: entries expire on their own
            return
        self.feed.pushed(new)
        publisher = self.redis_client()
        if publisher is not None:
            try:
                publisher.publish(self.channel(publisher), " ".join(f"{s} {v}" for s, v in new.items()))
            except Exception:  # a cache outage is a cache miss, never a failed write
                self.feed.stop()

    def bump(self, *scopes: str) -> None:
        """Make every entry that depends on one of `scopes` stale, now and again when the surrounding
        transaction commits.

        The second bump matters: a page rendered between the first bump and the commit still shows
        the old rows and would otherwise stay cached under the new versions.
        """
        scopes = list(dict.fromkeys(scopes))
        if not scopes:
            return
        self._bump(scopes)
        transaction.on_commit(functools.partial(self._bump, scopes), robust=True)

    def stamp(self, *scopes: str) -> str:
        """A cache key part that changes with any of `scopes`: `<name>:<v1>.<v2>...`."""
        versions = self.current_many(scopes)
        return f"{self.name}:" + ".".join(str(versions[s]) for s in scopes)

# --- Pages -----------------------------------------------------------------------------------

class LocalPages:
    """The most used pages, kept in this process as well while the version feed is up: a hit then
    costs no network round trip at all. Bounded in number and age (as the shared entries are); the
    caller checks an entry's versions before serving it."""

    SIZE = 500

    def __init__(self, timeout: int = PAGE_TIMEOUT):
        self.timeout = timeout
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str):
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            entry, expires = found
            if expires < time.monotonic():
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

    def discard(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

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


def _split_tokens(body: bytes) -> tuple[list[bytes], list[bytes]]:
    """The page around each form's CSRF token value, and the values. By `bytes.find`: a regular expression with
    a look-behind tests every position of the page, about 60 times slower on a catalogue page."""
    parts, tokens, start = [], [], 0
    while (found := body.find(_TOKEN_FIELD, start)) >= 0:
        value = found + len(_TOKEN_FIELD)
        end = body.find(b'"', value)
        end = len(body) if end < 0 else end
        parts.append(body[start:value])
        tokens.append(body[value:end])
        start = end
    parts.append(body[start:])
    return parts, tokens


def _entry(response: HttpResponse, versions: dict[str, int]) -> dict:
    parts, _tokens = _split_tokens(response.content)
    return {
        "versions": versions,
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
        response.content = _gzip_body(entry["deflated"], [token] * (len(parts) - 1), body)
        response["Content-Encoding"] = "gzip"
    else:
        response.content = body
    response["Content-Length"] = str(len(response.content))
    response[header] = "hit"
    return response


def _gzip_body(deflated: list[bytes], tokens: list[bytes], body: bytes) -> bytes:
    """The page as one gzip stream: its compressed parts with each token between them as a stored block."""
    pieces = [deflated[0]]
    for token, piece in zip(tokens, deflated[1:], strict=True):
        pieces += [_stored_block(token), piece]
    # A random-length file name, as Django's GZipMiddleware adds against BREACH; the token is
    # compressed apart from the page anyway, so it never shares a back-reference with it.
    length = 1 + os.urandom(1)[0] % 100
    name = os.urandom(length).hex()[:length].encode() + b"\x00"
    trailer = struct.pack("<II", zlib.crc32(body) & 0xFFFFFFFF, len(body) & 0xFFFFFFFF)
    return b"".join([_GZIP_HEADER, name, *pieces, trailer])


def _send_stored_gzip(response: HttpResponse, entry: dict, request) -> None:
    """A miss the client takes gzipped goes out as the entry just compressed for the cache, with the tokens its
    render wrote: the page is compressed once (GZipMiddleware leaves an encoded response alone)."""
    if not _ACCEPTS_GZIP.search(request.META.get("HTTP_ACCEPT_ENCODING", "")) or response.has_header(
            "Content-Encoding"):
        return
    body = response.content
    response.content = _gzip_body(entry["deflated"], _split_tokens(body)[1], body)
    response["Content-Encoding"] = "gzip"
    response["Content-Length"] = str(len(response.content))
    patch_vary_headers(response, ("Accept-Encoding",))


def _browser_headers(response: HttpResponse, cacheable: bool) -> None:
    patch_vary_headers(response, ("Cookie", "Accept-Language"))
    if cacheable:
        # private: the page carries the visitor's CSRF token, so no shared cache may keep it.
        patch_cache_control(response, private=True, max_age=BROWSER_MAX_AGE)  # = _CACHEABLE_CONTROL
    else:
        add_never_cache_headers(response)


class PageCache:
    """Anonymous pages valid while the versions of what they show stay unchanged; `cached` is the
    view decorator.

    Entries live under `<versions name>:page:<hash>`; responses say `hit` or `miss` in `header`.
    Every page depends on `base_scopes` and on the scopes its view lists in `response.cache_scopes`.
    """

    def __init__(self, versions: Versions, *, header: str = "X-Page-Cache", timeout: int = PAGE_TIMEOUT,
                 base_scopes: tuple[str, ...] = ()):
        self.versions = versions
        self.header = header
        self.timeout = timeout
        self.base_scopes = tuple(base_scopes)
        self.prefix = f"{versions.name}:page:"
        self.local_pages = LocalPages(timeout)

    def key(self, request) -> str:
        """Path + sorted query + language; the versions are stored in the entry and checked on read."""
        query = sorted((k, v) for k in request.GET for v in request.GET.getlist(k))
        raw = repr((request.path, query, get_language() or "")).encode()
        return self.prefix + hashlib.sha256(raw).hexdigest()[:40]

    def is_current(self, entry: dict | None) -> bool:
        if entry is None:
            return False
        stored = entry.get("versions")
        return isinstance(stored, dict) and self.versions.current_many(stored) == stored

    def lookup(self, key: str) -> dict | None:
        """The entry for `key` if every version it was stored with is still current.

        With the version feed up: this process's pages and versions first, else one GET (and one MGET
        for versions this process has not seen yet). Without it: one GET and one MGET.
        """
        feed_up = self.versions.feed.current() is not None
        entry = self.local_pages.get(key) if feed_up else None
        if entry is not None:
            if self.is_current(entry):
                return entry
            self.local_pages.discard(key)
        entry = cache.get(key)
        if not self.is_current(entry):
            return None
        if feed_up:
            self.local_pages.put(key, entry)
        return entry

    def store(self, key: str, response: HttpResponse, started_us: int) -> dict | None:
        """Keep the page under the versions of its scopes, unless one of them changed while it rendered;
        the entry kept, or None."""
        scopes = [*self.base_scopes, *getattr(response, "cache_scopes", ())]
        versions = self.versions.current_many(scopes)
        if any(version >= started_us - CLOCK_MARGIN_US for version in versions.values()):
            return None  # it may show rows older than these versions: the next visitor renders again
        entry = _entry(response, versions)
        cache.set(key, entry, timeout=self.timeout)
        if self.versions.feed.versions is not None:
            self.local_pages.put(key, entry)
        return entry

    def cached(self, view=None, *, on_hit=None):
        """Serve a view from the cache to visitors without a session.

        A view sets `response.cache_scopes` (what the page shows) and may set `response.cache_meta`;
        `on_hit(request, meta)` then runs on every cache hit (what the view would have done besides
        rendering, such as announcing a search).
        """
        if view is None:
            return functools.partial(self.cached, on_hit=on_hit)

        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            cacheable = _cacheable_request(request)
            key = self.key(request) if cacheable else None
            if cacheable:
                entry = self.lookup(key)
                if entry is not None:
                    if on_hit is not None and entry["meta"] is not None:
                        on_hit(request, entry["meta"])
                    return _response_from(entry, request, self.header)
            started = now_us()
            response = view(request, *args, **kwargs)
            store = (cacheable and response.status_code == 200 and not response.streaming
                     and not response.cookies and response.get("Content-Type", "").startswith("text/html"))
            if store:
                entry = self.store(key, response, started)
                if entry is not None:
                    _send_stored_gzip(response, entry, request)
                response[self.header] = "miss"
            if response.status_code == 200:
                _browser_headers(response, store)
            return response

        return wrapper
