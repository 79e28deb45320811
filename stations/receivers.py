"""Text messages to assisted farmers on events the apps below announce: a new order for their shop (paid, or cash on
delivery), a payout.

Through the notifications outbox (written in the announcing transaction, sent after commit, retried), SMS only and
without a link, so each message stays one SMS (stations.texts).
"""
from django.dispatch import receiver

from ledger.signals import payout_paid
from notifications.services import Message, notify_many
from orders.events import shop_orders_announced

from . import texts
from .models import AssistedFarmer


def _assisted(user_ids) -> dict[int, AssistedFarmer]:
    return {r.farmer_id: r for r in AssistedFarmer.objects.filter(farmer_id__in=set(user_ids)).select_related("farmer")}


@receiver(shop_orders_announced, dispatch_uid="stations.new_order_sms")
def text_new_order(sender, *, order, shop_orders, **kwargs) -> None:
    # Parts that became the farm's to prepare: a paid order, or a cash order as soon as it is placed.
    farmers = _assisted(so.shop.owner_id for so in shop_orders)
    messages = []
    for so in shop_orders:
        record = farmers.get(so.shop.owner_id)
        if record is None:
            continue
        params = {"number": order.number, "shop": so.shop.name, "total": so.items_total}
        messages.append(Message(
            recipient=record.farmer, kind="assisted_new_order", channels=("sms",),
            subject=lambda p=params: texts.new_order(**p), body=lambda p=params: texts.new_order(**p),
            dedupe_key=f"assisted_new_order:{so.pk}"))
    if messages:
        notify_many(messages)


@receiver(payout_paid, dispatch_uid="stations.payout_paid_sms")
def text_payout(sender, *, payout, **kwargs) -> None:
    record = _assisted([payout.shop.owner_id]).get(payout.shop.owner_id)
    if record is None:
        return
    params = {"shop": payout.shop.name, "amount": payout.amount}
    notify_many([Message(recipient=record.farmer, kind="assisted_payout", channels=("sms",),
                         subject=lambda: texts.payout(**params), body=lambda: texts.payout(**params),
                         dedupe_key=f"assisted_payout:{payout.pk}")])
