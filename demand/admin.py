from django.contrib import admin

from .models import DemandPost, Offer, SearchLog


class OfferInline(admin.TabularInline):
    model = Offer
    extra = 0
    raw_id_fields = ("product", "shop", "made_by")
    readonly_fields = ("created_at",)


@admin.register(DemandPost)
class DemandPostAdmin(admin.ModelAdmin):
    list_display = ("id", "what", "quantity", "unit", "province", "city", "needed_by", "status", "created_at")
    list_filter = ("status", "province", "category")
    search_fields = ("words", "city", "buyer__username")
    raw_id_fields = ("buyer",)
    list_select_related = ("category",)
    inlines = [OfferInline]


@admin.register(SearchLog)
class SearchLogAdmin(admin.ModelAdmin):
    """Read-only: the counts come from the catalogue's searches."""

    list_display = ("day", "query", "category", "province", "count")
    list_filter = ("day", "category")
    search_fields = ("query",)
    date_hierarchy = "day"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
