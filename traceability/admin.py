"""Trace records are read-only for everyone, staff included: they are written only by the flows."""
from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import TraceEvent


@admin.register(TraceEvent)
class TraceEventAdmin(ReadOnlyAdmin):
    list_display = ("lot", "sequence", "kind", "biz_step", "disposition", "event_time", "parcel", "hash")
    list_filter = ("kind", "event_type")
    search_fields = ("lot__code", "parcel__code", "event_id", "hash")
    list_select_related = ("lot", "parcel")
    ordering = ("-recorded_at", "-pk")
    readonly_fields = [f.name for f in TraceEvent._meta.fields]
