"""Query-string filters for the shops API. Every bad value is a form error, so the API answers 400 with the field."""
from decimal import Decimal

import django_filters
from django import forms
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from core import codes

from . import search, stock
from .models import LOT_PREFIX, Category, HarvestLot, Product, Shop, Village

MAX_PRICE_FILTER = Decimal("1000000")


class StrictBooleanField(forms.Field):
    """true/false (or 1/0); anything else is an error, where django-filter's own boolean would ignore it."""

    TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise forms.ValidationError(_("Use true or false."), code="invalid")


class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField


class CategoryChoiceField(forms.Field):
    """A category given by id or by slug."""

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip()
        lookup = {"pk": int(text)} if text.isdigit() else {"slug": text}
        category = Category.objects.filter(**lookup).first()
        if category is None:
            raise forms.ValidationError(_("No category has this id or slug."), code="invalid_choice")
        return category


@extend_schema_field(OpenApiTypes.STR)
class CategoryFilter(django_filters.Filter):
    field_class = CategoryChoiceField

    def filter(self, qs, value):
        if value is None:
            return qs
        return qs.filter(category_id__in=category_with_descendants(value))


def category_tree_order():
    """Each top-level category followed by its children (the tree has two levels)."""
    return (Coalesce("parent__position", "position"), Coalesce("parent__slug", "slug"),
            F("parent_id").asc(nulls_first=True), "position", "slug")


def category_with_descendants(category: Category) -> list[int]:
    """The category and every category below it, from one query over the small category table."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Category.objects.values_list("pk", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    found, stack = [], [category.pk]
    while stack:
        pk = stack.pop()
        found.append(pk)
        stack.extend(children.get(pk, ()))
    return found


class IntegerFilter(django_filters.Filter):
    field_class = forms.IntegerField


class LotCodeField(forms.CharField):
    """A lot code as typed (case, dashes and O/I/L forgiven); a wrong check character is an error."""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return value
        if not codes.is_valid(value, LOT_PREFIX):
            raise forms.ValidationError(_("This lot code is not valid; check each character."), code="lot_code")
        return codes.normalise(value, LOT_PREFIX)


class LotCodeFilter(django_filters.CharFilter):
    field_class = LotCodeField


class VillageFilter(django_filters.FilterSet):
    province = django_filters.CharFilter(field_name="province", max_length=30)
    search = django_filters.CharFilter(method="filter_search", max_length=60,
                                       label=_("Words in the name, township, county or city"))

    class Meta:
        model = Village
        fields = ["province", "search"]

    def filter_search(self, queryset, name, value):
        condition = Q()
        for word in value.split():
            condition &= (Q(name__icontains=word) | Q(name_en__icontains=word) | Q(township__icontains=word)
                          | Q(county__icontains=word) | Q(city__icontains=word))
        return queryset.filter(condition)


class ShopFilter(django_filters.FilterSet):
    province = django_filters.CharFilter(field_name="village__province", max_length=30)
    kind = django_filters.ChoiceFilter(choices=Shop.Kind.choices)
    verified = StrictBooleanFilter(method="filter_verified", label=_("Only verified shops (or only the others)"))
    # The view picks the base queryset from this flag; declared here to be validated and documented.
    mine = StrictBooleanFilter(method="filter_mine", label=_("Only the shops I manage, open or closed"))

    class Meta:
        model = Shop
        fields = ["province", "kind", "verified", "mine"]

    def filter_verified(self, queryset, name, value: bool):
        condition = Q(verification=Shop.Verification.VERIFIED)
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_mine(self, queryset, name, value: bool):
        return queryset


PRODUCT_ORDERINGS = {
    "price": ("price", "-id"),
    "-price": ("-price", "-id"),
    "created": ("created_at", "id"),
    "-created": ("-created_at", "-id"),
}


class ProductFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", max_length=search.MAX_QUERY_LENGTH,
                                       label=_("Words in Chinese, pinyin or English"))
    category = CategoryFilter(label=_("Category id or slug; a parent category includes its children"))
    shop = django_filters.CharFilter(field_name="shop__slug", max_length=60, label=_("Shop slug"))
    province = django_filters.CharFilter(field_name="shop__village__province", max_length=30)
    min_price = django_filters.NumberFilter(field_name="price", lookup_expr="gte", min_value=0,
                                            max_value=MAX_PRICE_FILTER, max_digits=9, decimal_places=2)
    max_price = django_filters.NumberFilter(field_name="price", lookup_expr="lte", min_value=0,
                                            max_value=MAX_PRICE_FILTER, max_digits=9, decimal_places=2)
    in_stock = StrictBooleanFilter(method="filter_in_stock", label=_("Only products that can be ordered now"))
    certified = StrictBooleanFilter(method="filter_certified",
                                    label=_("Only organic, green food or geographical indication products"))
    # The view picks the base queryset from this flag (the user's own products, on sale or not);
    # it is declared here so that it is validated and documented like the others.
    mine = StrictBooleanFilter(method="filter_mine", label=_("Only the products of the shops I manage"))
    # Last, so that it overrides the relevance order of a search.
    ordering = django_filters.ChoiceFilter(
        method="filter_ordering", label=pgettext_lazy("sorting", "Order"),
        choices=[("price", _("Price, lowest first")), ("-price", _("Price, highest first")),
                 ("created", _("Oldest first")), ("-created", _("Newest first"))],
    )

    class Meta:
        model = Product
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        return search.filter_by_query(queryset, value)

    def filter_in_stock(self, queryset, name, value: bool):
        return queryset if value is None else stock.in_stock(queryset, value)

    def filter_certified(self, queryset, name, value: bool):
        return queryset if value is None else stock.certified(queryset, value)

    def filter_mine(self, queryset, name, value: bool):
        return queryset

    def filter_ordering(self, queryset, name, value):
        return queryset.order_by(*PRODUCT_ORDERINGS[value])


class HarvestLotFilter(django_filters.FilterSet):
    code = LotCodeFilter(field_name="code", max_length=20)
    product = IntegerFilter(field_name="product_id", min_value=1, max_value=2**63 - 1)
    shop = django_filters.CharFilter(field_name="product__shop__slug", max_length=60)

    class Meta:
        model = HarvestLot
        fields = ["code", "product", "shop"]
