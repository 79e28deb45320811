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


_PLACEHOLDER_ICON = ('<svg viewBox="0 0 24 24" width="40" height="40" aria-hidden="true" focusable="false">'
                     '<circle cx="12" cy="14.5" r="6.5" fill="currentColor"/><path d="M12 8c0-3 2-5.5 5.5-5.5C17.5 '
                     '5.5 15.5 8 12 8z" fill="currentColor"/></svg>')


def picture_html(image, sizes: str = "", alt: str = "", media: str | None = None) -> str:
    """A product photo as a responsive <img> of its WebP thumbnails, or a light placeholder while they are
    being made (or when there is no photo). Reads only fields of the photo row: no query. `alt` is
    optional; the photo's own description is used without it."""
    image = image or None  # a missing template variable arrives as ""
    text = escape(alt or (image.alt_text if image is not None else "") or "")
    thumbnails = image.thumbnails if image is not None and image.is_ready else None
    if not thumbnails:
        label = f' role="img" aria-label="{text}"' if text else ' aria-hidden="true"'
        return f'<div class="thumb placeholder"{label}>{_PLACEHOLDER_ICON}</div>'
    media = PrefixNode.handle_simple("MEDIA_URL") if media is None else media
    paths = list(thumbnails.items())
    src = thumbnails.get("640") or paths[-1][1]
    srcset = ", ".join(f"{media}{escape(path)} {escape(width)}w" for width, path in paths)
    size = f' width="{image.width}" height="{image.height}"' if image.width and image.height else ""
    return (f'<img class="thumb" src="{media}{escape(src)}" srcset="{srcset}" sizes="{escape(sizes or "100vw")}"'
            f'{size} alt="{text}" loading="lazy" decoding="async">')


@register.simple_tag
def picture(image, sizes="", alt=""):
    return mark_safe(picture_html(image, sizes, alt))  # noqa: S308 - every value escaped above


_TILE_SIZES = "(min-width: 48rem) 12rem, 46vw"


@register.simple_tag
def product_tiles(products):
    """The grid of product tiles of a list (products with shop, village and photos already loaded)."""
    sold_out, certified = escape(_("Sold out")), escape(_("Certified"))
    units = {value: escape(label) for value, label in Product.Unit.choices}  # get_unit_display() is slow per row
    media = PrefixNode.handle_simple("MEDIA_URL")
    out = ['<ul class="grid">']
    for product in products:
        if not product.in_stock:
            badge = f'<span class="badge warn">{sold_out}</span>'
        elif product.certified:
            badge = f'<span class="badge">{certified}</span>'
        else:
            badge = ""
        shop = product.shop
        photo = picture_html(cover(product), _TILE_SIZES, "", media)
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
