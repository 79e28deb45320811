"""Reads for pre-sales and group buying, scoped to the user: the one place that says who may see what."""
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from shops.cache import held
from shops.models import Product
from shops.selectors import shops_managed_by

from .models import BuyingGroup, GroupDeal, GroupMember, PreOrder, PreSale


def _public_product_q(prefix: str = "product__") -> Q:
    return Q(**{f"{prefix}is_active": True, f"{prefix}shop__is_open": True})


# --- Pre-sales ------------------------------------------------------------------------------------------------------

def current_presales() -> QuerySet[PreSale]:
    """Pre-sales a buyer may order from: open, not cancelled, harvest not over, product on sale."""
    return (PreSale.objects.filter(_public_product_q(), is_open=True, cancelled_at__isnull=True,
                                   harvest_end__gte=timezone.localdate())
            .select_related("product", "product__shop", "product__shop__village", "product__category")
            .order_by("harvest_start", "id"))


def public_presale(pk: int) -> PreSale | None:
    """A pre-sale's public page: any pre-sale of a product on sale (a closed one still says why)."""
    return (PreSale.objects.filter(_public_product_q(), pk=pk)
            .select_related("product", "product__shop", "product__shop__village", "product__category").first())


def presales_managed_by(user: User) -> QuerySet[PreSale]:
    if not user.is_authenticated:
        return PreSale.objects.none()
    return (PreSale.objects.filter(product__shop__in=shops_managed_by(user))
            .select_related("product", "product__shop").order_by("-created_at", "-id"))


def products_for_offers(user: User) -> QuerySet[Product]:
    """Products the user may open a pre-sale or group deal for: on sale, in a shop they manage."""
    if not user.is_authenticated:
        return Product.objects.none()
    return (Product.objects.filter(shop__in=shops_managed_by(user), is_active=True)
            .select_related("shop").order_by("shop__name", "title", "id"))


def preorders_for_buyer(user: User) -> QuerySet[PreOrder]:
    """The only pre-orders a buyer may read or cancel: their own (others are a 404)."""
    if not user.is_authenticated:
        return PreOrder.objects.none()
    return (PreOrder.objects.filter(buyer=user)
            .select_related("order", "presale", "presale__product", "presale__product__shop")
            .order_by("-created_at", "-id"))


def preorders_of_presale(presale: PreSale) -> QuerySet[PreOrder]:
    """For the farm: one pre-sale's orders with what a list shows (buyer, order, its part)."""
    return (PreOrder.objects.filter(presale=presale).select_related("order", "buyer")
            .prefetch_related("order__shop_orders").order_by("-created_at", "-id"))


def preorders_managed_by(user: User) -> QuerySet[PreOrder]:
    if not user.is_authenticated:
        return PreOrder.objects.none()
    return (PreOrder.objects.filter(presale__product__shop__in=shops_managed_by(user))
            .select_related("order", "buyer", "presale", "presale__product", "presale__product__shop"))


# --- Group buying ---------------------------------------------------------------------------------------------------

def open_groups_queryset() -> QuerySet[BuyingGroup]:
    return (BuyingGroup.objects.filter(status=BuyingGroup.Status.OPEN, expires_at__gt=timezone.now())
            .order_by("expires_at", "id"))


# Open groups shown per offer on the product page (the group list page has them all).
GROUPS_SHOWN = 5


def offer_prefetches() -> list[Prefetch]:
    """What the product-page includes read: `current_presales` and `group_offers` (with `open_groups`)."""
    return [
        Prefetch("presales", queryset=PreSale.objects.filter(
            is_open=True, cancelled_at__isnull=True, harvest_end__gte=timezone.localdate()).order_by(
            "harvest_start", "id"), to_attr="current_presales"),
        Prefetch("group_deals", queryset=GroupDeal.objects.filter(is_active=True).order_by("group_size", "id")
                 .prefetch_related(Prefetch("groups", queryset=open_groups_queryset()[:GROUPS_SHOWN],
                                           to_attr="open_groups")),
                 to_attr="group_offers"),
    ]


