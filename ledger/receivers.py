"""The money events orders announces, booked in the announcing transaction (the arrow points up: orders never
imports ledger). Each booking is idempotent, so an event announced twice is booked once."""
from django.dispatch import receiver

from orders.events import order_paid, paid_part_cancelled, refund_recorded, shop_order_completed
from orders.payments.intents import payment_succeeded

from . import services


@receiver(payment_succeeded, dispatch_uid="ledger.book_card_payment")
def book_card_payment(sender, *, payment, intent, **kwargs) -> None:
    services.book_payment_received(payment=payment, amount=intent.amount_received or intent.amount)


@receiver(order_paid, dispatch_uid="ledger.book_order_paid")
def book_order_paid(sender, *, order, payment, **kwargs) -> None:
    services.book_order_paid(order=order, payment=payment)


@receiver(shop_order_completed, dispatch_uid="ledger.release_shop_order")
def release_shop_order(sender, *, shop_order, **kwargs) -> None:
    services.release_shop_order(shop_order=shop_order)


@receiver(refund_recorded, dispatch_uid="ledger.book_refund")
def book_refund(sender, *, refund, previous_status, **kwargs) -> None:
    services.book_refund(refund=refund, previous_status=previous_status)


@receiver(paid_part_cancelled, dispatch_uid="ledger.book_cash_part_cancelled")
def book_cash_part_cancelled(sender, *, shop_order, order, **kwargs) -> None:
    services.book_cash_part_cancelled(shop_order=shop_order, order=order)
