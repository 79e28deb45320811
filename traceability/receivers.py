"""The trace log listens to the business flows; the flows never import it (arrows point one way)."""
from django.dispatch import receiver

from logistics.signals import tracking_events_recorded
from shops.signals import lot_event

from . import services


@receiver(lot_event, dispatch_uid="traceability.lot_event")
def lot_changed(sender, lot, what: str, **details):
    if what == "recorded":
        services.record_harvest(lot=lot)
    elif what == "input_applied":
        services.record_input(lot=lot, application=details["application"])


@receiver(tracking_events_recorded, dispatch_uid="traceability.tracking_events")
def parcels_moved(sender, events, **kwargs):
    services.record_custody(events=list(events))
