from django import forms
from django.utils.translation import gettext_lazy as _

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
