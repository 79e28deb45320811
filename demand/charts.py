"""Small horizontal bar charts as inline SVG, drawn on the server: no JavaScript, readable at 360 px.

Each bar has its label and value on a line above it, so long Chinese or English product names need
no rotated axis. The same numbers are always in a table beside the chart.
"""
import itertools
from collections.abc import Sequence
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH = 360
ROW = 34
PAD = 4
MAX_LABEL = 28
_chart_ids = itertools.count(1)  # several charts on one page need distinct title ids


def _short(text: str) -> str:
    text = str(text)
    return text if len(text) <= MAX_LABEL else text[:MAX_LABEL - 1] + "…"


def svg_bar_chart(rows: Sequence[tuple[str, int | Decimal, str]], *, title: str) -> SafeString:
    """rows: (label, value, value shown as text); bars are scaled to the largest value."""
    uid = f"bars{next(_chart_ids)}"
    height = max(len(rows), 1) * ROW + PAD
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart bar-chart" viewBox="0 0 {WIDTH} {height}" '
            f'width="100%" role="img" aria-labelledby="{uid}t {uid}d"><title id="{uid}t">{escape(title)}</title>')
    if not rows:
        empty = escape(_("Nothing in this period."))
        return mark_safe(  # noqa: S308 - every dynamic text is escaped
            f'{head}<desc id="{uid}d">{empty}</desc><text x="{WIDTH / 2}" y="22" text-anchor="middle" '
            f'font-size="13" fill="#4d5b4d">{empty}</text></svg>')
    top = max((float(value) for _label, value, _text in rows), default=0.0) or 1.0
    desc = "; ".join(f"{label}: {text}" for label, _value, text in rows)
    parts = [head, f'<desc id="{uid}d">{escape(desc)}</desc>']
    for index, (label, value, text) in enumerate(rows):
        y = index * ROW + PAD
        length = round(float(value) / top * WIDTH, 1)
        parts.append(f'<text x="0" y="{y + 12}" font-size="13" fill="#1b2a1b">{escape(_short(label))}</text>'
                     f'<text x="{WIDTH}" y="{y + 12}" font-size="13" text-anchor="end" fill="#4d5b4d">'
                     f'{escape(text)}</text>'
                     f'<rect x="0" y="{y + 16}" width="{WIDTH}" height="12" fill="#ece9df"/>'
                     f'<rect x="0" y="{y + 16}" width="{length}" height="12" fill="#2f6b2f"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every dynamic text is escaped above
