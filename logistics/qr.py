"""QR codes as inline SVG (segno): no image files, no requests, crisp on any printer."""
import segno
from django.utils.safestring import SafeString, mark_safe


def qr_svg(data: str) -> SafeString:
    """An SVG QR code of `data` sized by CSS (viewBox only). `data` is our own URL or code, never user text."""
    svg = segno.make(data, error="m").svg_inline(scale=1, border=2, omitsize=True, svgclass="qr")
    return mark_safe(svg)  # noqa: S308 (segno writes the markup; the data is a code or our own URL)
