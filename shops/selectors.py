"""Reads for shops and the catalogue, and the one place that says who manages what."""
from django.db.models import Count, F, Prefetch, Q, QuerySet

from accounts.models import User

from .models import HarvestLot, InputApplication, Product, ProductImage, Shop, ShopMember


def shops_managed_by(user: User) -> QuerySet[Shop]:
    """Shops the user owns or manages (cooperative managers)."""
    if not user.is_authenticated:
        return Shop.objects.none()
    return Shop.objects.filter(
        Q(owner=user) | Q(memberships__user=user, memberships__role=ShopMember.Role.MANAGER)
    ).distinct()


def shops_of_member(user: User) -> QuerySet[Shop]:
    if not user.is_authenticated:
        return Shop.objects.none()
    return Shop.objects.filter(Q(owner=user) | Q(memberships__user=user)).distinct()


def can_manage_shop(user: User, shop: Shop) -> bool:
    if not user.is_authenticated:
        return False
    return shop.owner_id == user.pk or ShopMember.objects.filter(
        shop=shop, user=user, role=ShopMember.Role.MANAGER).exists()


def products_managed_by(user: User) -> QuerySet[Product]:
    return Product.objects.filter(shop__in=shops_managed_by(user)).select_related("shop", "category")


def lots_managed_by(user: User) -> QuerySet[HarvestLot]:
    return (HarvestLot.objects.filter(product__shop__in=shops_managed_by(user))
            .select_related("product", "product__shop", "grower"))


def ordered_images() -> Prefetch:
    return Prefetch("images", queryset=ProductImage.objects.order_by("-is_cover", "position", "id"))


def public_products() -> QuerySet[Product]:
    """Products a buyer may see: on sale, in an open shop, with what a list needs in one query each."""
    return (Product.objects.filter(is_active=True, shop__is_open=True)
            .select_related("shop", "shop__village", "category")
            .prefetch_related(ordered_images()))


def public_shops() -> QuerySet[Shop]:
    return Shop.objects.filter(is_open=True).select_related("village")


def lot_with_inputs(queryset: QuerySet[HarvestLot] | None = None) -> QuerySet[HarvestLot]:
    queryset = queryset if queryset is not None else HarvestLot.objects.all()
    return queryset.select_related("product", "product__shop", "product__shop__village", "grower").prefetch_related(
        Prefetch("inputs", queryset=InputApplication.objects.order_by("applied_on", "id")))


# --- Catalogue pages (buyer-facing) ----------------------------------------------------------

def products_in_season(month: int) -> QuerySet[Product]:
    """Public products whose season includes the month (bit month-1 of season_mask)."""
    return (public_products().alias(in_month=F("season_mask").bitand(1 << (month - 1)))
            .filter(in_month__gt=0).order_by("-created_at", "-id"))


def new_arrivals() -> QuerySet[Product]:
    return public_products().order_by("-created_at", "-id")


def provinces_with_products() -> QuerySet:
    """(province, number of public products), for the home page's shop-by-province links."""
    return (Product.objects.filter(is_active=True, shop__is_open=True)
            .values_list("shop__village__province").annotate(products=Count("id"))
            .order_by("shop__village__province"))


def public_lots(product: Product) -> QuerySet[HarvestLot]:
    return product.lots.order_by("-harvested_on", "-id")
