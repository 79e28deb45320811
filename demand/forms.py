"""Forms of the demand pages: shape only; the services check the rules (own product, open post ...)."""
from datetime import date, timedelta
from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shops.filters import category_tree_order
from shops.models import Category, Product

from .models import MAX_QUANTITY, MAX_UNIT_PRICE, DemandPost
from .selectors import Period

MAX_INSIGHT_DAYS = 2 * 366
DEFAULT_INSIGHT_WEEKS = 12


class CategorySelect(forms.ModelChoiceField):
    """Top-level categories, each followed by its children marked with a dash."""

    def __init__(self, **kwargs):
        super().__init__(queryset=Category.objects.select_related(None).order_by(*category_tree_order()),
                         to_field_name="slug", **kwargs)

    def label_from_instance(self, obj):
        return f"— {obj.name}" if obj.parent_id else obj.name


class DemandPostForm(forms.ModelForm):
    category = CategorySelect(label=_("Category"), required=False, empty_label=_("Any category"))
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY,
                                  widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    max_price = forms.DecimalField(label=_("Price you would pay per unit (¥)"), required=False, max_digits=10,
                                   decimal_places=2, min_value=Decimal("0.01"), max_value=MAX_UNIT_PRICE,
                                   widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}))

    class Meta:
        model = DemandPost
        fields = ("category", "words", "quantity", "unit", "province", "city", "needed_by", "max_price", "note")
        widgets = {
            "needed_by": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "note": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["needed_by"].widget.attrs["min"] = timezone.localdate().isoformat()


class OfferForm(forms.Form):
    product = forms.ModelChoiceField(label=_("Your product"), queryset=Product.objects.none())
    price = forms.DecimalField(label=_("Your price per unit (¥)"), max_digits=10, decimal_places=2,
                               min_value=Decimal("0.01"), max_value=MAX_UNIT_PRICE,
                               widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}))
    quantity = forms.IntegerField(label=_("Quantity you can supply"), min_value=1, max_value=MAX_QUANTITY,
                                  widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    note = forms.CharField(label=_("Note to the buyer"), required=False, max_length=1000,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, products=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Another farmer's product is simply not a choice; the service checks again.
        self.fields["product"].queryset = products if products is not None else Product.objects.none()
        self.fields["product"].label_from_instance = (
            lambda p: f"{p.title} · {p.shop.name} (¥{p.price}/{p.get_unit_display()})")


class BoardFilterForm(forms.Form):
    """?category=<slug>&province=&month=YYYY-MM for the farmer's board; a bad value is shown, then ignored."""

    category = forms.ChoiceField(label=_("Category"), required=False)
    province = forms.CharField(label=_("Province"), required=False, max_length=30)
    month = forms.DateField(label=_("Needed in"), required=False, input_formats=["%Y-%m"],
                            widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))

    def __init__(self, data=None, *, tree, provinces=()):
        super().__init__(data)
        self.tree = tree
        self.fields["category"].choices = [("", _("All categories")), *tree.choices()]
        self.provinces = list(provinces)

    def filters(self) -> dict:
        """Keyword arguments for selectors.filter_posts and demand_summary, from the valid fields only."""
        data = getattr(self, "cleaned_data", {}) if self.is_bound else {}
        out: dict = {}
        slug = data.get("category") or ""
        if slug and slug in self.tree.by_slug:
            out["category_ids"] = self.tree.descendant_ids(self.tree.by_slug[slug])
        if data.get("province"):
            out["province"] = data["province"].strip()
        if data.get("month"):
            out["month"] = data["month"]
        return out


class PeriodForm(forms.Form):
    """The insights period: ?start=YYYY-MM-DD&end=YYYY-MM-DD, the last 12 weeks when not given."""

    start = forms.DateField(label=_("From"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = forms.DateField(label=_("To"), required=False,
                          widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if start > end:
                self.add_error("end", _("The end date must not be before the start date."))
            elif (end - start).days > MAX_INSIGHT_DAYS:
                self.add_error("start", _("Choose a period of at most two years."))
        return data

    def period(self, *, today: date | None = None):
        """The chosen period, or the last 12 weeks when the dates are missing or wrong."""

        today = today or timezone.localdate()
        default = Period.last_weeks(DEFAULT_INSIGHT_WEEKS, today=today)
        if not self.is_bound or not self.is_valid():
            return default
        end = self.cleaned_data.get("end") or today
        start = self.cleaned_data.get("start") or (end - timedelta(weeks=DEFAULT_INSIGHT_WEEKS) + timedelta(days=1))
        if start > end or (end - start).days > MAX_INSIGHT_DAYS:
            return default
        return Period(start=start, end=end)
