from django import forms
from django.utils.translation import gettext_lazy as _


class PayoutAccountForm(forms.Form):
    holder = forms.CharField(label=_("Account holder"), max_length=80)
    bank = forms.CharField(label=_("Bank and branch"), max_length=80)
    account_number = forms.CharField(label=_("Account number"), max_length=60,
                                     help_text=_("Digits only. Only the last four are shown afterwards."),
                                     widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))


class CashCountForm(forms.Form):
    counted = forms.DecimalField(label=_("Cash counted in the drawer (¥)"), min_value=0, max_digits=12,
                                 decimal_places=2, widget=forms.NumberInput(attrs={"inputmode": "decimal"}))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)


class RemitForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount handed over (¥)"), min_value=0, max_digits=12, decimal_places=2,
                                widget=forms.NumberInput(attrs={"inputmode": "decimal"}))
