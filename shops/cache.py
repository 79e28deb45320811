"""Catalogue cache: versions per thing a buyer sees, and whole anonymous pages checked against the
versions of what each page shows (the machinery is `core.pagecache`; this module is the catalogue's
use of it: which scopes there are, what bumps them, which scopes a page depends on).

Scopes (`core.pagecache.Versions`, key `catalogue:v:<scope>`):

    g        the whole catalogue: structural changes (categories, shops: their names are on every tile)
    l        listing membership and order: a product added, withdrawn, edited in what search and the
             filters read (title, description, category, marks, season), or sold out / back in stock
    lp       listing prices: any price change (price sorts and price filters of search pages)
    t        any product's visible data (the products API's cached lists)
    p<id>    one product: everything its tile or page shows (price, photos, stock band, lots)
    s<id>    one shop's product list (membership): the shop page, "more from this shop"
    c<id>    one category's listing (membership and order), bumped for the category and its ancestors
    cp<id>   one category's prices (its price-sorted or price-filtered pages)

A product page depends on g, its product, its shop's list and the products it shows beside it; a
category page on g, its category (and its prices when sorted or filtered by price) and its tiles; a
search page and the home page on g, l (and lp when price matters) and their tiles. So a change to
one product re-renders its own page and the lists that show it or whose membership/order it moves,
never the rest of the catalogue. Stock is shown as a band (in stock, few left, sold out): a sale
that stays within its band changes no page (`stock_band_changed`).
"""
import threading
from collections.abc import Callable, Iterable

from core.pagecache import PageCache, Versions

from .models import Category

GLOBAL, LISTING, LISTING_PRICES, ANY_PRODUCT = "g", "l", "lp", "t"

catalogue = Versions("catalogue", feed_setting="CATALOGUE_VERSION_FEED")
pages = PageCache(catalogue, header="X-Catalogue-Cache", base_scopes=(GLOBAL,))

version_feed = catalogue.feed
local_pages = pages.local_pages
page_cache_key = pages.key


def product_scope(pk: int) -> str:
    return f"p{pk}"


def shop_scope(pk: int) -> str:
    return f"s{pk}"


def category_scope(pk: int) -> str:
    return f"c{pk}"


def category_prices_scope(pk: int) -> str:
    return f"cp{pk}"


def catalogue_version() -> int:
    """The whole catalogue's version (bumped by structural changes only)."""
    return catalogue.current(GLOBAL)


def bump_catalogue_version() -> None:
    """Invalidate every cached catalogue entry, now and again when the surrounding transaction commits.

    For structural changes only (categories, shops); a product's own changes and its photos call
    `product_changed`, which touches only what shows it, a review `shop_page_changed` and `product_changed`, a
    pre-sale or group step `product_page_changed`.
    """
    catalogue.bump(GLOBAL)


_held: dict[str, tuple[object, object]] = {}  # name -> (the version it was loaded under, the data)
_held_lock = threading.Lock()


def held(name: str, load: Callable[[], object], *, scope: str | None = None):
    """Near-static data (the category tree...) kept in this process until the whole catalogue's version
    moves, or the given scope's (bumped by `product_page_changed` when the data moves): one version check per
    use (a dict lookup while the feed is up) instead of a query."""
    version = catalogue_version() if scope is None else tuple(catalogue.current_many([GLOBAL, scope]).values())
    found = _held.get(name)
    if found is not None and found[0] == version:
        return found[1]
    value = load()
    with _held_lock:
        _held[name] = (version, value)
    return value


def forget_held() -> None:
    with _held_lock:
        _held.clear()


def _category_parents() -> dict[int, int | None]:
    return held("category-parents", lambda: dict(Category.objects.values_list("pk", "parent_id")))


def _category_chain(category_ids: Iterable[int | None]) -> list[int]:
    """The categories and all their ancestors."""
    parents = _category_parents()
    chain: list[int] = []
    for category_id in category_ids:
        current = category_id
        while current is not None and current not in chain:
            chain.append(current)
            current = parents.get(current)
    return chain


