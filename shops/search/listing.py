"""A catalogue listing: the form's filters, the search and the sort applied to the public products,
the facet counts (per category and per province), and the links that drop one filter each.

How many products a listing holds and its facet counts change only when the listing's membership
does: they are kept in the cache under the versions of the listing's scopes (`shops.cache`) and
the filters, so the next page, another sort or another visitor's copy of the same listing reads
them instead of counting again. Above COUNT_LIMIT matches the count stops and the page says
"2,000+ results": counting further costs more than the number tells a buyer.
"""
import hashlib
from dataclasses import dataclass, field

from django.core.cache import cache
from django.db.models import Count, QuerySet
from django.utils.formats import number_format
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core.pagecache import LocalPages

from .. import cache as catalogue_cache
from ..models import Village
from ..stock import CERTIFIED, IN_STOCK
from .forms import SORT_PRICE_DOWN, SORT_PRICE_UP, SORT_RELEVANCE, CatalogueFilterForm, options_html
from .query import ProductSearch


def filter_products(queryset: QuerySet, *, category_ids=None, province: str = "", min_price=None,
                    max_price=None, in_stock: bool = False, certified: bool = False) -> QuerySet:
    if category_ids is not None:
        queryset = queryset.filter(category_id__in=category_ids)
    if province:
        queryset = queryset.filter(shop__village__province=province)
    if min_price is not None:
        queryset = queryset.filter(price__gte=min_price)
    if max_price is not None:
        queryset = queryset.filter(price__lte=max_price)
    if in_stock:
        queryset = queryset.filter(IN_STOCK)
    if certified:
        queryset = queryset.filter(CERTIFIED)
    return queryset


FACET_COUNT_LIMIT = 2000  # above this many results, facet counts would cost more than the page
COUNT_LIMIT = FACET_COUNT_LIMIT  # above this many, the count is shown as "2,000+"
SUMMARY_TIMEOUT = 10 * 60  # the key holds the versions, so this only frees room
# This process's copies of the summaries it counted or read, read-only once kept: the key holds the versions,
# so a copy is never stale, and a page of a listing counted before asks the cache nothing.
held_summaries = LocalPages(timeout=SUMMARY_TIMEOUT)
# The facet <option>s as written from a held summary, by its key, the language and the chosen values: a search
# page's forty category and thirty province options are otherwise rebuilt and written on every render.
held_options = LocalPages(timeout=SUMMARY_TIMEOUT)


class Listing:
    """What the paginator pages: the products, counted once per version of the listing (see above).

    Slices are the queryset's own (a ranked search reads ranked ids first, then the rows).
    """

    ordered = True  # the queryset always is; the paginator asks

    def __init__(self, results: "CatalogueResults", products: QuerySet):
        self.results = results
        self.products = products

    def count(self) -> int:
        return self.results.total()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index):
        return self.products[index]


