"""Money events orders announces for the apps above it (ledger books them), sent inside the writing transaction.

Receivers run in that transaction: what they write commits or rolls back with the business change. orders never
imports its listeners (the arrow points up only through these signals). Card payments that succeed are announced
by orders.payments.intents.payment_succeeded.
"""
from django.dispatch import Signal

# mark_order_paid moved an Order to paid: `order` (locked), `payment` (the Payment that paid it, or None when
# paid without one, as demo data is). Its parts that are not cancelled are what was sold.
order_paid = Signal()

# complete_shop_order completed a part (the buyer confirmed delivery, or it completed automatically): `shop_order`.
shop_order_completed = Signal()

# A Refund row was created or changed status: `refund`, `previous_status` (None when it was just created).
refund_recorded = Signal()

# A part of a paid order was cancelled (after any card refund was asked for): `shop_order`, `order`. A card
# payment's refund is announced by refund_recorded; a cash order's money goes back to the buyer by hand.
paid_part_cancelled = Signal()

# Parts of an order became the shops' to prepare (a paid order, a cash-on-delivery order placed or switched to cash,
# a weighed order authorised): `order`, `shop_orders`. Sent where the shops are notified; a repeat is possible, so
# receivers de-duplicate.
shop_orders_announced = Signal()
