"""Every write of pre-sales and group buying: keyword-only arguments, one transaction each.

A pre-order or a place in a buying group ends as an ordinary orders.Order (one ShopOrder, one OrderLine at
the pre-sale or group price) that the farm accepts, packs and hands over like any other. What differs is
when the money moves:

- pre-order by card: the order total is authorised on the card at once (Stripe, manual capture) and captured
  when the farm hands the parcel over (capture_presale_order, wired to logistics' hand-over signal);
- pre-order with Alipay or WeChat Pay: those cannot be authorised and captured later, so the order is paid in
  full at once through the ordinary pay page, and refunded if the harvest fails;
- pre-order cash on delivery: nothing is taken before delivery;
- group place: card only; authorised on joining, captured for every member when the group fills,
  released for every member when the time runs out.

Pre-sale units are not the product's stock (the harvest is not in yet): they are the pre-sale's capacity,
taken with one conditional UPDATE. Group orders take real stock, like a checkout.

Locks, always in this order: the BuyingGroup (or PreSale), then Orders, then their ShopOrders, then
products, then PreOrder / GroupMember rows. Stripe payments are locked Payment-then-Order, as in
orders.payments. While a pre-order or an unfilled group's order is live, orders' own cancel flows refuse it
(orders made with origin presale or group are held by their origin until end_origin_hold, which a group's
fill calls): it is cancelled here, so the authorisation and the units are released with it. Every status
change of a pre-order, a group or a member goes through presales.states.

The package is cut by job: common (checks, the order, notices, hand-offs to Celery), harvests (the farm's
pre-sales), holds (card holds and following payments), preorders (the buyer's pre-orders) and groups.
"""
from .common import (  # noqa: F401 (the services of presales, one import away)
    MAX_LEAD_DAYS,
    MAX_PRICE,
    MAX_QUANTITY,
    MAX_WINDOW_DAYS,
    MIN_PRICE,
    MS,
    OS,
    PS,
    RELEASABLE_PARTS,
    SHIPPED_PARTS,
    SS,
    _enqueue,
)
from .groups import (  # noqa: F401 (the services of presales, one import away)
    _fail_group_locked,
    _join_locked,
    _new_group_code,
    confirm_group_member,
    create_group_deal,
    expire_groups,
    join_group,
    leave_group,
    parse_group_code,
    release_order_hold,
    start_group,
    update_group_deal,
)
from .harvests import (  # noqa: F401 (the services of presales, one import away)
    cancel_presale,
    create_presale,
    update_presale,
)
from .holds import (  # noqa: F401 (the services of presales, one import away)
    authorise_card,
    card_hold_details,
    record_payment_state,
    refresh_payment,
)
from .preorders import (  # noqa: F401 (the services of presales, one import away)
    cancel_preorder,
    capture_presale_order,
    is_long_presale,
    place_preorder,
    release_for_failed_harvest,
    release_preorder,
    release_unpaid_preorders,
    seller_cancel_preorder,
)
