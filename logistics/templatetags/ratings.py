from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

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
    """`{% product_rating product as rating %}`: the product's average stars: `product.rating` when the view
    loaded it (the product page does, through shops.signals.product_page), else one query."""
    loaded = getattr(product, "rating", None)
    if loaded is not None:
        return loaded
    from logistics.selectors import product_ratings

    return product_ratings([product.pk])[product.pk]


@register.simple_tag
def shop_rating(shop):
    """`{% shop_rating shop as rating %}`: the shop's average stars, one query."""
    from logistics.selectors import shop_rating as rating_of

    return rating_of(shop)
