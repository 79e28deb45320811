"""Staff edit shipping rates here. Orders, payments and refunds are shown read-only: their states change
only through orders.services (stock, refunds and notifications follow each change)."""
from django.contrib import admin

from core.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import Cart, CartItem, Order, OrderLine, Payment, Refund, ShippingRate, ShopOrder, StripeEvent


@admin.register(ShippingRate)
class ShippingRateAdmin(admin.ModelAdmin):
    list_display = ("zone", "base_fee", "per_kg", "cold_chain_surcharge")
    list_editable = ("base_fee", "per_kg", "cold_chain_surcharge")
    ordering = ("id",)


class CartItemInline(ReadOnlyInline):
    model = CartItem
    fields = ("product", "quantity", "added_at")
    readonly_fields = fields


@admin.register(Cart)
class CartAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    exclude = ("session_key",)
    inlines = [CartItemInline]


class ShopOrderInline(ReadOnlyInline):
    model = ShopOrder
    fields = ("shop", "status", "items_total", "shipping_fee", "total", "refunded_amount", "cancel_reason")
    readonly_fields = fields
    show_change_link = True


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ("provider", "status", "amount", "intent_id", "collected_by", "created_at")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("number", "buyer", "status", "payment_method", "total", "created_at")
    list_filter = ("status", "payment_method")
    list_select_related = ("buyer",)
    search_fields = ("number", "buyer__username", "recipient", "phone")
    date_hierarchy = "created_at"
    inlines = [ShopOrderInline, PaymentInline]


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("title", "unit", "unit_price", "quantity", "line_total", "lot")
    readonly_fields = fields


@admin.register(ShopOrder)
class ShopOrderAdmin(ReadOnlyAdmin):
    list_display = ("order", "shop", "status", "total", "created_at")
    list_filter = ("status",)
    list_select_related = ("order", "shop")
    search_fields = ("order__number", "shop__name")
    inlines = [OrderLineInline]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("order", "provider", "status", "amount", "created_at")
    list_filter = ("provider", "status")
    list_select_related = ("order",)
    search_fields = ("order__number", "intent_id")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ("payment", "shop_order", "amount", "status", "created_at")
    list_filter = ("status",)
    list_select_related = ("payment", "shop_order")


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "received_at", "processed_at")
    list_filter = ("type",)
    search_fields = ("event_id",)
