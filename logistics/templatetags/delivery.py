"""`{% delivery_flags shop_order as flags %}`: the delivery box of the buyer's order page (an orders page,
which cannot import logistics), with flags computed from the state tables by logistics.flags."""
from django import template

from .. import flags

register = template.Library()


@register.simple_tag
def delivery_flags(shop_order) -> dict[str, bool]:
    return flags.delivery_flags(shop_order)
