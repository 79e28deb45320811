"""Demo pre-sales and group offers, made through the real services. Idempotent: each is made once per product.

No payment service is needed: the demo pre-orders are cash on delivery, and the demo group's places are recorded
as card authorisations without calling Stripe (a Payment "authorised" with no PaymentIntent). Such a place has
nothing to capture: if a buyer fills the demo group with a real card, those demo members are asked to pay on the
ordinary pay page, as a buyer whose authorisation lapsed would be.
"""
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from orders.models import Payment
from shops.models import Product

from . import services
from .models import BuyingGroup, GroupDeal, PreOrder, PreSale

DISCOUNT = Decimal("0.85")


def _products(owner: str, count: int) -> list[Product]:
    return list(Product.objects.filter(shop__owner__username=owner, is_active=True, shop__is_open=True,
                                       stock__gte=F("min_order") * 6).select_related("shop").order_by("pk")[:count])


def _price(product: Product, factor: Decimal) -> Decimal:
    return max((product.price * factor).quantize(Decimal("0.01")), Decimal("0.01"))


def _presale(product: Product, *, starts_in: int, capacity: int) -> PreSale:
    presale = PreSale.objects.filter(product=product).first()
    if presale is not None:
        return presale
    start = timezone.localdate() + timedelta(days=starts_in)
    return services.create_presale(actor=product.shop.owner, product=product, harvest_start=start,
                                   harvest_end=start + timedelta(days=21), capacity=capacity,
                                   price=_price(product, DISCOUNT))


def _demo_authorised_place(group: BuyingGroup, buyer: User, quantity: int) -> None:
    """A place whose card authorisation is recorded without Stripe (see the module docstring)."""
    address = buyer.addresses.order_by("-is_default", "pk").first()
    with transaction.atomic():
        locked = BuyingGroup.objects.select_for_update().select_related("deal__product__shop__village").get(
            pk=group.pk)
        member = services._join_locked(group=locked, buyer=buyer, address=address, quantity=quantity)
        order = member.order
        Payment.objects.create(order=order, provider=Payment.Provider.STRIPE, status=Payment.Status.REQUIRES_CAPTURE,
                               amount=order.total, currency=order.currency, idempotency_key=f"demo-hold-{order.pk}")
    services.record_payment_state(order=order)


def load(out) -> None:
    buyer = User.objects.filter(username="buyer").first()
    buyer2 = User.objects.filter(username="buyer2").first()
    farm_products = _products("farmer", 2)
    other_products = _products("farmer2", 1) or _products("farmer3", 1)
    if not (buyer and buyer2 and buyer.addresses.exists() and buyer2.addresses.exists()) or len(farm_products) < 2 \
            or not other_products:
        out.write("Pre-sales demo skipped: it needs the demo users, their addresses and the catalogue.")
        return

    made = 0
    # A harvest a month away, already partly pre-ordered (cash on delivery), and one further off.
    first = _presale(farm_products[0], starts_in=30, capacity=200)
    _presale(farm_products[1], starts_in=75, capacity=80)
    if not PreOrder.objects.filter(presale=first).exists():
        for who, quantity in ((buyer, 2), (buyer2, 5)):
            services.place_preorder(buyer=who, presale=first, quantity=max(quantity, first.product.min_order),
                                    address=who.addresses.order_by("-is_default", "pk").first(),
                                    payment=PreOrder.Payment.COD)
            made += 1

    # A group offer with one open group: two places authorised, one to go.
    product = other_products[0]
    deal = GroupDeal.objects.filter(product=product).first()
    if deal is None:
        deal = services.create_group_deal(actor=product.shop.owner, product=product, group_size=3,
                                          group_price=_price(product, Decimal("0.80")), hours_to_fill=72)
    if not deal.groups.exists():
        group = BuyingGroup.objects.create(deal=deal, code=services._new_group_code(), size=deal.group_size,
                                           price=deal.group_price, started_by=buyer,
                                           expires_at=timezone.now() + timedelta(hours=deal.hours_to_fill))
        _demo_authorised_place(group, buyer, product.min_order)
        _demo_authorised_place(group, buyer2, product.min_order)
        made += 2
    out.write(f"Pre-sales demo ready ({made} new pre-orders and group places).")
