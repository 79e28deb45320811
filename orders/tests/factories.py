"""Carts and orders for tests, built through the real services so stock and totals are what checkout makes."""
from decimal import Decimal

import factory

from accounts.tests.factories import AddressFactory, BuyerFactory
from orders import services
from orders.models import Cart, CartItem, Order
from shops.tests.factories import ProductFactory


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart

    user = factory.SubFactory(BuyerFactory)


class CartItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1


def fill_cart(buyer, *lines) -> Cart:
    """Put (product, quantity) pairs in the buyer's cart through the cart service."""
    cart = services.open_cart(user=buyer)
    for product, quantity in lines:
        services.add_to_cart(cart=cart, product=product, quantity=quantity)
    return cart


def place(*, buyer=None, lines=None, payment_method: str = Order.PaymentMethod.COD, address=None,
          shops: int = 1, price: Decimal = Decimal("20.00"), quantity: int = 2) -> Order:
    """A checked-out order: `lines` are (product, quantity); by default one product from each of `shops` shops."""
    buyer = buyer or BuyerFactory()
    address = address or AddressFactory(user=buyer)
    if lines is None:
        lines = [(ProductFactory(price=price, stock=50), quantity) for _ in range(shops)]
    fill_cart(buyer, *lines)
    return services.place_order(buyer=buyer, address=address, payment_method=payment_method)
