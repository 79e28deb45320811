"""Catalogue cache: one version number for everything a buyer sees, and whole anonymous pages
checked against it (the machinery is `core.pagecache`; this module is the catalogue's use of it).

Cached catalogue pages and lists carry the current version (in their key, `catalogue_key`, or
stored with the entry); every write that changes what a buyer sees (product, price, stock, photo,
shop) calls `bump_catalogue_version`, so stale entries are never read again and expire on their own.
With Redis and `CATALOGUE_VERSION_FEED` on, each process follows the version over pub/sub.

Pages (`cache_catalogue_page`) are kept for visitors without a session; see `core.pagecache`.
"""
from core.pagecache import PageCache, Version

catalogue = Version("catalogue", feed_setting="CATALOGUE_VERSION_FEED")
pages = PageCache(catalogue, header="X-Catalogue-Cache")

VERSION_KEY = catalogue.key
version_feed = catalogue.feed
local_pages = pages.local_pages
page_cache_key = pages.key


def catalogue_version() -> int:
    return catalogue.current()


def bump_catalogue_version() -> None:
    """Invalidate every cached catalogue entry, now and again when the surrounding transaction commits.

    The second bump matters: a page rendered between the first bump and the commit still shows
    the old rows and would otherwise stay cached under the new version.
    """
    catalogue.bump()


def catalogue_key(*parts) -> str:
    """A cache key valid until the catalogue next changes: `catalogue:<version>:<parts...>`."""
    return catalogue.stamp(*parts)


def cache_catalogue_page(view=None, *, on_hit=None):
    """Serve a catalogue view from the cache to visitors without a session.

    A view may set `response.cache_meta`; `on_hit(request, meta)` then runs on every cache hit
    (the search and category pages announce their searches that way).
    """
    return pages.cached(view, on_hit=on_hit)
