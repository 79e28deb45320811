from django import forms
from django.utils.translation import gettext_lazy as _

from . import selectors
from .models import Sensor


class SensorForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=80,
                           help_text=_("For example: Greenhouse 2 air temperature."))
    kind = forms.ChoiceField(label=_("What it measures"), choices=Sensor.Kind.choices)
    unit = forms.ChoiceField(label=_("Unit"), choices=Sensor.Unit.choices)
    attach = forms.ChoiceField(label=_("Where it is"))
    plot = forms.CharField(label=_("Plot or field"), max_length=80, required=False,
                           help_text=_("Only for a sensor on a shop's plot."))
    min_value = forms.DecimalField(label=_("Lowest acceptable value"), max_digits=9, decimal_places=2,
                                   required=False)
    max_value = forms.DecimalField(label=_("Highest acceptable value"), max_digits=9, decimal_places=2,
                                   required=False, help_text=_("An alert opens when a reading goes outside."))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        groups = [
            (_("Plots of your shops"), [(f"plot:{s.pk}", s.name) for s in selectors.attachable_shops(user)]),
            (_("Cold stores"), [(f"cold_store:{s.pk}", s.name) for s in selectors.attachable_stations(user)]),
            (_("Shipments"), [(f"shipment:{s.pk}", f"{s.code} → {s.destination}")
                              for s in selectors.attachable_shipments(user)[:50]]),
        ]
        self.fields["attach"].choices = [(label, choices) for label, choices in groups if choices]

    @property
    def has_targets(self) -> bool:
        return bool(self.fields["attach"].choices)

    def attachment(self) -> tuple[str, int]:
        kind, _sep, target = self.cleaned_data["attach"].partition(":")
        return kind, int(target)
