from django.contrib import admin

from .models import Alert, Reading, Sensor


@admin.register(Sensor)
class SensorAdmin(admin.ModelAdmin):
    """Keys are made and revoked from the owner's pages or the API (the key is shown once), not here."""

    list_display = ("name", "kind", "unit", "min_value", "max_value", "shop", "plot", "station", "shipment",
                    "key_prefix", "key_revoked_at", "last_reading_at")
    list_filter = ("kind", "unit")
    list_select_related = ("shop", "station", "shipment")
    search_fields = ("name", "plot", "key_prefix", "shop__name", "station__name", "shipment__code")
    raw_id_fields = ("shop", "station", "shipment", "created_by")
    readonly_fields = ("key_prefix", "key_revoked_at", "last_reading_at", "last_value", "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(Reading)
class ReadingAdmin(admin.ModelAdmin):
    list_display = ("sensor", "time", "value")
    list_select_related = ("sensor",)
    raw_id_fields = ("sensor",)
    show_full_result_count = False  # counting millions of readings on every page is slow

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("sensor", "kind", "started_at", "ended_at", "first_value", "worst_value", "reading_count")
    list_filter = ("kind",)
    list_select_related = ("sensor",)
    raw_id_fields = ("sensor",)

    def has_change_permission(self, request, obj=None):
        return False
