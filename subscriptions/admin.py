from django.contrib import admin

from .models import Box, BoxItem, StandingOrderRun, Subscription


class BoxItemInline(admin.TabularInline):
    model = BoxItem
    extra = 0
    raw_id_fields = ("product",)


@admin.register(Box)
class BoxAdmin(admin.ModelAdmin):
    list_display = ("title", "shop", "kind", "price", "frequency", "capacity", "is_active")
    list_filter = ("frequency", "kind", "is_active")
    raw_id_fields = ("shop",)
    inlines = [BoxItemInline]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("box", "buyer", "status", "created_at")
    list_filter = ("status",)
    raw_id_fields = ("box", "buyer", "address", "payment_method")

    def has_change_permission(self, request, obj=None):
        return False  # changed by the buyer through the services


@admin.register(StandingOrderRun)
class StandingOrderRunAdmin(admin.ModelAdmin):
    list_display = ("subscription", "cutoff_date", "delivery_date", "outcome", "order")
    list_filter = ("outcome",)
    raw_id_fields = ("subscription", "order")

    def has_change_permission(self, request, obj=None):
        return False
