"""Catalogue display helpers: cover photo, season months, safe product descriptions."""
import re

from django import template
from django.utils.dates import MONTHS
from django.utils.html import linebreaks
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

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
