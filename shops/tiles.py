"""Product tiles as HTML fragments, kept in each process while their product is unchanged.

A list page reads the ids of its page first (the narrow query its sort needs anyway), then takes each
tile's HTML from this process's fragments when the versions it was rendered under still stand: the
product's own scope (price, stock band, title...) and the whole catalogue's (photos, shops, villages).
Only the missing or stale tiles load their rows (with shop, village and photos) and render, so a
changed product re-renders its own tile and nothing else, and a page the page cache does not hold
(a new filter, sort or page) costs its ids, its facets and its frame, not 24 rows and their photos.

Versions are read before the rows, so a fragment is never stored under a version newer than its
rows (a bump in between leaves it stale, never wrong). The language is part of the key: the words,
the unit names and the price's number format are the reader's.
"""
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet
from django.templatetags.static import PrefixNode
from django.utils.formats import localize
from django.utils.html import escape
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from . import cache, selectors
from .models import Product, product_url
from .templatetags import pictures

_LAZY = ' loading="lazy" decoding="async"'


class Fragments:
    """Rendered tiles by (language, product id), each with the versions it was rendered under; the least
    recently used go first. A few KB each: the default bound keeps a process under about 10 MB."""

    SIZE = 5000

    def __init__(self, size: int = SIZE):
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get_many(self, keys: list[tuple], stamps: list[tuple]) -> list[str | None]:
        out: list[str | None] = []
        with self._lock:
            for key, stamp in zip(keys, stamps, strict=True):
                found = self._entries.get(key)
                if found is not None and found[0] == stamp:
                    self._entries.move_to_end(key)
                    out.append(found[1])
                else:
                    out.append(None)
        return out

    def put_many(self, items: Iterable[tuple[tuple, tuple, str]]) -> None:
        with self._lock:
            for key, stamp, html in items:
                self._entries[key] = (stamp, html)
                self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


fragments = Fragments()


class _Words:
    """What every tile of one language shares, looked up once per render of missing tiles."""

    def __init__(self):
        self.sold_out, self.certified = escape(_("Sold out")), escape(_("Certified"))
        self.units = {value: escape(label) for value, label in Product.Unit.choices}
        self.media = PrefixNode.handle_simple("MEDIA_URL")


def render_tile(product: Product, words: _Words) -> str:
    """One tile, its photo lazy (the grid makes the first ones eager). The product comes from
    `selectors.listed_products` (shop, village and ordered photos loaded): no query."""
    if not product.in_stock:
        badge = f'<span class="badge warn">{words.sold_out}</span>'
    elif product.certified:
        badge = f'<span class="badge">{words.certified}</span>'
    else:
        badge = ""
    images = list(product.images.all())
    photo = pictures.picture_html(images[0] if images else None, pictures.TILE_SIZES, "", words.media, lazy=True)
    shop = product.shop
    unit = words.units.get(product.unit) or escape(product.unit)
    return (f'<li class="tile"><a href="{product_url(product.pk)}">{photo}'
            f'<div class="body"><p class="title">{escape(product.title)}</p><p><span class="price">'
            f'¥{localize(product.price)}</span> <small>/ {unit}</small></p>'
            f'<p class="muted small">{escape(shop.village.province)} · {escape(shop.name)}</p>{badge}</div></a></li>')


class TileGrid:
    """The tiles of one list, in order: `ids` at once, the HTML when the page renders (`html`)."""

    def __init__(self, ids: list[int]):
        self.ids = ids
        self._tiles: list[str] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def __bool__(self) -> bool:
        return bool(self.ids)

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids)

    def scopes(self) -> list[str]:
        return [cache.product_scope(pk) for pk in self.ids]

    def tiles(self) -> list[str]:
        """Each tile's HTML (lazy photo), from the fragments or rendered now and kept."""
        if self._tiles is None:
            self._tiles = _tiles_for(self.ids)
        return self._tiles

    def html(self, eager: int = 0) -> str:
        """The grid as a <ul>; the photos of the first `eager` tiles load at once."""
        tiles = self.tiles()
        shown = [tile.replace(_LAZY, "", 1) if index < eager else tile for index, tile in enumerate(tiles)]
        return f'<ul class="grid">{"".join(shown)}</ul>'


def _tiles_for(ids: list[int]) -> list[str]:
    if not ids:
        return []
    language = get_language() or ""
    versions = cache.catalogue.current_many([cache.GLOBAL, *map(cache.product_scope, ids)])
    whole = versions[cache.GLOBAL]
    keys = [(language, pk) for pk in ids]
    stamps = [(whole, versions[cache.product_scope(pk)]) for pk in ids]
    found = fragments.get_many(keys, stamps)
    missing = [pk for pk, html in zip(ids, found, strict=True) if html is None]
    if missing:
        words = _Words()
        rendered = {product.pk: render_tile(product, words)
                    for product in selectors.listed_products().filter(pk__in=missing)}
        fragments.put_many((key, stamp, rendered[key[1]]) for key, stamp in zip(keys, stamps, strict=True)
                           if key[1] in rendered)
        # A product withdrawn between the two reads is left out rather than shown from an old fragment.
        found = [html if html is not None else rendered.get(pk) for pk, html in zip(ids, found, strict=True)]
    return [html for html in found if html is not None]


def grid(products: QuerySet[Product]) -> TileGrid:
    """The tiles of a (sliced) product queryset: one query for its ids, in its order; then, in the view (templates
    make no queries), the rows and photos of the tiles not kept."""
    shown = TileGrid(list(products.prefetch_related(None).values_list("pk", flat=True)))
    shown.tiles()
    return shown
