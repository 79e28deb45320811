"""What an activity entry says to the farmer, in their language: its URL name read as an action."""
from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .models import ActivityEntry
from .services import CONSENT_GIVEN, CONSENT_WITHDRAWN, REGISTERED

_ACTIONS: dict[str, Promise] = {
    REGISTERED: _("Registered you at the station"),
    CONSENT_GIVEN: _("Recorded your consent"),
    CONSENT_WITHDRAWN: _("You withdrew your consent"),
    "shops:seller_shop_create": _("Opened a shop"),
    "shop-list": _("Opened a shop"),
    "shops:seller_shop_edit": _("Edited a shop"),
    "shop-detail": _("Edited a shop"),
    "shops:seller_verification": _("Sent a licence or ID photo"),
    "shops:seller_product_create": _("Listed a product"),
    "product-list": _("Listed a product"),
    "shops:seller_product_edit": _("Edited a product"),
    "product-detail": _("Edited a product"),
    "shops:seller_product_price_stock": _("Changed a price or stock"),
    "shops:seller_product_withdraw": _("Withdrew a product"),
    "shops:seller_photos_add": _("Uploaded photos"),
    "product-upload-image": _("Uploaded photos"),
    "shops:seller_photo_cover": _("Changed the photos"),
    "shops:seller_photo_delete": _("Changed the photos"),
    "product-image": _("Changed the photos"),
    "shops:seller_lot_create": _("Recorded a harvest lot"),
    "lot-list": _("Recorded a harvest lot"),
    "shops:seller_lot": _("Recorded an input on a lot"),
    "lot-inputs": _("Recorded an input on a lot"),
    "orders:seller_order_accept": _("Accepted an order"),
    "seller-order-accept": _("Accepted an order"),
    "orders:seller_order_cancel": _("Cancelled an order"),
    "seller-order-cancel": _("Cancelled an order"),
    "logistics:seller_pack": _("Packed an order"),
    "api-seller-order-pack": _("Packed an order"),
    "logistics:seller_hand_over": _("Handed an order to the station"),
    "api-seller-order-hand-over": _("Handed an order to the station"),
}


def describe(entry: ActivityEntry) -> str:
    return str(_ACTIONS.get(entry.view_name, _("Made a change")))
