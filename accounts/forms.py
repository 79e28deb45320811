from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import codes
from .models import Address, User


class SignUpForm(forms.Form):
    role = forms.ChoiceField(
        label=_("I want to"),
        choices=[(User.Role.BUYER, _("Buy produce")), (User.Role.FARMER, _("Sell my farm's produce"))],
        widget=forms.RadioSelect,
        initial=User.Role.BUYER,
    )
    username = forms.CharField(label=_("Username"), max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}))
    display_name = forms.CharField(label=_("Your name"), max_length=80, required=False)
    email = forms.EmailField(label=_("Email"), widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password1 = forms.CharField(label=_("Password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("Password again"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ("display_name", "email", "phone")


class AddressForm(forms.ModelForm):
    class Meta:
        model = Address
        fields = ("name", "phone", "province", "city", "district", "line", "postal_code", "is_default")
        widgets = {"phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
                   "postal_code": forms.TextInput(attrs={"inputmode": "numeric"})}


class SignInCodeRequestForm(forms.Form):
    """One box for a mobile number or an e-mail address; `contact` cleans to ("phone" | "email", value)."""

    contact = forms.CharField(
        label=_("Mobile number or e-mail"), max_length=254,
        help_text=_("We send a 6-digit code to it by SMS or e-mail, if it belongs to an account."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"}))

    def clean_contact(self):
        value = self.cleaned_data["contact"].strip()
        if "@" in value:
            forms.EmailField().clean(value)
            return ("email", value)
        try:
            return ("phone", codes.mobile_number(value))
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc


class SignInCodeForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code"), max_length=6, min_length=6,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*",
                                      "class": "big-input", "autofocus": True}))
