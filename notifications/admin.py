from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services
from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "recipient", "channel", "kind", "subject", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "channel", "kind")
    list_select_related = ("recipient",)
    search_fields = ("subject", "recipient__username", "recipient__email", "dedupe_key")
    raw_id_fields = ("recipient",)
    date_hierarchy = "created_at"
    readonly_fields = ("attempts", "next_attempt_at", "last_error", "sent_at", "read_at", "created_at")
    actions = ["resend_failed"]

    @admin.action(description=_("Resend selected failed notifications"))
    def resend_failed(self, request, queryset):
        count = services.resend(notifications=queryset)
        self.message_user(
            request,
            ngettext("%(count)d notification queued again.", "%(count)d notifications queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )
