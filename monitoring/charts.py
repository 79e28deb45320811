"""A small line chart as inline SVG, drawn on the server: no JavaScript, a few kilobytes, prints well.

Used by the sensor page and by the public trace page for the cold chain of shipments.
"""
import itertools
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 46, 10, 10, 24
_chart_ids = itertools.count(1)  # several charts on one page need distinct title ids


def _normalise(points: Iterable) -> list[tuple[datetime, float, float, float]]:
    """(time, min, avg, max) from ChartPoint-like objects or (time, value) / (time, min, avg, max) tuples."""
    rows = []
    for point in points:
        if hasattr(point, "avg"):
            rows.append((point.time, float(point.min), float(point.avg), float(point.max)))
        elif len(point) == 2:
            value = float(point[1])
            rows.append((point[0], value, value, value))
        else:
            rows.append((point[0], float(point[1]), float(point[2]), float(point[3])))
    rows.sort(key=lambda row: row[0])
    return rows


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"


def _time_label(time: datetime, span_seconds: float | None = None) -> str:
    """Hours alone on a chart of one day; the date too on longer ones, and when no span is given."""
    local = timezone.localtime(time) if timezone.is_aware(time) else time
    if span_seconds is None:
        return local.strftime("%Y-%m-%d %H:%M")
    return local.strftime("%H:%M" if span_seconds <= 86400 else "%m-%d %H:%M")


def svg_line_chart(points: Sequence, min_line: float | Decimal | None = None,
                   max_line: float | Decimal | None = None, width: int = 600, height: int = 200, *,
                   start: datetime | None = None, end: datetime | None = None, unit: str = "",
                   title: str = "") -> SafeString:
    """An inline <svg>: the mean as a line, the min-max of each bucket as a band, thresholds as dashed lines.

    points: ChartPoint-like objects (time, min, avg, max) or (time, value) tuples, at most a few hundred
    (downsample first: monitoring.selectors.downsample). start/end fix the time axis (default: the data).
    """
    rows = _normalise(points)
    width, height = max(int(width), 120), max(int(height), 80)
    min_line = float(min_line) if min_line is not None else None
    max_line = float(max_line) if max_line is not None else None
    title = title or _("Readings")
    uid = f"chart{next(_chart_ids)}"
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
            f'width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-labelledby="{uid}t {uid}d">'
            f'<title id="{uid}t">{escape(title)}</title>')
    if not rows:
        empty = escape(_("No readings in this period."))
        return mark_safe(  # noqa: S308 - every dynamic text above and below is escaped
            f'{head}<desc id="{uid}d">{empty}</desc><text x="{width / 2}" y="{height / 2}" text-anchor="middle" '
            f'font-size="13" fill="#4d5b4d">{empty}</text></svg>')

    t0 = start or rows[0][0]
    t1 = end or rows[-1][0]
    span = max((t1 - t0).total_seconds(), 1.0)
    values = [r[1] for r in rows] + [r[3] for r in rows] + [v for v in (min_line, max_line) if v is not None]
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.08 or 1.0
    lo, hi = lo - pad, hi + pad
    plot_w = width - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = height - MARGIN_TOP - MARGIN_BOTTOM

    def x(time: datetime) -> float:
        return round(MARGIN_LEFT + (time - t0).total_seconds() / span * plot_w, 1)

    def y(value: float) -> float:
        return round(MARGIN_TOP + (hi - value) / (hi - lo) * plot_h, 1)

    parts = [head]
    low_value, high_value = min(r[1] for r in rows), max(r[3] for r in rows)
    desc = _("%(count)d points from %(start)s to %(end)s; lowest %(low)s %(unit)s, highest %(high)s %(unit)s.") % {
        "count": len(rows), "start": _time_label(t0), "end": _time_label(t1),
        "low": _fmt(low_value), "high": _fmt(high_value), "unit": unit}
    parts.append(f'<desc id="{uid}d">{escape(desc)}</desc>')
    # Frame and axis labels.
    parts.append(f'<rect x="{MARGIN_LEFT}" y="{MARGIN_TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" '
                 f'stroke="#d9d6cb"/>')
    label = 'font-size="12" fill="#4d5b4d"'
    middle = (hi + lo) / 2
    parts.append(f'<line x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT + plot_w}" y1="{y(middle)}" y2="{y(middle)}" '
                 f'stroke="#ece9df"/>')
    for value, baseline in ((hi, y(hi) + 10), (middle, y(middle) + 4), (lo, y(lo))):
        parts.append(f'<text x="{MARGIN_LEFT - 4}" y="{baseline}" text-anchor="end" {label}>'
                     f'{escape(_fmt(value))}</text>')
    if unit:
        parts.append(f'<text x="{MARGIN_LEFT - 4}" y="{y(middle) + 18}" text-anchor="end" {label}>'
                     f'{escape(unit)}</text>')
    parts.append(f'<text x="{MARGIN_LEFT}" y="{height - 6}" {label}>{escape(_time_label(t0, span))}</text>')
    parts.append(f'<text x="{width - MARGIN_RIGHT}" y="{height - 6}" text-anchor="end" {label}>'
                 f'{escape(_time_label(t1, span))}</text>')
    # The min-max band, where buckets hold more than one reading.
    if any(r[1] != r[3] for r in rows):
        upper = " ".join(f"{x(r[0])},{y(r[3])}" for r in rows)
        lower = " ".join(f"{x(r[0])},{y(r[1])}" for r in reversed(rows))
        parts.append(f'<polygon points="{upper} {lower}" fill="#2f6b2f" fill-opacity="0.15" stroke="none"/>')
    # Thresholds.
    for value, name in ((max_line, _("max")), (min_line, _("min"))):
        if value is None:
            continue
        parts.append(f'<line x1="{MARGIN_LEFT}" x2="{MARGIN_LEFT + plot_w}" y1="{y(value)}" y2="{y(value)}" '
                     f'stroke="#a3241b" stroke-width="1.5" stroke-dasharray="6 4"/>')
        parts.append(f'<text x="{MARGIN_LEFT + plot_w - 2}" y="{y(value) - 3}" text-anchor="end" font-size="12" '
                     f'fill="#a3241b">{escape(name)} {escape(_fmt(value))}</text>')
    # The mean line, and a dot where a bucket went out of range.
    line = " ".join(f"{x(r[0])},{y(r[2])}" for r in rows)
    parts.append(f'<polyline points="{line}" fill="none" stroke="#1f4d1f" stroke-width="1.8" '
                 f'stroke-linejoin="round"/>')
    for time, low, _mean, high in rows:
        if max_line is not None and high > max_line:
            parts.append(f'<circle cx="{x(time)}" cy="{y(high)}" r="2.5" fill="#a3241b"/>')
        elif min_line is not None and low < min_line:
            parts.append(f'<circle cx="{x(time)}" cy="{y(low)}" r="2.5" fill="#a3241b"/>')
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every dynamic text is escaped above
