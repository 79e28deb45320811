from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from core.admin import ReadOnlyAdmin

from .models import Address, SignInCode, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "email", "role", "is_active", "date_joined")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("username", "display_name", "email", "phone")
    fieldsets = DjangoUserAdmin.fieldsets + ((_("Farmgate"), {"fields": ("role", "display_name", "phone")}),)
    add_fieldsets = DjangoUserAdmin.add_fieldsets + ((_("Farmgate"), {"fields": ("role", "display_name")}),)


@admin.register(Address)
class AddressAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "province", "city", "district", "is_default")
    list_select_related = ("user",)
    search_fields = ("name", "user__username", "city")
    raw_id_fields = ("user",)


@admin.register(SignInCode)
class SignInCodeAdmin(ReadOnlyAdmin):
    """For support ("did my code go out?"): when and how a code was sent, its tries and use; never the code."""

    list_display = ("user", "channel", "created_at", "expires_at", "attempts", "used_at")
    list_filter = ("channel",)
    list_select_related = ("user",)
    search_fields = ("user__username", "user__phone", "user__email")
    fields = ("user", "channel", "created_at", "expires_at", "attempts", "used_at")
