"""The buyer's catalogue: category, search, product and shop pages. Thin: reads go through the
selectors and `search`, pages are cached for visitors without a session (`cache.cache_catalogue_page`).
"""
from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from . import cache, search, selectors, tiles
from .cache import cache_catalogue_page
from .models import Product, Shop
from .signals import product_page, shop_page

PAGE_SIZE = 24
HOME_TILES = 8
LOTS_SHOWN = 10
MORE_FROM_SHOP = 4


def paginate(request, queryset):
    """A page of 24; a bad or out-of-range ?page= gives the first or the last page, never an error."""
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def home_context() -> dict:
    tree = search.CategoryTree.current()
    return {
        "in_season": tiles.grid(selectors.products_in_season(timezone.localdate().month)[:HOME_TILES]),
        "new_arrivals": tiles.grid(selectors.new_arrivals()[:HOME_TILES]),
        "provinces": selectors.provinces_with_products(),
        "categories": tree.roots,
        "tree": tree,
    }


def _report_cached_search(request, meta) -> None:
    """A search or category page served from the cache announces its search, as its render did."""
    if isinstance(meta, tuple):  # cached before the count was kept: (query, category, province) of a miss
        meta = {**dict(zip(("query", "category", "province"), meta, strict=False)), "results": 0}
    search.report_search(**meta, via=search.VIA_WEB, user=request.user)


def _listing(request, template: str, *, fixed_category=None, tree=None):
    tree = tree or search.CategoryTree.current()
    form = search.CatalogueFilterForm(request.GET, tree=tree, fixed_category=fixed_category)
    form.is_valid()
    results = search.catalogue_results(selectors.listing_base(), form)
    page = paginate(request, results.products)
    grid = tiles.grid(page.object_list)
    results.count_facets(page.paginator.count)
    removals = search.removal_links(request.GET, form)
    spellings = [word for found in results.search.corrections.values() for word in found] if results.search else []
    context = {
        "form": form, "page": page, "tiles": grid, "results": results, "category": form.selected_category,
        "query": form.value("q", ""), "sort": form.chosen_sort, "removals": removals, "filtered": bool(removals),
        "price_fields": [form["min_price"], form["max_price"]], "spellings": ", ".join(spellings),
    }
    if fixed_category is not None:
        context["ancestors"] = tree.ancestors(fixed_category)
        context["subcategories"] = [(child, results.count_or_none(results.category_counts.get(child.pk)))
                                    for child in tree.children.get(fixed_category.pk, [])]
    response = render(request, template, context)
    price_sensitive = form.chosen_sort in (search.SORT_PRICE_UP, search.SORT_PRICE_DOWN) or (
        form.value("min_price") is not None or form.value("max_price") is not None)
    response.cache_scopes = [*cache.listing_scopes(category=fixed_category, price_sensitive=price_sensitive),
                             *grid.scopes()]
    if results.search:
        meta = {"query": results.search.query, "results": page.paginator.count, "province": form.value("province", ""),
                "category": form.selected_category.slug if form.selected_category is not None else ""}
        search.report_search(**meta, via=search.VIA_WEB, user=request.user)
        response.cache_meta = meta
    return response


@cache_catalogue_page(on_hit=_report_cached_search)
def search_page(request):
    return _listing(request, "shops/search.html")


@cache_catalogue_page(on_hit=_report_cached_search)
def category(request, slug: str):
    tree = search.CategoryTree.current()
    current = tree.by_slug.get(slug)
    if current is None:
        raise Http404
    return _listing(request, "shops/category.html", fixed_category=current, tree=tree)


def large_photo_url(image) -> str:
    """The largest WebP thumbnail of a photo, for the full-screen view; "" while it is being made."""
    thumbnails = image.thumbnails if image.is_ready else None
    if not thumbnails:
        return ""
    width = max(thumbnails, key=int)
    return f"{settings.MEDIA_URL}{thumbnails[width]}"


@cache_catalogue_page
def product(request, pk: int):
    item = get_object_or_404(selectors.product_for_page(), pk=pk)
    tree = search.CategoryTree.current()
    # A category added without a version bump (a shell, a data migration) is read from the row instead.
    item.category = tree.by_id.get(item.category_id) or item.category
    more = tiles.grid(selectors.more_from_shop(item)[:MORE_FROM_SHOP])
    # offers, ratings and a page of reviews, loaded by their apps
    product_page.send(sender=Product, product=item, reviews_page=request.GET.get("reviews_page"))
    images = selectors.product_photos(item)
    lots, hold = selectors.lots_and_sale_hold(item, LOTS_SHOWN)
    context = {
        "product": item,
        "ancestors": tree.ancestors(item.category),
        "cover": images[0] if images else None,
        "photos": images[1:],
        "gallery": [(image, large_photo_url(image)) for image in images],
        "lots": lots,
        "more": more,
        "sale_hold": hold,
    }
    response = render(request, "shops/product.html", context)
    response.cache_scopes = [cache.product_scope(item.pk), cache.shop_scope(item.shop_id), *more.scopes()]
    return response


@cache_catalogue_page
def shop(request, slug: str):
    item = get_object_or_404(selectors.public_shops(), slug=slug)
    shop_page.send(sender=Shop, shop=item)  # its stars, loaded by logistics
    products = selectors.listed_products().filter(shop=item).order_by("-created_at", "-id")
    page = paginate(request, products)
    grid = tiles.grid(page.object_list)
    response = render(request, "shops/shop.html", {"shop": item, "page": page, "tiles": grid})
    response.cache_scopes = [cache.shop_scope(item.pk), *grid.scopes()]
    return response


def home_scopes(context: dict) -> list[str]:
    """What the home page shows: the listings (new, in season, provinces) and its tiles."""
    return [cache.LISTING, *context["in_season"].scopes(), *context["new_arrivals"].scopes()]
