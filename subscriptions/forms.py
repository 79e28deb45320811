from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Address
from orders.models import SavedCard
from shops.models import Product, Shop

from .models import MAX_BOX_CAPACITY, WEEKDAYS, Box


class SubscribeForm(forms.Form):
    """Where to deliver and how to pay: one of the buyer's saved cards, or cash on delivery (no card chosen)."""

    address = forms.ModelChoiceField(queryset=Address.objects.none(), label=_("Deliver to"),
                                     empty_label=_("Choose an address"))
    payment_method = forms.ModelChoiceField(queryset=SavedCard.objects.none(), required=False,
                                            label=_("Pay with"), empty_label=_("Cash on delivery"),
                                            help_text=_("A saved card is charged at each cut-off, while you are "
                                                        "away."))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address"].queryset = Address.objects.filter(user=user)
        self.fields["address"].label_from_instance = lambda a: f"{a.name} · {a.city} {a.line}"
        self.fields["payment_method"].queryset = SavedCard.objects.filter(buyer=user, status=SavedCard.Status.ACTIVE)
        self.fields["payment_method"].label_from_instance = lambda c: f"{c.brand.upper()} •••• {c.last4}"


class SkipForm(forms.Form):
    date = forms.DateField(widget=forms.HiddenInput)


class CapacityForm(forms.Form):
    capacity = forms.IntegerField(label=_("Most boxes per delivery"), min_value=1, max_value=10_000,
                                  widget=forms.NumberInput(attrs={"class": "input", "inputmode": "numeric"}))


ITEM_ROWS = 4


def _input(**attrs):
    return {"class": "input", **attrs}


class BoxForm(forms.Form):
    """A new box: what is in it (up to four of the shop's products sold by the unit), its days and its cap.
    Shape only here; subscriptions.services.create_box checks the rest."""

    title = forms.CharField(label=_("Title"), max_length=120, widget=forms.TextInput(attrs=_input()))
    description = forms.CharField(label=_("Description"), required=False,
                                  widget=forms.Textarea(attrs=_input(rows=3)))
    kind = forms.ChoiceField(label=_("Contents"), choices=Box.Kind.choices, initial=Box.Kind.FIXED,
                             widget=forms.RadioSelect)
    price = forms.DecimalField(label=_("Price per delivery (¥)"), required=False, max_digits=10, decimal_places=2,
                               min_value=Decimal("0.01"), max_value=Decimal("100000"),
                               help_text=_("Only for the farm's choice: a fixed set is priced as its products are."),
                               widget=forms.NumberInput(attrs=_input(inputmode="decimal", step="0.01")))
    frequency = forms.ChoiceField(label=_("How often"), choices=Box.Frequency.choices, initial=Box.Frequency.WEEKLY,
                                  widget=forms.Select(attrs=_input()))
    cutoff_weekday = forms.TypedChoiceField(label=_("Orders made on"), choices=WEEKDAYS, coerce=int,
                                            widget=forms.Select(attrs=_input()))
    delivery_weekday = forms.TypedChoiceField(label=_("Delivered on"), choices=WEEKDAYS, coerce=int,
                                              widget=forms.Select(attrs=_input()))
    capacity = forms.IntegerField(label=_("Most boxes per delivery"), min_value=1, max_value=MAX_BOX_CAPACITY,
                                  widget=forms.NumberInput(attrs=_input(inputmode="numeric")))

    def __init__(self, *args, shop: Shop, **kwargs):
        super().__init__(*args, **kwargs)
        products = (Product.objects.filter(shop=shop, is_active=True).exclude(pricing=Product.Pricing.WEIGHT)
                    .order_by("title", "id"))
        for n in range(1, ITEM_ROWS + 1):
            self.fields[f"product_{n}"] = forms.ModelChoiceField(
                queryset=products, required=False, label=_("Product %(n)d") % {"n": n},
                empty_label=_("None"), widget=forms.Select(attrs=_input()))
            self.fields[f"quantity_{n}"] = forms.IntegerField(
                label=_("Quantity %(n)d") % {"n": n}, required=False, min_value=1, max_value=1000,
                widget=forms.NumberInput(attrs=_input(inputmode="numeric")))

    def clean(self):
        data = super().clean()
        items = []
        for n in range(1, ITEM_ROWS + 1):
            product, quantity = data.get(f"product_{n}"), data.get(f"quantity_{n}")
            if product is not None:
                items.append((product, quantity or 1))
        data["items"] = items
        return data


class BoxEditForm(forms.Form):
    """What a farm changes on its box here: its cap, whether it takes subscribers, and the farm's choice's price."""

    capacity = forms.IntegerField(label=_("Most boxes per delivery"), min_value=1, max_value=MAX_BOX_CAPACITY,
                                  widget=forms.NumberInput(attrs=_input(inputmode="numeric")))
    is_active = forms.BooleanField(label=_("Taking subscribers"), required=False)
    price = forms.DecimalField(label=_("Price per delivery (¥)"), max_digits=10, decimal_places=2,
                               min_value=Decimal("0.01"), max_value=Decimal("100000"),
                               widget=forms.NumberInput(attrs=_input(inputmode="decimal", step="0.01")))

    def __init__(self, *args, box: Box, **kwargs):
        super().__init__(*args, **kwargs)
        if box.kind == Box.Kind.FIXED:
            del self.fields["price"]
