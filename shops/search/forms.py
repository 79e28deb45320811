"""The catalogue pages' GET form: search words, category, province, price range, flags and sort."""
from decimal import Decimal
from html import escape

from django import forms
from django.core.exceptions import ValidationError
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from .categories import CategoryTree
from .terms import MAX_QUERY_LENGTH

SORT_RELEVANCE, SORT_NEWEST, SORT_PRICE_UP, SORT_PRICE_DOWN = "relevance", "newest", "price", "-price"
SORT_CHOICES = [
    (SORT_RELEVANCE, _("Best match")),
    (SORT_NEWEST, _("Newest")),
    (SORT_PRICE_UP, _("Price: low to high")),
    (SORT_PRICE_DOWN, _("Price: high to low")),
]
PRICE_LIMIT = Decimal("100000")


def options_html(rows) -> str:
    """<option>s from (value, label, count or None, selected), written in Python: the catalogue filters have
    some eighty of them, a tenth of a search page's render as template loops."""
    return mark_safe("".join(  # noqa: S308 - every value escaped here
        f'<option value="{escape(str(value))}"{" selected" if selected else ""}>{escape(str(label))}'
        f'{f" ({n})" if n is not None else ""}</option>' for value, label, n, selected in rows))


class _PlainInput:
    """An <input> written in Python rather than through the form renderer's templates: the same markup
    (type, name, value, then the attributes), at a fifth of the cost. The catalogue pages draw five of
    them on every render, uncached ones included; two thirds of the filter form's render time went there."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        value = widget["value"]
        markup = [f'<input type="{self.input_type}" name="{escape(name)}"']
        if value is not None:
            markup.append(f' value="{escape(str(value))}"')
        # As flatatt writes them: the valued attributes in name order, then the true ones alone; False and None
        # left out.
        attrs = widget["attrs"]
        markup += [f' {key}="{escape(str(attrs[key]))}"' for key in sorted(attrs)
                   if attrs[key] is not True and attrs[key] is not False and attrs[key] is not None]
        markup += [f" {key}" for key in sorted(attrs) if attrs[key] is True]
        markup.append(">")
        return mark_safe("".join(markup))  # noqa: S308 - every value escaped above


class SearchInput(_PlainInput, forms.TextInput):
    input_type = "search"


class NumberInput(_PlainInput, forms.NumberInput):
    pass


class CheckboxInput(_PlainInput, forms.CheckboxInput):
    pass


class CatalogueFilterForm(forms.Form):
    """The search and category pages' GET form; an invalid field shows its error and is ignored."""

    q = forms.CharField(label=_("Search for"), max_length=MAX_QUERY_LENGTH, required=False,
                        widget=SearchInput(attrs={"placeholder": _("apples, 苹果, pingguo")}))
    # Checked against the category tree each process holds (clean_category), not as a ChoiceField: its choices,
    # set on every form, cost a quarter of a millisecond per search page. The <select> is written from the facets.
    category = forms.CharField(label=_("Category"), max_length=60, required=False)
    province = forms.CharField(label=_("Province"), max_length=30, required=False)
    min_price = forms.DecimalField(label=_("Lowest price (¥)"), min_value=0, max_value=PRICE_LIMIT,
                                   decimal_places=2, required=False,
                                   widget=NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}))
    max_price = forms.DecimalField(label=_("Highest price (¥)"), min_value=0, max_value=PRICE_LIMIT,
                                   decimal_places=2, required=False,
                                   widget=NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}))
    in_stock = forms.BooleanField(label=_("In stock"), required=False, widget=CheckboxInput)
    certified = forms.BooleanField(label=_("Certified (organic, green food or geographical indication)"),
                                   required=False, widget=CheckboxInput)
    sort = forms.ChoiceField(label=_("Sort by"), choices=SORT_CHOICES, required=False)

    def __init__(self, data, *, tree: CategoryTree, fixed_category=None):
        super().__init__(data)
        self.tree = tree
        self.fixed_category = fixed_category
        if fixed_category is not None:
            del self.fields["category"]

    def clean_category(self) -> str:
        slug = self.cleaned_data["category"]
        if slug and slug not in self.tree.choice_slugs:
            raise ValidationError(forms.ChoiceField.default_error_messages["invalid_choice"], code="invalid_choice",
                                  params={"value": slug})
        return slug

    def clean(self):
        data = super().clean()
        low, high = data.get("min_price"), data.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error("max_price", _("The highest price must not be below the lowest."))
        return data

    def value(self, name: str, default=None):
        """A field's cleaned value, or the default when it was empty or invalid."""
        if not hasattr(self, "cleaned_data"):
            self.is_valid()
        value = self.cleaned_data.get(name)
        return default if value in (None, "") else value

    @property
    def selected_category(self):
        if self.fixed_category is not None:
            return self.fixed_category
        return self.tree.by_slug.get(self.value("category", ""))

    @property
    def chosen_sort(self) -> str:
        sort = self.value("sort", "")
        if not sort or (sort == SORT_RELEVANCE and not self.value("q")):
            return SORT_RELEVANCE if self.value("q") else SORT_NEWEST
        return sort
