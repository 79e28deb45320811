"""Product photos as light, responsive <picture>s: AVIF first, WebP after, the right width for the screen.

- `srcset` lists every width made (160 to 1280 px), `sizes` says how wide the photo is drawn, in CSS px per
  breakpoint, so a 360 px phone at DPR 2 takes the 320 px file for a tile and never the 640 px one.
- Only the first pictures of a page (the first row of tiles, or a product's first photo) load at once; the rest
  are `loading="lazy"` and `decoding="async"`. width/height keep the layout still while they arrive.
- Until the photo arrives a tiny blurred copy (a data: URI stored on the photo, which img-src allows) fills its
  box: an <img>, since the CSP forbids inline style attributes.
HTML is written in Python (see catalogue.py: a grid of 24 tiles as includes was most of a page's render).
"""
from django import template
from django.templatetags.static import PrefixNode
from django.utils.html import escape
from django.utils.safestring import mark_safe

register = template.Library()

# Tiles: 2 columns on a phone (.grid minmax(9.5rem, 1fr) with a .75rem gap inside .wrap's 1rem padding),
# 3 from 32rem, fixed 12rem columns from 48rem.
TILE_SIZES = "(min-width: 48rem) 12rem, (min-width: 32rem) calc(33.3vw - 1.5rem), calc(50vw - 1.4rem)"
# A product's photo: the width of the page on a phone, a 30rem column from 48rem.
GALLERY_SIZES = "(min-width: 48rem) 30rem, calc(100vw - 2rem)"
# The first row of a phone's two-column grid is on the first screen.
EAGER_TILES = 2

_PLACEHOLDER_ICON = ('<svg viewBox="0 0 24 24" width="40" height="40" aria-hidden="true" focusable="false">'
                     '<circle cx="12" cy="14.5" r="6.5" fill="currentColor"/><path d="M12 8c0-3 2-5.5 5.5-5.5C17.5 '
                     '5.5 15.5 8 12 8z" fill="currentColor"/></svg>')


def _srcset(media: str, variants: dict) -> str:
    return ", ".join(f"{media}{escape(path)} {escape(width)}w"
                     for width, path in sorted(variants.items(), key=lambda item: int(item[0])))


def picture_html(image, sizes: str = "", alt: str = "", media: str | None = None, *, lazy: bool = True,
                 priority: bool = False) -> str:
    """A product photo as a <picture> of its AVIF and WebP variants over its blurred placeholder, or a light
    placeholder while they are being made (or when there is no photo). Reads only fields of the photo row: no
    query. `alt` is optional; the photo's own description is used without it. `lazy=False` for a picture on
    the first screen; `priority` asks the browser to fetch it before other images."""
    image = image or None  # a missing template variable arrives as ""
    text = escape(alt or (image.alt_text if image is not None else "") or "")
    thumbnails = image.thumbnails if image is not None and image.is_ready else None
    if not thumbnails:
        label = f' role="img" aria-label="{text}"' if text else ' aria-hidden="true"'
        return f'<div class="thumb placeholder"{label}>{_PLACEHOLDER_ICON}</div>'
    media = PrefixNode.handle_simple("MEDIA_URL") if media is None else media
    sizes = escape(sizes or "100vw")
    widths = sorted(thumbnails, key=int)
    # For browsers without srcset: the largest file no wider than 640 px.
    fallback = thumbnails[max((w for w in widths if int(w) <= 640), key=int, default=widths[0])]
    size = f' width="{image.width}" height="{image.height}"' if image.width and image.height else ""
    loading = ' loading="lazy" decoding="async"' if lazy else (' fetchpriority="high"' if priority else "")
    avif = getattr(image, "avif", None)
    source = f'<source type="image/avif" srcset="{_srcset(media, avif)}" sizes="{sizes}">' if avif else ""
    blur = getattr(image, "placeholder", "")
    blur = f'<img class="blur" src="{escape(blur)}" alt="" aria-hidden="true">' if blur else ""
    # The blurred copy comes last (CSS stacks it under the photo), so the photo is the box's first <img>.
    return (f'<span class="photo"><picture>{source}<img class="thumb" src="{media}{escape(fallback)}" '
            f'srcset="{_srcset(media, thumbnails)}" sizes="{sizes}"{size} alt="{text}"{loading}></picture>{blur}'
            '</span>')


def eager_pictures(context, wanted: int) -> int:
    """How many of the next `wanted` pictures load at once: the first pictures a page renders are on its first
    screen, later ones are lazy. Counted on the request (one render, whichever templates it includes)."""
    request = context.get("request")
    if request is None or getattr(request, "pictures_shown", False):
        return 0
    request.pictures_shown = True
    return wanted


@register.simple_tag(takes_context=True)
def picture(context, image, sizes="", alt=""):
    eager = eager_pictures(context, 1) if image else 0
    return mark_safe(picture_html(image, sizes, alt, lazy=not eager, priority=bool(eager)))  # noqa: S308 - escaped