def _offered_product_ids() -> frozenset[int]:
    presales = (PreSale.objects.filter(is_open=True, cancelled_at__isnull=True).order_by()
                .values_list("product_id", flat=True))
    deals = GroupDeal.objects.filter(is_active=True).order_by().values_list("product_id", flat=True)
    return frozenset(presales.union(deals))


# The version of the set of products with offers: bumped when an offer opens, closes or ends.
OFFERS = "offers"


def offered_product_ids() -> frozenset[int]:
    """Products with an open pre-sale or an active group offer, or both. Held by each process until an offer opens,
    closes or ends (or the whole catalogue's version moves), so a product page without offers, most of them, asks
    nothing. A superset: a pre-sale whose harvest has ended stays in until then, and its page finds it over."""
    return held("presales-offered-products", _offered_product_ids, scope=OFFERS)


def with_offers(products: QuerySet[Product]) -> QuerySet[Product]:
    """Prefetch what the product-page includes read, for a view that renders them for many products."""
    return products.prefetch_related(*offer_prefetches())


def public_deals() -> QuerySet[GroupDeal]:
    return (GroupDeal.objects.filter(_public_product_q(), is_active=True)
            .select_related("product", "product__shop", "product__shop__village").order_by("-created_at", "-id"))


def public_deal(pk: int) -> GroupDeal | None:
    return public_deals().filter(pk=pk).first()


def deals_managed_by(user: User) -> QuerySet[GroupDeal]:
    if not user.is_authenticated:
        return GroupDeal.objects.none()
    return (GroupDeal.objects.filter(product__shop__in=shops_managed_by(user))
            .select_related("product", "product__shop").order_by("-created_at", "-id"))


def groups_of_deal(deal: GroupDeal) -> QuerySet[BuyingGroup]:
    return BuyingGroup.objects.filter(deal=deal).order_by("-created_at", "-id")


def public_groups() -> QuerySet[BuyingGroup]:
    """Groups anyone with the link may see (the share page): of products still on sale."""
    return (BuyingGroup.objects.filter(_public_product_q("deal__product__"))
            .select_related("deal", "deal__product", "deal__product__shop", "deal__product__shop__village"))


def open_groups() -> QuerySet[BuyingGroup]:
    return public_groups().filter(status=BuyingGroup.Status.OPEN, expires_at__gt=timezone.now()).order_by(
        "expires_at", "id")


def memberships_for_buyer(user: User) -> QuerySet[GroupMember]:
    """The only places a buyer may read, authorise or leave: their own."""
    if not user.is_authenticated:
        return GroupMember.objects.none()
    return (GroupMember.objects.filter(buyer=user)
            .select_related("order", "group", "group__deal", "group__deal__product")
            .order_by("-joined_at", "-id"))


def live_membership(user: User, group: BuyingGroup) -> GroupMember | None:
    if not user.is_authenticated:
        return None
    return group.members.filter(buyer=user, status__in=GroupMember.LIVE).select_related("order").first()


# --- Flags for the pages: what a pre-order or a place waits for (templates never compare status strings) ----------

def preorder_flags(preorder: PreOrder) -> dict[str, bool]:
    """`awaits_card`: authorise the card on the hold page; `awaits_payment`: pay in full on the pay page;
    `is_authorised`: the card is held, charged when the farm ships; `payment_due`: the hold lapsed, pay now."""
    pending = preorder.status == PreOrder.Status.PENDING
    by_card = preorder.payment == PreOrder.Payment.CARD
    return {
        "awaits_card": pending and by_card,
        "awaits_payment": pending and not by_card,
        "is_authorised": preorder.status == PreOrder.Status.AUTHORISED,
        "payment_due": preorder.status == PreOrder.Status.PAYMENT_DUE,
    }


def member_flags(member: GroupMember) -> dict[str, bool]:
    """`awaits_card`: authorise the card to keep the place; `is_authorised`: waiting for the group to fill;
    `can_leave`: still held back and the group still open (reads `member.group`: select it with the member)."""
    return {
        "awaits_card": member.status == GroupMember.Status.PENDING,
        "is_authorised": member.status == GroupMember.Status.AUTHORISED,
        "can_leave": member.is_held and member.group.status == BuyingGroup.Status.OPEN,
    }


def group_is_filled(group: BuyingGroup) -> bool:
    return group.status == BuyingGroup.Status.FILLED
