from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Address
from orders.models import SavedCard


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