@dataclass
class CatalogueResults:
    """A listing's products (filtered, searched, sorted) and, once counted, its facets."""

    form: CatalogueFilterForm
    base: QuerySet  # the public products, before any filter
    search: ProductSearch
    queryset: QuerySet  # filtered, searched and sorted
    category_counts: dict = field(default_factory=dict)  # category id -> products, descendants included
    province_counts: dict = field(default_factory=dict)  # province -> products
    counted: bool = False
    category_options_html: str = ""  # the <option>s of the category filter (search pages only), counts shown
    province_options_html: str = ""  # the <option>s of the province filter
    products: Listing | None = None  # what the paginator pages: the queryset, counted as above
    estimated: bool = False  # more than COUNT_LIMIT matched: the count shown is a floor
    _total: int | None = None
    _summary: dict | None = None  # the cached count and facets of this listing version, once read
    _summary_key_value: str = ""  # read once, before any counting: what is counted is kept under the versions it saw

    @property
    def price_sensitive(self) -> bool:
        """Whether price changes move this listing: sorted or filtered by price."""
        form = self.form
        return form.chosen_sort in (SORT_PRICE_UP, SORT_PRICE_DOWN) or (
            form.value("min_price") is not None or form.value("max_price") is not None)

    def _summary_key(self) -> str:
        if not self._summary_key_value:
            self._summary_key_value = self._new_summary_key()
        return self._summary_key_value

    def _new_summary_key(self) -> str:
        form = self.form
        category = form.fixed_category if form.fixed_category is not None else form.selected_category
        versions = catalogue_cache.listing_stamp(category=form.fixed_category, price_sensitive=self.price_sensitive)
        filters = "|".join(str(part) for part in (
            category.pk if category is not None else "", form.fixed_category is not None,
            form.value("province", ""), form.value("min_price", ""), form.value("max_price", ""),
            bool(form.value("in_stock", False)), bool(form.value("certified", False)), self.search.query))
        return f"{versions}:listing:" + hashlib.sha256(filters.encode()).hexdigest()[:32]

    def _cached_summary(self) -> dict:
        if self._summary is None:
            key = self._summary_key()
            summary = held_summaries.get(key)
            if summary is None:
                summary = cache.get(key) or {}
                if summary:
                    held_summaries.put(key, summary)
            self._summary = summary
        return self._summary

    def total(self) -> int:
        """How many products match, at most COUNT_LIMIT + 1 (then `estimated` is set): from the cache
        when this version of the listing was counted before, else one capped COUNT."""
        if self._total is None:
            total = self._cached_summary().get("total")
            if total is None:
                total = self.queryset.order_by().values("pk")[:COUNT_LIMIT + 1].count()
            self._total = total
            self.estimated = total > COUNT_LIMIT
        return self._total

    @property
    def count_floor(self) -> str:
        """The count shown with a "+" when estimated: 2,000."""
        return number_format(COUNT_LIMIT, force_grouping=True)

    def _filtered(self, *, category: bool, province: bool) -> QuerySet:
        form = self.form
        ids = None
        if category and form.selected_category is not None:
            ids = form.tree.descendant_ids(form.selected_category)
        elif form.fixed_category is not None:
            ids = form.tree.descendant_ids(form.fixed_category)  # the category page never leaves its category
        queryset = filter_products(
            _plain(self.base), category_ids=ids, province=form.value("province", "") if province else "",
            min_price=form.value("min_price"), max_price=form.value("max_price"),
            in_stock=bool(form.value("in_stock", False)), certified=bool(form.value("certified", False)))
        return self.search.filter(queryset)

    def count_facets(self, total: int) -> None:
        """Count products per category and per province, each with every other filter applied.

        One GROUP BY query when neither facet is chosen, two when one is; none above
        FACET_COUNT_LIMIT results, where the options are listed without counts (one small query).
        None at all when this version of the listing was counted before (the cache keeps them).
        """
        summary = self._cached_summary()
        if "category_counts" in summary:
            self.counted = summary["counted"]
            self.category_counts, self.province_counts = summary["category_counts"], summary["province_counts"]
            self._options()
            return
        self._count_facets(total)
        self._summary = {"total": self.total(), "counted": self.counted, "category_counts": self.category_counts,
                         "province_counts": self.province_counts}
        key = self._summary_key()
        cache.set(key, self._summary, timeout=SUMMARY_TIMEOUT)
        held_summaries.put(key, self._summary)

    def _count_facets(self, total: int) -> None:
        form = self.form
        category_chosen = form.fixed_category is None and form.selected_category is not None
        province_chosen = bool(form.value("province", ""))
        by_category: dict = {}
        if total <= FACET_COUNT_LIMIT:
            self.counted = True
            if not category_chosen and not province_chosen:
                rows = (self._filtered(category=True, province=True)
                        .values_list("category_id", "shop__village__province").annotate(n=Count("id")))
                for category_id, province, n in rows:
                    by_category[category_id] = by_category.get(category_id, 0) + n
                    self.province_counts[province] = self.province_counts.get(province, 0) + n
            else:
                rows = self._filtered(category=False, province=True).values_list("category_id").annotate(n=Count("id"))
                by_category = dict(rows)
                rows = (self._filtered(category=True, province=False)
                        .values_list("shop__village__province").annotate(n=Count("id")))
                self.province_counts = dict(rows)
        else:
            provinces = (Village.objects.filter(shops__is_open=True).values_list("province", flat=True)
                         .distinct().order_by("province"))
            self.province_counts = dict.fromkeys(provinces)
        for category_id, n in by_category.items():
            node = form.tree.by_id.get(category_id)
            while node is not None:
                self.category_counts[node.pk] = self.category_counts.get(node.pk, 0) + n
                node = form.tree.by_id.get(node.parent_id)
        self._options()

    def _options(self) -> None:
        form = self.form
        chosen_category = form.data.get("category", "")
        chosen = form.value("province", "")
        key = f"{self._summary_key()}:{get_language()}:{chosen_category}:{chosen}"
        found = held_options.get(key)
        if found is None:
            category_options = []
            if form.fixed_category is None:
                # A count of 0 is not shown: that category has nothing here.
                category_options = [
                    (slug, label, self.count_or_none(self.category_counts.get(form.tree.by_slug[slug].pk)) or None,
                     slug == chosen_category)
                    for slug, label in form.tree.choices()]
            names = sorted({*self.province_counts, *([chosen] if chosen else [])} - {None, ""})
            province_options = [(name, name, self.count_or_none(self.province_counts.get(name)), name == chosen)
                                for name in names]
            found = (options_html(category_options), options_html(province_options))
            held_options.put(key, found)
        self.category_options_html, self.province_options_html = found

    def count_or_none(self, n):
        """A facet count for display: None when the facets were too many to count."""
        return (n or 0) if self.counted else None


