"""A catalogue listing: the form's filters, the search and the sort applied to the public products,
the facet counts (per category and per province), and the links that drop one filter each."""
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from ..models import Village
from ..stock import CERTIFIED, IN_STOCK
from .forms import SORT_PRICE_DOWN, SORT_PRICE_UP, SORT_RELEVANCE, CatalogueFilterForm
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


@dataclass
class CatalogueResults:
    """A listing's products (filtered, searched, sorted) and, once counted, its facets."""

    form: CatalogueFilterForm
    base: QuerySet  # the public products, before any filter
    search: ProductSearch
    products: QuerySet  # ready for the paginator
    category_counts: dict = field(default_factory=dict)  # category id -> products, descendants included
    province_counts: dict = field(default_factory=dict)  # province -> products
    counted: bool = False
    category_options: list = field(default_factory=list)  # (slug, label, count or None, selected)
    province_options: list = field(default_factory=list)  # (province, count or None, selected)

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
        """
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
        if form.fixed_category is None:
            self.category_options = [
                (slug, label, self.count_or_none(self.category_counts.get(form.tree.by_slug[slug].pk)),
                 slug == chosen_category)
                for slug, label in form.tree.choices()]
        chosen = form.value("province", "")
        names = sorted({*self.province_counts, *([chosen] if chosen else [])} - {None, ""})
        self.province_options = [(name, self.count_or_none(self.province_counts.get(name)), name == chosen)
                                 for name in names]

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
    return CatalogueResults(form=form, base=queryset, search=search, products=products)


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
