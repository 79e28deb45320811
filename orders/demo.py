"""Demo orders and a demo cart, made through the real services (stock, fees and notifications are real).

Idempotent: orders are made only for a buyer who has none yet; the cart is topped up only with
products it does not already hold. Online payment is not needed: "paid" orders are cash orders
whose cash the demo agent has recorded, or marked paid as a webhook would.
"""
from django.db.models import F

from accounts.models import User
from accounts.services import create_address
from shops.models import Product

from . import services
from .models import Order


def _products(count: int, *, skip_shops=()) -> list[Product]:
    """Products on sale from `count` different shops, in a stable order."""
    chosen: list[Product] = []
    seen = set(skip_shops)
    for product in (Product.objects.filter(is_active=True, shop__is_open=True, stock__gte=F("min_order") * 4)
                    .select_related("shop").order_by("pk")):
        if product.shop_id not in seen:
            seen.add(product.shop_id)
            chosen.append(product)
        if len(chosen) == count:
            break
    return chosen


def _order(buyer: User, products: list[Product]) -> Order:
    address = buyer.addresses.order_by("-is_default", "pk").first()
    cart = services.open_cart(user=buyer)
    for product in products:
        services.add_to_cart(cart=cart, product=product, quantity=product.min_order)
    return services.place_order(buyer=buyer, address=address, payment_method=Order.PaymentMethod.COD)


def _ensure_address(user: User) -> None:
    if not user.addresses.exists():
        create_address(user=user, name="张艾玛", phone="13911112222", province="浙江省", city="杭州市",
                       district="西湖区", line="文三路 90 号 3 单元 501", postal_code="310012", is_default=True)


def load(out) -> None:
    buyer = User.objects.filter(username="buyer").first()
    buyer2 = User.objects.filter(username="buyer2").first()
    agent = User.objects.filter(username="agent").first()
    products = _products(6)
    if not (buyer and buyer2 and agent) or len(products) < 4:
        out.write("Orders demo skipped: it needs the demo users and catalogue.")
        return
    _ensure_address(buyer)
    _ensure_address(buyer2)

    made = 0
    if not Order.objects.filter(buyer=buyer).exists():
        # Waiting: cash on delivery, the farms have not accepted yet.
        _order(buyer, products[0:2])
        # Paid in cash (recorded by the agent) and accepted by every farm: ready to pack.
        accepted = _order(buyer, products[2:4])
        services.record_cash_payment(order=accepted, agent=agent)
        for part in accepted.shop_orders.select_related("shop__owner"):
            services.accept_shop_order(shop_order=part, actor=part.shop.owner)
        # Paid as a payment webhook would mark it; new for the farm.
        services.mark_order_paid(order=_order(buyer, products[1:2]))
        # Changed their mind.
        cancelled = _order(buyer, products[3:4])
        services.cancel_order(order=cancelled, actor=buyer, reason="下错单了 Ordered by mistake")
        made += 4
    if not Order.objects.filter(buyer=buyer2).exists():
        other = _order(buyer2, products[-2:])
        services.record_cash_payment(order=other, agent=agent)
        for part in other.shop_orders.select_related("shop__owner"):
            services.accept_shop_order(shop_order=part, actor=part.shop.owner)
        made += 1

    # A cart to check out, from two farms.
    cart = services.open_cart(user=buyer)
    held = set(cart.items.values_list("product_id", flat=True))
    for product in products[4:6]:
        if product.pk not in held:
            services.add_to_cart(cart=cart, product=product, quantity=product.min_order)
    out.write(f"Demo orders: {made} new; buyer's cart holds {cart.items.count()} products.")
