"""What a parcel, a shipment or a buyer's delivery may do next, as flags for the pages.

Read from the state tables (logistics.services for parcels and shipments, orders.states for shop
orders), so templates never compare status strings.
"""
from orders import states as order_states
from orders.models import ShopOrder

from . import services
from .models import Parcel, Shipment

S = Shipment.Status
SS = ShopOrder.Status

# A buyer rates a part once it is delivered (logistics.services.create_review refuses earlier).
REVIEWABLE = (SS.DELIVERED, SS.COMPLETED)


def can_deliver(parcel: Parcel) -> bool:
    """The parcel has left the station and its part is not confirmed yet: a delivery code may be entered."""
    return parcel.status in services.DELIVERABLE and parcel.shop_order.status != SS.COMPLETED


def shipment_flags(shipment: Shipment) -> dict[str, bool]:
    """`can_load`: open, so parcels may be loaded and taken off and it may leave (the services refuse a
    shipment that is not open); `can_record`: on its way, so what happens to it may be recorded."""
    can_load = shipment.status == S.OPEN
    return {"can_load": can_load,
            "can_record": not can_load and bool(services.SHIPMENT_TRANSITIONS.get(shipment.status))}


def delivery_flags(shop_order: ShopOrder) -> dict[str, bool]:
    """For the buyer's order page, one part: show the delivery code, confirm receipt, rate the farm.

    Uses `shop_order.parcel` (select_related "parcel" keeps it free); a part without a parcel has none.
    """
    parcel = getattr(shop_order, "parcel", None)  # a missing reverse one-to-one raises an AttributeError subclass
    open_part = not order_states.shop_order_is_final(shop_order)
    return {
        "show_code": parcel is not None and open_part,
        "can_confirm": parcel is not None and open_part and parcel.status in services.DELIVERABLE,
        "can_review": shop_order.status in REVIEWABLE,
    }
