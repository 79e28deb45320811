"""The trace log: append-only, hash-chained EPCIS 2.0 events, one chain per harvest lot.

Rows are written only by traceability.services, which listen to the business flows (a lot
recorded, an input applied, an inspection, a parcel packed, received, shipped, delivered). Once
written a row never changes: save() refuses updates, delete() and the queryset's update()/delete()
raise, and the admin is read-only. A row changed behind the ORM's back (raw SQL) no longer matches
its hash, or breaks the link to the next row, and traceability.chain reports it.
"""
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils.translation import gettext_lazy as _

from logistics.models import Parcel
from shops.models import HarvestLot

GENESIS_HASH = "0" * 64  # the "previous hash" of the first record of every chain


class AppendOnlyError(Exception):
    """Trace records are never changed or deleted: a correction is a new record."""


class TraceEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("Trace events cannot be updated.")

    def delete(self):
        raise AppendOnlyError("Trace events cannot be deleted.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError("Trace events cannot be updated.")

    def update_or_create(self, defaults=None, create_defaults=None, **kwargs):
        raise AppendOnlyError("Trace events cannot be updated.")

    # Django's own cascade deletion goes through these; nothing may reach them either.
    def _raw_delete(self, using):
        raise AppendOnlyError("Trace events cannot be deleted.")

    def _update(self, values):
        raise AppendOnlyError("Trace events cannot be updated.")


class TraceEvent(models.Model):
    class EventType(models.TextChoices):
        OBJECT = "ObjectEvent", "ObjectEvent"
        AGGREGATION = "AggregationEvent", "AggregationEvent"
        TRANSFORMATION = "TransformationEvent", "TransformationEvent"

    class Action(models.TextChoices):
        ADD = "ADD", "ADD"
        OBSERVE = "OBSERVE", "OBSERVE"
        DELETE = "DELETE", "DELETE"

    class Kind(models.TextChoices):
        """The step of the flow that wrote the record; it names the step on the trace page."""

        HARVEST = "harvest", _("Harvested and recorded")
        INPUT = "input", _("Fertiliser or pesticide applied")
        INSPECTION = "inspection", _("Inspected")
        PACKED = "packed", _("Packed into a parcel")
        RECEIVED = "received", _("Received at the village station")
        STORED = "stored", _("Kept in the station's cold store")
        LOADED = "loaded", _("Loaded into a shipment")
        SHIPPED = "shipped", _("Left the village station")
        ARRIVED = "arrived", _("Arrived at a hub")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        DELIVERED = "delivered", _("Delivered to the buyer")
        PROBLEM = "problem", _("Problem reported")

    lot = models.ForeignKey(HarvestLot, on_delete=models.PROTECT, related_name="trace_events",
                            verbose_name=_("lot"))
    parcel = models.ForeignKey(Parcel, on_delete=models.PROTECT, null=True, blank=True, related_name="trace_events",
                               verbose_name=_("parcel"))
    sequence = models.PositiveIntegerField(_("number in the lot's chain"))
    kind = models.CharField(_("step"), max_length=20, choices=Kind.choices)
    # One fan-out (a parcel carrying several lots) gives one row per lot with the same event ID.
    event_id = models.CharField(_("EPCIS event ID"), max_length=100, db_index=True)
    event_type = models.CharField(_("EPCIS event type"), max_length=24, choices=EventType.choices)
    action = models.CharField(_("action"), max_length=8, choices=Action.choices)
    biz_step = models.CharField(_("business step"), max_length=100)
    disposition = models.CharField(_("disposition"), max_length=100, blank=True)
    event_time = models.DateTimeField(_("event time"))
    event_timezone_offset = models.CharField(_("time zone offset"), max_length=6)
    read_point = models.CharField(_("read point"), max_length=300, blank=True)
    biz_location = models.CharField(_("business location"), max_length=300, blank=True)
    # The EPCIS event exactly as exported (JSON-LD keys, compact "fg:" extensions).
    document = models.JSONField(_("EPCIS event"), encoder=DjangoJSONEncoder)
    recorded_at = models.DateTimeField(_("recorded at"))
    previous_hash = models.CharField(_("previous record's hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, db_index=True)

    objects = TraceEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("trace event")
        verbose_name_plural = _("trace events")
        ordering = ["lot_id", "sequence"]
        constraints = [
            # Two writers appending to one lot at once cannot both take the same place in its chain.
            models.UniqueConstraint(fields=["lot", "sequence"], name="trace_event_one_per_place_in_chain"),
        ]
        indexes = [models.Index(fields=["parcel", "sequence"], name="trace_event_parcel")]

    def __str__(self) -> str:
        return f"{self.lot_id} #{self.sequence} {self.kind}"

    def save(self, *args, **kwargs):
        if not self._state.adding or kwargs.get("force_update") or kwargs.get("update_fields"):
            raise AppendOnlyError("Trace events cannot be changed once recorded.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("Trace events cannot be deleted.")
