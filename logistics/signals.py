"""Signals other apps may listen to without logistics importing them."""
from django.dispatch import Signal

# Sent inside the writing transaction with `events`, the TrackingEvents just recorded (hand-overs,
# receipts, loads, shipment moves, deliveries), e.g. for the traceability custody log.
tracking_events_recorded = Signal()
