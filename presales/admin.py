"""Staff views of pre-sales and groups. Money and counters change only through the services, so they are read-only."""
from django.contrib import admin

from core.admin import ReadOnlyInline

from .models import BuyingGroup, GroupDeal, GroupMember, PreOrder, PreSale


class PreOrderInline(ReadOnlyInline):
    model = PreOrder
    fields = readonly_fields = ("order", "buyer", "quantity", "unit_price", "payment", "status", "created_at")


@admin.register(PreSale)
class PreSaleAdmin(admin.ModelAdmin):
    list_display = ("product", "harvest_start", "harvest_end", "capacity", "units_sold", "price", "is_open",
                    "cancelled_at")
    list_filter = ("is_open",)
    search_fields = ("product__title", "product__shop__name")
    list_select_related = ("product",)
    raw_id_fields = ("product",)
    readonly_fields = ("units_sold", "cancelled_at", "cancel_reason", "created_at", "updated_at")
    inlines = [PreOrderInline]


@admin.register(PreOrder)
class PreOrderAdmin(admin.ModelAdmin):
    list_display = ("order", "presale", "buyer", "quantity", "payment", "status", "created_at")
    list_filter = ("status", "payment")
    search_fields = ("order__number", "buyer__username")
    list_select_related = ("order", "presale__product", "buyer")
    readonly_fields = ("presale", "order", "buyer", "quantity", "unit_price", "payment", "status", "pay_by",
                       "cancelled_at", "cancel_reason", "created_at", "updated_at")


class GroupMemberInline(ReadOnlyInline):
    model = GroupMember
    fields = readonly_fields = ("buyer", "order", "quantity", "status", "hold_until", "release_reason")


@admin.register(GroupDeal)
class GroupDealAdmin(admin.ModelAdmin):
    list_display = ("product", "group_size", "group_price", "hours_to_fill", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("product__title", "product__shop__name")
    list_select_related = ("product",)
    raw_id_fields = ("product",)


@admin.register(BuyingGroup)
class BuyingGroupAdmin(admin.ModelAdmin):
    list_display = ("code", "deal", "places_taken", "size", "status", "expires_at")
    list_filter = ("status",)
    search_fields = ("code",)
    list_select_related = ("deal__product",)
    readonly_fields = ("deal", "code", "size", "price", "places_taken", "status", "started_by", "expires_at",
                       "filled_at", "failed_at", "created_at")
    inlines = [GroupMemberInline]
