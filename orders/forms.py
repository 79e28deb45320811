from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.forms import AddressForm

from . import services, shipping
from .models import Order

NEW_ADDRESS = "new"


class AddToCartForm(forms.Form):
    product = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=services.MAX_QUANTITY, initial=1)
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class CartQuantityForm(forms.Form):
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=services.MAX_QUANTITY)


class ShipToForm(forms.Form):
    """The province fees are quoted to on the cart page, before an address is chosen."""

    province = forms.ChoiceField(label=_("Deliver to"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["province"].choices = [("", _("Choose a province")), *shipping.province_choices()]


class CheckoutForm(forms.Form):
    address = forms.ChoiceField(label=_("Delivery address"), widget=forms.RadioSelect)
    payment_method = forms.ChoiceField(label=_("Payment"), widget=forms.RadioSelect)

    def __init__(self, *args, addresses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.addresses = {str(a.pk): a for a in addresses}
        self.fields["address"].choices = [
            *((str(a.pk), f"{a.name} {a.phone} · {a.province}{a.city}{a.district}{a.line}") for a in addresses),
            (NEW_ADDRESS, _("A new address")),
        ]
        methods = services.available_payment_methods()
        self.fields["payment_method"].choices = [(m, Order.PaymentMethod(m).label) for m in methods]
        self.fields["payment_method"].initial = methods[0]

    def chosen_address(self):
        return self.addresses.get(str(self.cleaned_data.get("address")))


class NewAddressForm(AddressForm):
    class Meta(AddressForm.Meta):
        fields = ("name", "phone", "province", "city", "district", "line", "postal_code")
        widgets = {**AddressForm.Meta.widgets, "province": forms.Select(choices=[("", "—"),
                                                                                 *shipping.province_choices()])}


class CancelReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=_("The buyer reads this."))


class BuyerCancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)
