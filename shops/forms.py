"""Seller forms: they check the shape of what a farmer typed; the services check the rules and write."""
from decimal import Decimal

from django import forms
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.utils.dates import MONTHS_AP
from django.utils.translation import gettext_lazy as _

from accounts.models import User, phone_validator
from core.money import quantize

from .models import (
    DESCRIPTION_MAX_LENGTH,
    NOTES_MAX_LENGTH,
    Category,
    HarvestLot,
    InputApplication,
    Product,
    Shop,
    ShopMember,
    Village,
)

# Numbers on a phone: the numeric keypad, with a dot for prices.
DECIMAL_INPUT = {"inputmode": "decimal", "autocomplete": "off"}
NUMBER_INPUT = {"inputmode": "numeric", "pattern": "[0-9]*", "autocomplete": "off"}
MONTHS = list(MONTHS_AP.items())  # Django's own translated month names
CERTIFICATIONS = [
    ("organic", _("Organic certified")),
    ("green_food", _("Green food certified")),
    ("geographical_indication", _("Geographical indication")),
]


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input; each is checked by the photo service, which reports per file."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data] if data else []
        if self.required and not files:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return files


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


def limit_length(field: forms.CharField, limit: int) -> None:
    """A length limit on a free-text field whose model column (TEXT) has none: checked, and in the textarea."""
    field.max_length = limit
    field.validators.append(MaxLengthValidator(limit))
    field.widget.attrs["maxlength"] = str(limit)


def village_choices() -> list:
    """Villages grouped by province for a select: one query."""
    groups: dict[str, list] = {}
    for village in Village.objects.order_by("province", "county", "township", "name"):
        label = f"{village.name} · {village.township} · {village.county}"
        if village.name_en:
            label += f" ({village.name_en})"
        groups.setdefault(village.province, []).append((village.pk, label))
    return [("", "---------"), *groups.items()]


def category_choices() -> list:
    """Categories grouped under their parent; a parent without children is chosen directly. One query."""
    categories = list(Category.objects.order_by("position", "slug"))
    children: dict[int, list] = {}
    for category in categories:
        if category.parent_id:
            children.setdefault(category.parent_id, []).append((category.pk, category.name))
    choices: list = [("", "---------")]
    for category in categories:
        if category.parent_id:
            continue
        if category.pk in children:
            choices.append((category.name, children[category.pk]))
        else:
            choices.append((category.pk, category.name))
    return choices