def _plain(queryset: QuerySet) -> QuerySet:
    return queryset.select_related(None).prefetch_related(None).order_by()


def catalogue_results(queryset: QuerySet, form: CatalogueFilterForm) -> CatalogueResults:
    """Apply the form's valid filters, the search and the sort; the facets are counted afterwards
    (`count_facets`), once the paginator knows how many products matched."""
    search = ProductSearch(form.value("q", ""))
    category = form.selected_category
    products = search.filter(filter_products(
        queryset, category_ids=form.tree.descendant_ids(category) if category is not None else None,
        province=form.value("province", ""), min_price=form.value("min_price"), max_price=form.value("max_price"),
        in_stock=bool(form.value("in_stock", False)), certified=bool(form.value("certified", False))))
    sort = form.chosen_sort
    if sort == SORT_RELEVANCE and search:
        products = search.rank(products)
    elif sort == SORT_PRICE_UP:
        products = products.order_by("price", "-id")
    elif sort == SORT_PRICE_DOWN:
        products = products.order_by("-price", "-id")
    else:
        products = products.order_by("-created_at", "-id")
    results = CatalogueResults(form=form, base=queryset, search=search, queryset=products)
    results.products = Listing(results, products)
    return results


def removal_links(params, form: CatalogueFilterForm) -> list[tuple[str, str]]:
    """(label, query string) that drop one active filter each: what an empty result page suggests."""
    labels = {
        "category": lambda: _("Category: %(name)s") % {"name": form.selected_category.name},
        "province": lambda: _("Province: %(name)s") % {"name": form.value("province")},
        "min_price": lambda: _("Price from ¥%(amount)s") % {"amount": form.value("min_price")},
        "max_price": lambda: _("Price up to ¥%(amount)s") % {"amount": form.value("max_price")},
        "in_stock": lambda: _("In stock only"),
        "certified": lambda: _("Certified only"),
    }
    links = []
    for name, label in labels.items():
        if name not in form.fields or form.value(name) in (None, "", False):
            continue
        if name == "category" and form.selected_category is None:
            continue
        remaining = params.copy()
        remaining.pop(name, None)
        remaining.pop("page", None)
        links.append((label(), "?" + remaining.urlencode()))
    return links