def product_changed(*, product_id: int, shop_id: int | None = None, category_ids: Iterable[int | None] = (),
                    listing: bool = False, prices: bool = False) -> None:
    """Bump what shows a product: its own scope always; with `listing`, the listings its membership or
    order changes (search, its shop and its categories, old and new); with `prices`, price-ordered lists."""
    scopes = [product_scope(product_id), ANY_PRODUCT]
    chain = _category_chain(category_ids) if (listing or prices) else []
    if listing:
        scopes += [LISTING, *map(category_scope, chain)]
        if shop_id is not None:
            scopes.append(shop_scope(shop_id))
    if prices:
        scopes += [LISTING_PRICES, *map(category_prices_scope, chain)]
    catalogue.bump(*scopes)


def product_page_changed(product_id: int, *held_scopes: str) -> None:
    """What a higher app shows on a product's page alone moved (a pre-sale's units, a group's places): that page;
    and the scopes of what such an app holds per process (`held(..., scope=...)`) when that moved too."""
    catalogue.bump(product_scope(product_id), *held_scopes)


def shop_page_changed(shop_id: int) -> None:
    """Bump the shop's own page for what shows there alone (the stars of its reviews): not its products' tiles,
    which show its name (a rename bumps the whole catalogue)."""
    catalogue.bump(shop_scope(shop_id))


def stock_band_changed(rows: Iterable[tuple[int, int | None, bool]]) -> None:
    """(product id, category id, sold out or back in stock) for products whose stock band changed:
    their pages; and where a product sold out or came back, the listings filtered on stock."""
    scopes: list[str] = []
    crossed = []
    for product_id, category_id, in_or_out in rows:
        scopes.append(product_scope(product_id))
        if in_or_out:
            crossed.append(category_id)
    if not scopes:
        return
    scopes.append(ANY_PRODUCT)
    if crossed:
        scopes += [LISTING, *map(category_scope, _category_chain(crossed))]
    catalogue.bump(*scopes)


def catalogue_key(*parts) -> str:
    """A cache key valid until any product or listing changes: `catalogue:<versions>:<parts...>`
    (the products API's lists, the search vocabulary)."""
    return ":".join([catalogue.stamp(GLOBAL, LISTING, LISTING_PRICES, ANY_PRODUCT), *map(str, parts)])


def listing_key(*parts) -> str:
    """A cache key valid until a listing's membership changes (what search can find)."""
    return ":".join([catalogue.stamp(GLOBAL, LISTING), *map(str, parts)])


def listing_prices_key(*parts) -> str:
    """A cache key valid until a listing's membership or any price changes (what a price filter can find)."""
    return ":".join([catalogue.stamp(GLOBAL, LISTING, LISTING_PRICES), *map(str, parts)])


# --- What a page shows ------------------------------------------------------------------------

def listing_scopes(*, category=None, price_sensitive: bool = False) -> list[str]:
    """A list page's own scopes: its category's (a category page), else the whole listing's."""
    if category is not None:
        return [category_scope(category.pk), *([category_prices_scope(category.pk)] if price_sensitive else [])]
    return [LISTING, *([LISTING_PRICES] if price_sensitive else [])]


def listing_stamp(*, category=None, price_sensitive: bool = False) -> str:
    """A cache key part valid while a list page's own scopes stand (its count and facets, not its tiles)."""
    return catalogue.stamp(GLOBAL, *listing_scopes(category=category, price_sensitive=price_sensitive))


def cache_catalogue_page(view=None, *, on_hit=None):
    """Serve a catalogue view from the cache to visitors without a session.

    The view sets `response.cache_scopes` (what the page shows, see above) and may set
    `response.cache_meta`; `on_hit(request, meta)` then runs on every cache hit (the search and
    category pages announce their searches that way).
    """
    return pages.cached(view, on_hit=on_hit)
