from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

from ..selectors import NO_RATING

register = template.Library()


@register.filter
def stars(value) -> str:
    """1 to 5 as filled and empty stars: 4 -> ★★★★☆ (an average is rounded half up)."""
    try:
        n = int(Decimal(str(value)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
    except (InvalidOperation, TypeError, ValueError):
        return ""
    n = max(0, min(5, n))
    return "★" * n + "☆" * (5 - n)


@register.simple_tag
def product_rating(product):
    """`{% product_rating product as rating %}`: the product's average stars, `product.rating` as the product page's
    view loaded it (logistics.receivers, on shops.signals.product_page, through selectors.product_ratings); no
    rating shown when not loaded. Templates make no queries."""
    return getattr(product, "rating", None) or NO_RATING
