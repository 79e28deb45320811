"""Forms of the pre-sale and group pages: they check the shape; the services check the rules."""
from django import forms
from django.utils.translation import gettext_lazy as _

from orders.payments import intents

from .models import MAX_CAPACITY, MAX_GROUP_SIZE, MAX_HOURS_TO_FILL, PreOrder
from .services import MAX_PRICE, MAX_QUANTITY, MIN_PRICE


def _money_field(label, **kwargs) -> forms.DecimalField:
    return forms.DecimalField(label=label, min_value=MIN_PRICE, max_value=MAX_PRICE, decimal_places=2,
                              max_digits=8, widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
                              **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"


class AddressChoiceForm(forms.Form):
    """The buyer picks one of their saved addresses (adding one is a link to the address book)."""

    address = forms.ChoiceField(label=_("Delivery address"), widget=forms.RadioSelect)
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, max_value=MAX_QUANTITY,
                                  widget=forms.NumberInput(attrs={"inputmode": "numeric"}))

    def __init__(self, *args, addresses=(), min_quantity: int = 1, **kwargs):
        super().__init__(*args, **kwargs)
        self.addresses = {str(a.pk): a for a in addresses}
        self.fields["address"].choices = [
            (str(a.pk), f"{a.name} {a.phone} · {a.province}{a.city}{a.district}{a.line}") for a in addresses]
        default = next((a for a in addresses if a.is_default), addresses[0] if addresses else None)
        if default is not None:
            self.fields["address"].initial = str(default.pk)
        self.fields["quantity"].initial = min_quantity

    def chosen_address(self):
        return self.addresses.get(str(self.cleaned_data.get("address")))


class PreOrderForm(AddressChoiceForm):
    payment = forms.ChoiceField(label=_("Payment"), widget=forms.RadioSelect)
    saved_card = forms.ChoiceField(label=_("Saved card"), required=False)

    def __init__(self, *args, saved_cards=(), long_presale: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.saved_cards = {str(card.pk): card for card in saved_cards}
        P = PreOrder.Payment
        # A harvest far ahead: a card authorisation would lapse, so a saved card takes its place.
        wanted = [P.SAVED_CARD, P.ONLINE, P.COD] if long_presale else [P.CARD, P.ONLINE, P.COD, P.SAVED_CARD]
        if not self.saved_cards:
            wanted.remove(P.SAVED_CARD)
        choices = [(p.value, p.label) for p in wanted]
        if not intents.card_payments_enabled():
            choices = [(P.COD.value, P.COD.label)]
        self.fields["payment"].choices = choices
        self.fields["payment"].initial = choices[0][0]
        self.fields["saved_card"].choices = [(pk, f"{c.brand.upper()} •••• {c.last4}")
                                             for pk, c in self.saved_cards.items()]
        if not self.saved_cards:
            del self.fields["saved_card"]

    def chosen_card(self):
        return self.saved_cards.get(str(self.cleaned_data.get("saved_card") or ""))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, widget=forms.Textarea(attrs={"rows": 2}))


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}))


class ProductOfferForm(forms.Form):
    """A farm's new offer (a pre-sale, a group deal) of one of its products, chosen from `products`."""

    product = forms.ChoiceField(label=_("Product"))

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.products = {str(p.pk): p for p in products}
        self.fields["product"].choices = [(str(p.pk), f"{p.title} · {p.shop.name} · ¥{p.price}") for p in products]

    def chosen_product(self):
        return self.products.get(str(self.cleaned_data.get("product")))


class PreSaleForm(ProductOfferForm):
    harvest_start = forms.DateField(label=_("Harvest expected from"), widget=DateInput)
    harvest_end = forms.DateField(label=_("Harvest expected until"), widget=DateInput)
    capacity = forms.IntegerField(label=_("Units you can promise"), min_value=1, max_value=MAX_CAPACITY,
                                  help_text=_("In the product's sale unit. Buyers cannot order more than this."))
    price = _money_field(_("Pre-sale price per unit (¥)"))


class PreSaleSettingsForm(forms.Form):
    is_open = forms.BooleanField(label=_("Taking orders"), required=False)
    capacity = forms.IntegerField(label=_("Units you can promise"), min_value=1, max_value=MAX_CAPACITY)
    price = _money_field(_("Pre-sale price per unit (¥)"), help_text=_("Applies to new orders only."))


class GroupDealForm(ProductOfferForm):
    group_size = forms.IntegerField(label=_("Buyers per group"), min_value=2, max_value=MAX_GROUP_SIZE, initial=3)
    group_price = _money_field(_("Group price per unit (¥)"), help_text=_("Lower than the product's normal price."))
    hours_to_fill = forms.IntegerField(
        label=_("Hours to fill a group"), min_value=1, max_value=MAX_HOURS_TO_FILL, initial=24,
        help_text=_("At most 7 days: a card reservation does not last longer."))
