"""Catalogue display helpers: product photos and tiles, season months, safe product descriptions.

`picture` and the tiles (`shops.tiles`) write their HTML in Python: a list page has 24 tiles, and a tile as
an include (with the photo as a nested include) cost two template renders, some forty variable lookups,
two gettext calls and a reverse() each, most of a page's render time.
"""
import re
from html import escape  # the same five characters as Django's, without its check for lazy text

from django import template
from django.utils.dates import MONTHS
from django.utils.formats import localize
from django.utils.html import linebreaks
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from shops.search.forms import options_html
from shops.services import sanitise_description
from shops.templatetags import pictures

register = template.Library()

_TAG = re.compile(r"<[a-zA-Z/]")


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
def product_tiles(context, grid):
    """The grid of product tiles of a list (a `shops.tiles.TileGrid`): each tile from this process's fragments
    or rendered now; the first row's photos load at once when they are the page's first pictures."""
    return mark_safe(grid.html(eager=pictures.eager_pictures(context, pictures.EAGER_TILES)))  # noqa: S308 - escaped in tiles


@register.simple_tag
def sort_options(choices, chosen):
    """The sort <option>s of the catalogue filters, the chosen one selected."""
    return options_html((value, label, None, value == chosen) for value, label in choices)


@register.simple_tag
def category_chips(subcategories):
    """A category page's links to its subcategories: (category, count or None). In Python, as the options: a
    chip's URL, name and count in the template cost more than the rest of the page's header."""
    chips = []
    for child, n in subcategories:
        count = f" <small>({localize(n)})</small>" if n is not None else ""
        chips.append(f'<li><a href="{escape(child.get_absolute_url())}">{escape(str(child.name))}{count}</a></li>')
    return mark_safe("".join(chips))  # noqa: S308 - escaped above
