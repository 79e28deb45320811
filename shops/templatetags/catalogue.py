"""Catalogue display helpers: cover photo, product photos and tiles, season months, safe product descriptions.

`picture` and `product_tiles` write their HTML in Python: a list page has 24 tiles, and a tile as an
include (with the photo as a nested include) cost two template renders, some forty variable lookups,
two gettext calls and a reverse() each, most of a page's render time. Here a grid is one call: the
translated words, the media prefix and the product URL pattern are taken once per grid.
"""
import re

from django import template
from django.templatetags.static import PrefixNode
from django.utils.dates import MONTHS
from django.utils.formats import localize
from django.utils.html import escape, linebreaks
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shops.models import Product, product_url
from shops.services import sanitise_description
from shops.templatetags import pictures

register = template.Library()

_TAG = re.compile(r"<[a-zA-Z/]")


@register.filter
def cover(product):
    """The cover photo from the prefetched photos (ordered cover first), or None: no query."""
    images = list(product.images.all())
    return images[0] if images else None


def _month_runs(mask: int) -> list[tuple[int, int]]:
    months = [m for m in range(1, 13) if mask & (1 << (m - 1))]
    runs: list[list[int]] = []
    for month in months:
        if runs and runs[-1][1] == month - 1:
            runs[-1][1] = month
        else:
            runs.append([month, month])
    # A season that runs over the new year (November to February) reads as one run.
    if len(runs) > 1 and runs[0][0] == 1 and runs[-1][1] == 12:
        runs[0][0] = runs.pop()[0]
    return [(a, b) for a, b in runs]


@register.filter
def season_text(mask) -> str:
    """'September – November', 'All year' or '' from a season bit mask."""
    mask = int(mask or 0)
    if mask & 0xFFF == 0xFFF:
        return _("All year")
    parts = [str(MONTHS[a]) if a == b else f"{MONTHS[a]} – {MONTHS[b]}" for a, b in _month_runs(mask)]
    return pgettext("between months of a season", ", ").join(parts)


@register.filter
def rich_text(text: str):
    """A description as safe HTML: sanitised again here, since bulk imports and the admin skip the services."""
    text = text or ""
    if _TAG.search(text):
        return mark_safe(sanitise_description(text))  # noqa: S308 - nh3 has just cleaned it
    return mark_safe(linebreaks(text, autoescape=True))  # noqa: S308 - escaped by linebreaks


# The photo markup (srcset, sizes, lazy loading, placeholder) lives in pictures.py; `{% picture %}` stays here too.
register.simple_tag(pictures.picture, takes_context=True, name="picture")


@register.simple_tag(takes_context=True)
def product_tiles(context, products):
    """The grid of product tiles of a list (products with shop, village and photos already loaded)."""
    sold_out, certified = escape(_("Sold out")), escape(_("Certified"))
    units = {value: escape(label) for value, label in Product.Unit.choices}  # get_unit_display() is slow per row
    media = PrefixNode.handle_simple("MEDIA_URL")
    out = ['<ul class="grid">']
    eager = pictures.eager_pictures(context, pictures.EAGER_TILES)
    for index, product in enumerate(products):
        if not product.in_stock:
            badge = f'<span class="badge warn">{sold_out}</span>'
        elif product.certified:
            badge = f'<span class="badge">{certified}</span>'
        else:
            badge = ""
        shop = product.shop
        photo = pictures.picture_html(cover(product), pictures.TILE_SIZES, "", media, lazy=index >= eager)
        out.append(
            f'<li class="tile"><a href="{product_url(product.pk)}">{photo}'
            f'<div class="body"><p class="title">{escape(product.title)}</p><p><span class="price">'
            f'¥{localize(product.price)}</span> <small>/ {units.get(product.unit) or escape(product.unit)}</small></p>'
            f'<p class="muted small">{escape(shop.village.province)} · {escape(shop.name)}</p>{badge}</div></a></li>')
    out.append("</ul>")
    return mark_safe("".join(out))  # noqa: S308 - every value escaped above


def _options(rows) -> str:
    return "".join(f'<option value="{escape(value)}"{" selected" if selected else ""}>{escape(label)}'
                   f'{f" ({n})" if n is not None else ""}</option>' for value, label, n, selected in rows)


@register.simple_tag
def category_options(options):
    """The category <option>s of the catalogue filters: (slug, label, count or None, selected); a count of 0 is
    not shown. In Python: forty options of a few lookups each were a tenth of a list page's render."""
    return mark_safe(_options((slug, label, n or None, selected)  # noqa: S308 - escaped in _options
                              for slug, label, n, selected in options))


@register.simple_tag
def province_options(options):
    """The province <option>s of the catalogue filters: (province, count or None, selected)."""
    return mark_safe(_options((name, name, n, selected) for name, n, selected in options))  # noqa: S308
