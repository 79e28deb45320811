"""Staff read the ledger here; entries are never edited. Payout runs, transfers, failures, adjustments and cash
confirmations have their own staff page (/staff/money/) and API, which call ledger.services. Commission rules are
added here (a new rule never changes a past sale)."""
from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import (
    CashCount,
    CashRemittance,
    CommissionRule,
    JournalEntry,
    JournalLine,
    Payout,
    PayoutAccount,
    PayoutBatch,
    ShopBalance,
)


class LineInline(ReadOnlyInline):
    model = JournalLine
    fields = ("account", "amount")
    readonly_fields = fields


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "kind", "shop", "shop_amount", "order", "memo_text")
    list_filter = ("kind",)
    list_select_related = ("shop", "order")
    search_fields = ("key", "order__number", "shop__slug")
    inlines = [LineInline]


@admin.register(ShopBalance)
class ShopBalanceAdmin(ReadOnlyAdmin):
    list_display = ("shop", "pending", "available", "scheduled", "paid_out", "updated_at")
    list_select_related = ("shop",)
    search_fields = ("shop__slug", "shop__name")


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ("number", "shop", "amount", "status", "created_at", "paid_at", "reference")
    list_filter = ("status",)
    list_select_related = ("shop",)
    search_fields = ("number", "shop__slug")


@admin.register(PayoutBatch)
class PayoutBatchAdmin(ReadOnlyAdmin):
    list_display = ("period", "created_at", "created_by")


@admin.register(PayoutAccount)
class PayoutAccountAdmin(ReadOnlyAdmin):
    list_display = ("shop", "holder", "bank", "masked_number", "hold_until", "updated_at")
    exclude = ("account_number",)
    readonly_fields = ("shop", "holder", "bank", "masked_number", "hold_until")


@admin.register(CommissionRule)
class CommissionRuleAdmin(admin.ModelAdmin):
    list_display = ("shop", "category", "rate", "valid_from", "created_by")
    autocomplete_fields = ()
    raw_id_fields = ("shop",)
    exclude = ("created_by",)

    def has_change_permission(self, request, obj=None):
        return False  # a rule is replaced by a newer one, never rewritten

    def save_model(self, request, obj, form, change):
        obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(CashRemittance)
class CashRemittanceAdmin(ReadOnlyAdmin):
    list_display = ("station", "agent", "amount", "status", "created_at", "confirmed_at")
    list_filter = ("status",)


@admin.register(CashCount)
class CashCountAdmin(ReadOnlyAdmin):
    list_display = ("station", "agent", "expected", "counted", "difference", "created_at")
