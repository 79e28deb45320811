from django import forms
from django.utils.translation import gettext_lazy as _

from logistics.models import Station

from .models import AssistedFarmer

PHOTO = forms.FileInput(attrs={"accept": "image/*", "capture": "environment"})


class RegisterFarmerForm(forms.Form):
    name = forms.CharField(label=_("Farmer's name"), max_length=80)
    phone = forms.CharField(label=_("Mobile number"), max_length=30,
                            help_text=_("A mainland mobile number such as 13800138000: the farmer's codes and "
                                        "messages go there."),
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    village = forms.ModelChoiceField(label=_("Village"), queryset=None)
    id_photo = forms.FileField(label=_("Photo of the farmer's ID card"), widget=PHOTO,
                               help_text=_("Kept privately; only staff can see it."))
    consent_method = forms.ChoiceField(label=_("Consent"), choices=AssistedFarmer.Method.choices,
                                       initial=AssistedFarmer.Method.SMS, widget=forms.RadioSelect,
                                       help_text=_("By SMS: the farmer reads you the code sent to their phone. "
                                                   "On paper: photograph the consent form they signed."))
    consent_paper = forms.FileField(label=_("Photo of the signed consent form"), required=False, widget=PHOTO)

    def __init__(self, *args, station: Station, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["village"].queryset = station.villages.order_by("name")

    def clean(self):
        data = super().clean()
        if data.get("consent_method") == AssistedFarmer.Method.PAPER and not data.get("consent_paper"):
            self.add_error("consent_paper", _("Take a photo of the signed consent form."))
        return data


class ConsentCodeForm(forms.Form):
    code = forms.CharField(label=_("Code the farmer received"), max_length=12,
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}))


class PaperConsentForm(forms.Form):
    consent_paper = forms.FileField(label=_("Photo of the signed consent form"), widget=PHOTO)