class ShopForm(forms.ModelForm):
    contact_phone = forms.CharField(
        label=_("contact phone"), max_length=20, required=False, validators=[phone_validator],
        help_text=_("Shown to buyers only after they order."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}))

    class Meta:
        model = Shop
        fields = ("name", "kind", "village", "description", "contact_phone", "is_open")
        widgets = {"kind": forms.RadioSelect, "description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, creating: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].choices = village_choices()
        self.fields["village"].help_text = _("The village where you grow; buyers see it on every product.")
        limit_length(self.fields["description"], DESCRIPTION_MAX_LENGTH)
        if creating:
            # A new shop opens at once; closing it is for later.
            del self.fields["is_open"]


class VerificationForm(forms.Form):
    licence_photo = forms.FileField(
        label=_("Photo of your business licence or ID card"),
        help_text=_("JPEG, PNG or WebP. Only staff see it; it is never shown to buyers."),
        widget=forms.FileInput(attrs={"accept": "image/*"}))


class MemberInviteForm(forms.Form):
    username = forms.CharField(label=_("Username of the farmer"), max_length=150,
                               widget=forms.TextInput(attrs={"autocapitalize": "none", "autocomplete": "off"}))
    role = forms.ChoiceField(label=_("Role"), choices=ShopMember.Role.choices, initial=ShopMember.Role.MEMBER,
                             widget=forms.RadioSelect)


class PriceStockForm(forms.Form):
    """The products list's quick edit: the same limits as the model, checked before the service runs."""

    price = forms.DecimalField(label=_("Price (CNY)"), max_digits=10, decimal_places=2,
                               validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100000"))],
                               widget=forms.TextInput(attrs=DECIMAL_INPUT))
    stock = forms.IntegerField(label=_("Stock"), min_value=0, max_value=1_000_000,
                               widget=forms.TextInput(attrs=NUMBER_INPUT))


class UploadIdsField(forms.Field):
    """Ids of photos already sent in chunks by static/js/upload.js (shops/uploads.py); kept as hidden inputs, so
    a form that comes back with an error keeps its photos."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else [value] if value else []
        return [v for v in (str(v).strip() for v in values) if v]


class PhotoUploadForm(forms.Form):
    photos = MultipleFileField(
        label=_("Add photos"), required=False,
        help_text=_("You can choose several photos at once. JPEG, PNG or WebP."),
        widget=MultipleFileInput(attrs={"accept": "image/*"}))
    photo_uploads = UploadIdsField(required=False)
    photo_alt = forms.CharField(label=_("What the photos show"), max_length=120, required=False,
                                help_text=_("For buyers who cannot see the photos, e.g. a box of red apples."))


class ProductForm(forms.ModelForm):
    season_months = forms.TypedMultipleChoiceField(
        label=_("In season"), choices=MONTHS, coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Tick the months when you can deliver."))
    certifications = forms.MultipleChoiceField(label=_("Certifications"), choices=CERTIFICATIONS, required=False,
                                               widget=forms.CheckboxSelectMultiple)

    # The short form a farmer fills every time; the rest sits under "More details".
    MAIN_FIELDS = ("title", "category", "unit", "unit_weight_kg", "price", "stock")
    MORE_FIELDS = ("pricing", "kg_price", "description", "min_order", "season_months", "perishable", "cold_chain",
                   "origin", "certifications", "gtin", "is_active")

    class Meta:
        model = Product
        fields = ("title", "description", "category", "unit", "unit_weight_kg", "price", "stock", "min_order",
                  "perishable", "cold_chain", "origin", "gtin", "is_active", "pricing", "kg_price")
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "unit_weight_kg": forms.TextInput(attrs=DECIMAL_INPUT),
            "price": forms.TextInput(attrs=DECIMAL_INPUT),
            "stock": forms.TextInput(attrs=NUMBER_INPUT),
            "min_order": forms.TextInput(attrs=NUMBER_INPUT),
            "gtin": forms.TextInput(attrs=NUMBER_INPUT),
            "kg_price": forms.TextInput(attrs=DECIMAL_INPUT),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices()
        self.fields["price"].label = _("Price per unit (CNY)")
        # Sold by weight: the unit price is the estimate made from the price per kg (shops.services).
        self.fields["price"].required = False
        self.fields["pricing"].required = False  # per unit unless chosen
        self.fields["kg_price"].help_text = _("Sold by weight only: the price per kg; the weight of one unit is "
                                              "then its estimated weight, and each is weighed when you pack it.")
        limit_length(self.fields["description"], DESCRIPTION_MAX_LENGTH)
        if self.instance.pk:
            self.initial.setdefault("season_months", self.instance.season_months)
            self.initial.setdefault("certifications", [c for c, _label in CERTIFICATIONS
                                                       if getattr(self.instance, c)])

    @property
    def main_fields(self):
        return [self[name] for name in self.MAIN_FIELDS]

    @property
    def more_fields(self):
        return [self[name] for name in self.MORE_FIELDS]

    @property
    def more_has_errors(self) -> bool:
        return any(self[name].errors for name in self.MORE_FIELDS)

    def clean(self):
        data = super().clean()
        data["pricing"] = data.get("pricing") or Product.Pricing.UNIT
        if data["pricing"] == Product.Pricing.WEIGHT:
            if not data.get("kg_price"):
                self.add_error("kg_price", _("Enter the price per kg of a product sold by weight."))
            elif data.get("unit_weight_kg"):
                data["price"] = max(quantize(data["kg_price"] * data["unit_weight_kg"]), Decimal("0.01"))
        elif data.get("price") in (None, ""):
            self.add_error("price", _("This field is required."))
        return data

    def service_fields(self) -> dict:
        """What create_product / update_product take."""
        data = self.cleaned_data
        fields = {name: data[name] for name in self._meta.fields}
        fields["season_months"] = data["season_months"]
        for name, _label in CERTIFICATIONS:
            fields[name] = name in data["certifications"]
        return fields


class LotForm(forms.ModelForm):
    grower = forms.ModelChoiceField(label=_("Grower"), queryset=User.objects.none(),
                                    help_text=_("The member of the shop who grew this lot."))

    class Meta:
        model = HarvestLot
        fields = ("grower", "plot", "harvested_on", "quantity", "notes")
        widgets = {"harvested_on": DateInput(), "quantity": forms.TextInput(attrs=NUMBER_INPUT),
                   "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, growers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grower"].queryset = growers
        limit_length(self.fields["notes"], NOTES_MAX_LENGTH)


class InputApplicationForm(forms.ModelForm):
    class Meta:
        model = InputApplication
        fields = ("kind", "product_name", "applied_on", "dose", "pre_harvest_interval_days", "notes")
        widgets = {"applied_on": DateInput(), "pre_harvest_interval_days": forms.TextInput(attrs=NUMBER_INPUT)}
