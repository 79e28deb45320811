"""Forms for the logistics pages: few fields, big inputs (agents work on phones, often with gloves on)."""
from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from . import services
from .models import TrackingEvent

CODE_ATTRS = {"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false", "class": "input big-input",
              "enterkeyhint": "go"}


class ParcelCodeField(forms.CharField):
    """A typed or scanned parcel code, checked with its check character and returned in canonical form."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("label", _("Parcel code"))
        kwargs.setdefault("widget", forms.TextInput(attrs=dict(CODE_ATTRS, placeholder="P…")))
        super().__init__(**kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        try:
            return services.parse_parcel_code(value)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["code"])


class ReceiveForm(forms.Form):
    code = ParcelCodeField(help_text=_("Type the code on the label, or scan its QR code."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].widget.attrs["autofocus"] = True


class TrackForm(forms.Form):
    code = ParcelCodeField()


class DeliveryCodeForm(forms.Form):
    code = forms.CharField(label=_("Delivery code"), max_length=12,
                           help_text=_("The 6 digits on the buyer's order page."),
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code",
                                                         "pattern": "[0-9 ]{6,8}", "class": "input big-input"}))


class DeliverForm(DeliveryCodeForm):
    cash_collected = forms.BooleanField(label=_("I have collected the cash"), required=False)


class ShipmentForm(forms.Form):
    destination = forms.CharField(label=_("Destination city"), max_length=60)
    carrier = forms.CharField(label=_("Carrier"), max_length=60, help_text=_("For example 顺丰速运 or the county bus."))
    tracking_number = forms.CharField(label=_("Carrier tracking number"), max_length=60, required=False)


class AddParcelsForm(forms.Form):
    parcels = forms.MultipleChoiceField(label=_("Parcels waiting at the station"), required=False,
                                        widget=forms.CheckboxSelectMultiple)
    code = ParcelCodeField(label=_("Or type a parcel code"), required=False)

    def __init__(self, *args, waiting=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parcels"].choices = [
            (p.code, f"{p.code} · {p.destination_city}{' · ❄' if p.cold_chain else ''}") for p in waiting]

    def clean(self):
        data = super().clean()
        chosen = list(data.get("parcels") or [])
        if data.get("code"):
            chosen.append(data["code"])
        if not chosen and not self.errors:
            raise ValidationError(_("Tick a parcel or type its code."))
        data["codes"] = chosen
        return data


class ShipmentEventForm(forms.Form):
    kind = forms.ChoiceField(label=_("What happened"), widget=forms.RadioSelect,
                             choices=[(k.value, k.label) for k in services.SHIPMENT_EVENT_KINDS if k != "departed"])
    location = forms.CharField(label=_("Place"), max_length=120, required=False)
    problem = forms.ChoiceField(label=_("Problem"), required=False,
                                choices=[("", _("(only for a problem)")), *TrackingEvent.Problem.choices])
    note = forms.CharField(label=_("Note"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    photo = forms.FileField(label=_("Photo"), required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}))
    parcels = forms.MultipleChoiceField(label=_("Only these parcels (for a problem)"), required=False,
                                        widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, parcels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parcels"].choices = [(p.code, p.code) for p in parcels]

    def clean(self):
        data = super().clean()
        if data.get("kind") == "exception" and not data.get("problem"):
            self.add_error("problem", _("Say what happened: damaged, delayed, lost or other."))
        return data


class PackForm(forms.Form):
    """One lot choice per order line, from the lots of the line's product (all loaded in one query).

    A lot inside its pre-harvest interval (`holds`, from shops.stock.lot_holds) is not offered; the
    line says which lots are held and until when, and what to do, instead of an empty choice.
    """

    def __init__(self, *args, lines=(), lots_by_product=None, holds=None, **kwargs):
        super().__init__(*args, **kwargs)
        lots_by_product = lots_by_product or {}
        holds = holds or {}
        self.lines = []
        # (line, why it cannot be packed now, what to do): shown above the fields.
        self.blocked = []
        for line in lines:
            if line.product_id is None:
                continue
            name = f"line_{line.pk}"
            product_holds = holds.get(line.product_id)
            held = {lot.pk: lot for lot in product_holds.held} if product_holds else {}
            offered = [lot for lot in lots_by_product.get(line.product_id, []) if lot.pk not in held]
            choices = [("", _("Choose a lot"))] + [
                (str(lot.pk), _("%(code)s · harvested %(date)s · %(qty)d units") % {
                    "code": lot.code, "date": lot.harvested_on.isoformat(), "qty": lot.quantity})
                for lot in offered]
            reasons = [lot.message for lot in held.values()]
            if not offered:
                if held:
                    todo = _("Record a new harvest lot of this product that was not sprayed inside its interval, "
                             "or wait until the interval ends; if you cannot send the order in time, cancel it "
                             "so the buyer is refunded.")
                else:
                    todo = _("No harvest lot of this product is recorded yet: record the lot you pack it from.")
                self.blocked.append((line, reasons, todo))
            self.fields[name] = forms.ChoiceField(
                label=_("%(title)s × %(quantity)d %(unit)s") % {"title": line.title, "quantity": line.quantity,
                                                                "unit": line.unit},
                choices=choices, initial=str(line.lot_id) if line.lot_id and line.lot_id not in held else "",
                help_text=" ".join(reasons),
                error_messages={"required": _("Choose the lot “%(title)s” is packed from.") % {"title": line.title}})
            self.lines.append((line, name))
            if line.is_weighed:
                # Checked by orders.services.record_weights (above 0, not absurd); errors land on this field.
                self.fields[f"weight_{line.pk}"] = forms.DecimalField(
                    label=_("Real weight of “%(title)s” (kg)") % {"title": line.title}, min_value=None,
                    max_digits=12, decimal_places=3, initial=line.weight_kg,
                    help_text=_("Estimated %(estimate)s kg at ¥%(price)s per kg; the buyer pays at most "
                                "¥%(most)s.") % {"estimate": line.estimated_weight_kg.normalize(),
                                                 "price": line.price_per_kg, "most": line.max_total},
                    widget=forms.NumberInput(attrs={"step": "0.001", "inputmode": "decimal", "class": "input"}))

    def lots(self) -> dict[int, str]:
        return {line.pk: self.cleaned_data[name] for line, name in self.lines}

    def weights(self) -> dict[int, object]:
        return {line.pk: self.cleaned_data.get(f"weight_{line.pk}") for line, _name in self.lines
                if line.is_weighed}


class ReviewForm(forms.Form):
    rating = forms.TypedChoiceField(label=_("Your rating"), coerce=int, widget=forms.RadioSelect,
                                    choices=[(n, "★" * n) for n in range(5, 0, -1)])
    text = forms.CharField(label=_("Your review"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 4}))
    photo = forms.FileField(label=_("Photo"), required=False,
                            widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))


class ReplyForm(forms.Form):
    reply = forms.CharField(label=_("Your reply"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
