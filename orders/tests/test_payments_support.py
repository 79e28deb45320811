"""Builders shared by the payment tests: orders made straight through the models, and Stripe-signed webhooks."""
import hashlib
import hmac
import itertools
import json
import time
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.tests.factories import BuyerFactory
from core.money import to_minor_units
from orders.models import Order, OrderLine, Payment, ShopOrder
from shops.tests.factories import ProductFactory

_numbers = itertools.count(1)


def make_order(*, buyer=None, shops: int = 2, price: Decimal = Decimal("30.00"), quantity: int = 2,
               shipping: Decimal = Decimal("8.00"), payment_method: str = Order.PaymentMethod.STRIPE,
               stock: int = 100) -> Order:
    """A checked-out order waiting for payment: one part per shop, stock already taken off as at checkout."""
    buyer = buyer or BuyerFactory()
    order = Order.objects.create(
        number=f"FGT{int(time.time()) % 100000:05d}{next(_numbers):06d}", buyer=buyer, payment_method=payment_method,
        recipient="李明", phone="13912345678", province="浙江省", city="杭州市", district="西湖区",
        address_line="文三路 1 号", postal_code="310000", reserved_until=timezone.now() + timedelta(minutes=30))
    items_total = shipping_total = Decimal("0.00")
    for _ in range(shops):
        product = ProductFactory(price=price, stock=stock - quantity)
        line_total = price * quantity
        part = ShopOrder.objects.create(order=order, shop=product.shop, items_total=line_total,
                                        shipping_fee=shipping, total=line_total + shipping,
                                        weight_kg=product.unit_weight_kg * quantity)
        OrderLine.objects.create(shop_order=part, product=product, title=product.title, unit=product.unit,
                                 unit_weight_kg=product.unit_weight_kg, unit_price=price, quantity=quantity,
                                 line_total=line_total)
        items_total += line_total
        shipping_total += shipping
    order.items_total, order.shipping_total, order.total = items_total, shipping_total, items_total + shipping_total
    order.save()
    return order


def make_payment(order: Order, intent_id: str, **fields) -> Payment:
    return Payment.objects.create(order=order, provider=Payment.Provider.STRIPE, intent_id=intent_id,
                                  idempotency_key=f"test-{intent_id}", amount=order.total, **fields)


def intent_payload(order: Order, intent_id: str, status: str, *, error: str = "") -> dict:
    """A PaymentIntent as Stripe puts it in an event."""
    intent = {"id": intent_id, "object": "payment_intent", "amount": to_minor_units(order.total),
              "currency": "cny", "status": status, "metadata": {"order_number": order.number},
              "last_payment_error": None, "client_secret": f"{intent_id}_secret_x"}
    if status == "succeeded":
        intent["amount_received"] = intent["amount"]
    if error:
        intent["last_payment_error"] = {"code": "card_declined", "message": error}
    return intent


def event(event_id: str, event_type: str, obj: dict) -> dict:
    return {"id": event_id, "object": "event", "type": event_type, "created": int(time.time()),
            "api_version": "2024-06-20", "data": {"object": obj}}


def stripe_signature(payload: str, secret: str, timestamp: int | None = None) -> str:
    """The Stripe-Signature header exactly as Stripe computes it: v1 = HMAC-SHA256(secret, "t.payload")."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post_event(client, body: dict, secret: str, *, signature: str | None = None):
    payload = json.dumps(body)
    headers = {} if signature == "" else {"HTTP_STRIPE_SIGNATURE": signature or stripe_signature(payload, secret)}
    return client.post("/stripe/webhook/", data=payload, content_type="application/json", **headers)
