"""Stations, agents and orders ready to ship, built through the real services."""
from decimal import Decimal

import factory

from accounts.models import User
from accounts.tests.factories import AgentFactory, BuyerFactory, UserFactory
from logistics import services
from logistics.models import Agent, Parcel, Station
from orders import services as order_services
from orders.models import Order, ShopOrder
from orders.tests.factories import place
from shops.tests.factories import HarvestLotFactory, ProductFactory, ShopFactory, VillageFactory


class StationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Station
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"桃源村服务站 {n}")
    address = "村委会东侧"
    opening_hours = "8:00-18:00"

    @factory.post_generation
    def villages(self, create, extracted, **kwargs):
        if create:
            self.villages.set(extracted if extracted is not None else [VillageFactory()])


def staff() -> User:
    return UserFactory(role=User.Role.STAFF, is_staff=True)


def agent_at(station: Station) -> User:
    user = AgentFactory()
    Agent.objects.create(user=user, station=station)
    return user


def shop_at(station: Station, **kwargs):
    return ShopFactory(village=station.villages.first(), **kwargs)


def ready_part(station: Station, *, payment_method: str = Order.PaymentMethod.STRIPE, buyer=None, lines: int = 1,
               cold_chain: bool = False, quantity: int = 2, shop=None) -> ShopOrder:
    """An accepted ShopOrder of a shop in the station's village, each product with a harvest lot.

    Card orders are marked paid (as the webhook would); cash orders stay unpaid until the agent collects.
    """
    shop = shop or shop_at(station)
    products = [ProductFactory(shop=shop, price=Decimal("30.00"), stock=50, cold_chain=cold_chain)
                for _ in range(lines)]
    for product in products:
        HarvestLotFactory(product=product, quantity=100)
    order = place(buyer=buyer or BuyerFactory(), lines=[(p, quantity) for p in products],
                  payment_method=payment_method)
    if payment_method == Order.PaymentMethod.STRIPE:
        order_services.mark_order_paid(order=order)
    part = order.shop_orders.get(shop=shop)
    return order_services.accept_shop_order(shop_order=part, actor=shop.owner)


def pack(part: ShopOrder) -> ShopOrder:
    lots = {line.pk: line.product.lots.first() for line in part.lines.select_related("product")}
    return services.pack_shop_order(shop_order=part, actor=part.shop.owner, lots=lots)


def handed_over(station: Station, **kwargs) -> Parcel:
    part = pack(ready_part(station, **kwargs))
    return services.hand_over_shop_order(shop_order=part, actor=part.shop.owner)


def received(station: Station, agent: User, **kwargs) -> Parcel:
    parcel = handed_over(station, **kwargs)
    return services.receive_parcel(actor=agent, code=parcel.code)


def departed(station: Station, agent: User, count: int = 1, **kwargs):
    parcels = [received(station, agent, **kwargs) for _ in range(count)]
    shipment = services.create_shipment(actor=agent, destination="杭州市", carrier="顺丰速运", tracking_number="SF1")
    services.add_parcels_to_shipment(shipment=shipment, actor=agent, codes=[p.code for p in parcels])
    services.record_shipment_event(shipment=shipment, actor=agent, kind="departed")
    return shipment, [Parcel.objects.get(pk=p.pk) for p in parcels]


def mistype(code: str) -> str:
    """The same code with one character changed: the check character catches it."""
    body = code[1:-1]
    swapped = ("1" if body[0] != "1" else "2") + body[1:]
    return f"{code[0]}{swapped}{code[-1]}"
