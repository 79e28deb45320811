"""Product-page helpers: a product's pre-sales and group offers, from a prefetch when the view made one."""
from django import template

from .. import selectors

register = template.Library()


@register.simple_tag
def product_presales(product) -> list:
    """Pre-sales taking orders for the product: `product.current_presales` if prefetched, else one query."""
    cached = getattr(product, "current_presales", None)
    return list(cached) if cached is not None else list(selectors.current_presales_for(product))


@register.simple_tag
def product_group_offers(product) -> list:
    """Group offers of the product with their open groups (`offer.open_groups`): one query, two with an offer."""
    cached = getattr(product, "group_offers", None)
    return list(cached) if cached is not None else list(selectors.deals_for_product(product))


@register.simple_tag
def order_hold(order) -> dict | None:
    """The pre-order or group place behind an order with its `flags` (selectors.preorder_flags or
    member_flags), or None for an ordinary order."""
    # A missing reverse one-to-one raises an AttributeError subclass, so getattr's default applies.
    preorder = getattr(order, "preorder", None)
    member = getattr(order, "group_membership", None) if preorder is None else None
    if preorder is None and member is None:
        return None
    flags = selectors.preorder_flags(preorder) if preorder is not None else selectors.member_flags(member)
    return {"preorder": preorder, "member": member, "flags": flags}
