"""Listening to orders, payments and logistics without those apps knowing about presales.

- Every change of a Stripe payment of a pre-order or group order (webhook, reconcile, pay page) is followed
  after commit, so an authorisation or an up-front payment moves the pre-order or the group on.
- A farm's hand-over of a card pre-order captures its authorisation after commit (logistics sends
  tracking_events_recorded inside its hand-over transaction).
"""
from django.db.models import prefetch_related_objects
from django.db.models.signals import post_save
from django.dispatch import receiver

from logistics.models import TrackingEvent
from logistics.signals import tracking_events_recorded
from orders.models import Payment
from shops.signals import product_page

from .models import GroupMember, PreOrder
from .selectors import offer_prefetches, offered_product_ids
from .services.common import _enqueue


@receiver(post_save, sender=Payment, dispatch_uid="presales.follow_payments")
def follow_payments(sender, instance: Payment, raw: bool = False, **kwargs) -> None:
    if raw or instance.provider != Payment.Provider.STRIPE:
        return
    order_id = instance.order_id
    if PreOrder.objects.filter(order_id=order_id).exists() or GroupMember.objects.filter(order_id=order_id).exists():
        _enqueue("follow_order_payment", order_id)


@receiver(tracking_events_recorded, dispatch_uid="presales.capture_on_hand_over")
def capture_on_hand_over(sender, events, **kwargs) -> None:
    parts = [e.parcel.shop_order_id for e in events if e.kind == TrackingEvent.Kind.HANDED_OVER and e.parcel_id]
    if not parts:
        return
    for order_id in PreOrder.objects.filter(order__shop_orders__in=parts, status=PreOrder.Status.AUTHORISED
                                            ).values_list("order_id", flat=True):
        _enqueue("capture_presale_order", order_id)


@receiver(product_page, dispatch_uid="presales.product_page_offers")
def load_product_offers(sender, product, **kwargs) -> None:
    """The product page's pre-sales and group offers (the includes' tags read them): none for a product without
    offers; else two queries, three when the product has a group offer."""
    if product.pk not in offered_product_ids():
        product.current_presales, product.group_offers = [], []
        return
    prefetch_related_objects([product], *offer_prefetches())
