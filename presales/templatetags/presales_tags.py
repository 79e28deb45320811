"""Product-page helpers: a product's pre-sales and group offers as the view loaded them (no query here), and an
order's hold."""
from django import template

from .. import selectors

register = template.Library()


@register.simple_tag
def product_presales(product) -> list:
    """Pre-sales taking orders for the product: `product.current_presales`, loaded by the product page's view
    (presales.receivers, on shops.signals.product_page) or `selectors.with_offers`; none when not loaded.
    Templates make no queries."""
    return list(getattr(product, "current_presales", None) or ())


@register.simple_tag
def product_group_offers(product) -> list:
    """Group offers of the product with their open groups (`offer.open_groups`), loaded as `product.group_offers`
    as above; none when not loaded."""
    return list(getattr(product, "group_offers", None) or ())


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
