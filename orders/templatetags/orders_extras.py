from django import template

from shops.models import Product

register = template.Library()


@register.filter
def unit_label(code: str) -> str:
    """An order line keeps the sale unit's code (kg, jin, box ...); show its name in the reader's language."""
    try:
        return Product.Unit(code).label
    except ValueError:  # a unit no longer offered: its code is still readable
        return code
