"""Admin building blocks for rows staff may read but never write.

Such rows (orders, payments, parcels, lots, trace events ...) change only through their app's
services, which keep stock, money, notifications and the trace log in step; the admin shows them.
"""
from django.contrib import admin


class ReadOnlyAdminMixin:
    """No add, change or delete for anyone, staff included; viewing stays as the user's permissions say."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A model admin whose rows are only read."""


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A tabular inline whose rows are only read: no empty extra rows, no delete boxes."""

    extra = 0
    can_delete = False
