"""Catalogue cache versioning.

Cached catalogue pages and lists put the current version in their keys; every write that
changes what a buyer sees (product, price, stock, photo, shop) bumps it, so stale entries are
never read again and expire on their own. One integer in the shared cache works across every
app server.
"""
from django.core.cache import cache

VERSION_KEY = "catalogue:version"


def catalogue_version() -> int:
    version = cache.get(VERSION_KEY)
    if version is None:
        cache.add(VERSION_KEY, 1, timeout=None)
        version = cache.get(VERSION_KEY) or 1
    return version


def bump_catalogue_version() -> None:
    try:
        cache.incr(VERSION_KEY)
    except ValueError:  # no version yet
        cache.set(VERSION_KEY, 2, timeout=None)


def catalogue_key(*parts) -> str:
    return ":".join(["catalogue", str(catalogue_version()), *map(str, parts)])
