from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import codes
from .models import Address, User


class SignUpForm(forms.Form):
    """A mobile number (confirmed by an SMS code, then no password needed) or an e-mail address and a password."""

    role = forms.ChoiceField(
        label=_("I want to"),
        choices=[(User.Role.BUYER, _("Buy produce")), (User.Role.FARMER, _("Sell my farm's produce"))],
        widget=forms.RadioSelect,
        initial=User.Role.BUYER,
    )
    display_name = forms.CharField(label=_("Your name"), max_length=80, required=False,
                                   widget=forms.TextInput(attrs={"autocomplete": "name"}))
    phone = forms.CharField(
        label=_("Mobile number"), max_length=20, required=False,
        help_text=_("We send a 6-digit code to it by SMS; with it you sign in without a password."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel", "type": "tel"}))
    email = forms.EmailField(label=_("Email"), required=False,
                             help_text=_("Optional with a mobile number; needed without one."),
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    username = forms.CharField(label=_("Username"), max_length=150, required=False,
                               help_text=_("Optional with a mobile number: we make one from it."),
                               widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}))
    password1 = forms.CharField(label=_("Password"), strip=False, required=False,
                                help_text=_("Optional with a mobile number: you can always sign in with a code."),
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("Password again"), strip=False, required=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        # The number (and a name) unless an e-mail address (and a username) is given; a username and a password
        # unless a number is: a blank form asks for all of them, and either way in fills what it needs.
        given = data or {}
        self.fields["phone"].required = not (given.get("email") or "").strip()
        self.fields["display_name"].required = not (given.get("username") or "").strip()
        for name in ("username", "password1", "password2"):
            self.fields[name].required = not (given.get("phone") or "").strip()

    def clean_phone(self):
        value = self.cleaned_data["phone"].strip()
        if not value:
            return ""
        try:
            return codes.mobile_number(value)
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc

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
