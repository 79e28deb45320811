"""Reads for shops and the catalogue, and the one place that says who manages what."""
from django.db.models import BooleanField, Count, ExpressionWrapper, F, Prefetch, Q, QuerySet
from django.utils import timezone

from accounts.models import User

from . import stock
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


# What a product tile shows (`product_tiles` in templatetags/catalogue.py), besides its photos. A list page
# loads no more: the description and the search document are most of a row's bytes and decoding time.
TILE_FIELDS = ("title", "price", "unit", "stock", "min_order", "organic", "green_food", "geographical_indication",
               "created_at", "shop__name", "shop__village__province")


def product_for_page() -> QuerySet[Product]:
    """A public product for its page, with its shop and village. Its category comes from the category tree
    each process holds. (Deferring the search document cost more in building the deferred model than it saved
    in reading the column.)"""
    return Product.objects.filter(is_active=True, shop__is_open=True).select_related("shop__village").order_by()


def product_photos(product: Product) -> list[ProductImage]:
    """A product's photos, cover first (one plain query: cheaper than a prefetch for one product)."""
    return list(ProductImage.objects.filter(product_id=product.pk).order_by("-is_cover", "position", "id"))


def more_from_shop(product: Product) -> QuerySet[Product]:
    """The shop's other listed products, newest first, for the page of a product shown publicly, so of an open
    shop: no join to the shop is needed (the shop page's index serves it)."""
    return (Product.objects.filter(shop_id=product.shop_id, is_active=True).exclude(pk=product.pk)
            .order_by("-created_at", "-id"))


def listing_base() -> QuerySet[Product]:
    """Public products as a catalogue listing reads them: ids, counts and facets, never rows (its tiles load their
    own, `listed_products`). Nothing joined, deferred or prefetched, so each step that builds a page's query
    clones a smaller query (about 0.1 ms of an uncached list page)."""
    return Product.objects.filter(is_active=True, shop__is_open=True)


def listed_products() -> QuerySet[Product]:
    """Public products as tiles: the columns a tile shows with its shop and village, its photos in one more
    query. (Reading the photos inside the products' query as a JSON array saved that round trip but cost as
    much in building and decoding the array: no faster, measured on PostgreSQL with 10,000 products.)"""
    return (Product.objects.filter(is_active=True, shop__is_open=True).select_related("shop__village")
            .only(*TILE_FIELDS).prefetch_related(ordered_images()))


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
    """The lots offered on the product page: none inside its pre-harvest interval (shops.stock)."""
    return stock.cleared_lots(product.lots.order_by("-harvested_on", "-id"))


def lots_and_sale_hold(product: Product, shown: int) -> tuple[list[HarvestLot], str]:
    """The product page's lots (the first `shown` cleared ones, as `public_lots`) and its `sale_hold` text, from
    one query over the product's lots, each marked held or not: the same verdict as `with_sale_hold` (the
    product has lots and every one is held; it clears on the earliest end of a running interval), without
    its correlated subqueries on the product's own query. None at all for a product without lots (`has_lots`)."""
    if not product.has_lots:
        return [], ""
    today = timezone.localdate()
    lots = list(product.lots.order_by("-harvested_on", "-id")
                .only("product_id", "code", "harvested_on", "plot")
                .annotate(held=ExpressionWrapper(stock.lot_held(today), output_field=BooleanField()),
                          clears_on=stock._lot_clears_on(today)))
    cleared = [lot for lot in lots if not lot.held]
    ends = [lot.clears_on for lot in lots if lot.clears_on is not None]
    hold = stock.SaleHold(blocks_sale=bool(lots) and not cleared, until=min(ends) if ends else None)
    return cleared[:shown], stock.phi_problem(product, hold)


def with_sale_hold(queryset: QuerySet[Product]) -> QuerySet[Product]:
    """Products with the pre-harvest rule's verdict read in the same query (for `sale_hold`)."""
    return queryset.annotate(**stock.sale_hold_annotations())


def sale_hold(product: Product) -> str:
    """Why the product page offers no way to buy under the pre-harvest rule ("" when it can be bought).
    The product comes from `with_sale_hold`."""
    return stock.phi_problem(product, stock.sale_hold_of(product))
