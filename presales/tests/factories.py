"""Pre-sales, group deals and their buyers, built through the real services."""
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.tests.factories import AddressFactory, BuyerFactory
from presales import services
from presales.models import BuyingGroup, GroupDeal, GroupMember, PreOrder, PreSale
from shops.tests.factories import ProductFactory


def make_presale(*, product=None, capacity: int = 10, price: Decimal = Decimal("50.00"), starts_in: int = 5,
                 lasts: int = 15, **product_kwargs) -> PreSale:
    """A pre-sale whose harvest starts `starts_in` days from today (within LONG_PRESALE_DAYS by default, so a card
    can be authorised; further away, buyers pay with a saved card)."""
    product = product or ProductFactory(**{"price": Decimal("68.00"), "stock": 0, **product_kwargs})
    start = timezone.localdate() + timedelta(days=starts_in)
    return services.create_presale(actor=product.shop.owner, product=product, harvest_start=start,
                                   harvest_end=start + timedelta(days=lasts), capacity=capacity, price=price)


def buyer_with_address(**kwargs):
    buyer = BuyerFactory(**kwargs)
    return buyer, AddressFactory(user=buyer)


def preorder(presale: PreSale, *, quantity: int = 2, payment: str = PreOrder.Payment.COD, buyer=None) -> PreOrder:
    if buyer is None:
        buyer, address = buyer_with_address()
    else:
        address = buyer.addresses.first() or AddressFactory(user=buyer)
    return services.place_preorder(buyer=buyer, presale=presale, address=address, quantity=quantity,
                                   payment=payment)


def make_deal(*, product=None, size: int = 3, price: Decimal = Decimal("48.00"), hours: int = 24,
              **product_kwargs) -> GroupDeal:
    product = product or ProductFactory(**{"price": Decimal("68.00"), "stock": 50, **product_kwargs})
    return services.create_group_deal(actor=product.shop.owner, product=product, group_size=size,
                                      group_price=price, hours_to_fill=hours)


def start(deal: GroupDeal, *, quantity: int = 1, buyer=None) -> GroupMember:
    if buyer is None:
        buyer, address = buyer_with_address()
    else:
        address = buyer.addresses.first() or AddressFactory(user=buyer)
    return services.start_group(deal=deal, buyer=buyer, address=address, quantity=quantity)


def join(group: BuyingGroup, *, quantity: int = 1, buyer=None) -> GroupMember:
    if buyer is None:
        buyer, address = buyer_with_address()
    else:
        address = buyer.addresses.first() or AddressFactory(user=buyer)
    return services.join_group(group=group, buyer=buyer, address=address, quantity=quantity)
