"""Forms of the agent's "order for a villager" pages: the villager, the quantities picked, the pickup code."""
from django import forms
from django.utils.translation import gettext_lazy as _

from logistics.forms import DeliverForm
from orders.services import MAX_QUANTITY

QUANTITY_PREFIX = "qty_"


class VillagerForm(forms.Form):
    buyer_phone = forms.CharField(
        label=_("Villager's mobile number"), max_length=30,
        help_text=_("The SMS with the order number and the pickup code go to this number."),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off", "placeholder": "13800138000"}))
    buyer_name = forms.CharField(
        label=_("Villager's name"), max_length=80, required=False,
        help_text=_("Needed the first time this number orders."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}))
    q = forms.CharField(label=_("Find produce"), max_length=100, required=False,
                        widget=forms.TextInput(attrs={"type": "search", "enterkeyhint": "search"}))


def picked_quantities(data) -> tuple[dict[int, int], list[str]]:
    """The quantities typed next to each product (`qty_<product id>`): product id -> units, and the problems found.
    Empty and zero boxes are not picked."""
    picked: dict[int, int] = {}
    problems: list[str] = []
    for key in data:
        if not key.startswith(QUANTITY_PREFIX) or not key[len(QUANTITY_PREFIX):].isdigit():
            continue
        raw = (data.get(key) or "").strip()
        if raw in ("", "0"):
            continue
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_QUANTITY:
            problems.append(_("Enter a quantity between 1 and %(max)d.") % {"max": MAX_QUANTITY})
            continue
        picked[int(key[len(QUANTITY_PREFIX):])] = int(raw)
    return picked, sorted(set(problems))


class PickupForm(DeliverForm):
    """The villager's 6-digit code, and the cash when the order is not paid yet (the station's deliver form)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].help_text = _("The 6 digits in the villager's SMS.")
