from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import ActivityEntry, AssistedFarmer

PRIVATE_PHOTOS = {"id": "id_photo", "paper": "consent_paper"}


@admin.register(AssistedFarmer)
class AssistedFarmerAdmin(admin.ModelAdmin):
    list_display = ("farmer", "station", "village", "consent", "consent_method", "registered_by", "created_at")
    list_filter = ("consent", "consent_method", "station")
    list_select_related = ("farmer", "station", "village", "registered_by")
    search_fields = ("farmer__display_name", "farmer__phone", "farmer__username")
    raw_id_fields = ("farmer", "registered_by")
    # Private photos are never form fields (the default widget would print a /media/ link); staff open them below.
    exclude = ("id_photo", "consent_paper", "code_hash", "code_expires_at", "code_attempts")
    readonly_fields = ("photos", "consent_given_at", "consent_withdrawn_at", "created_at")

    def get_urls(self):
        own = [path("<int:pk>/photo/<str:which>/", self.admin_site.admin_view(self.photo_view),
                    name="stations_assistedfarmer_photo")]
        return own + super().get_urls()

    def photo_view(self, request, pk: int, which: str):
        """Stream a private photo to staff as a download, never rendered as a page."""
        if not self.has_view_permission(request) or which not in PRIVATE_PHOTOS:
            raise PermissionDenied
        record = get_object_or_404(AssistedFarmer, pk=pk)
        photo = getattr(record, PRIVATE_PHOTOS[which])
        if not photo:
            raise Http404
        response = FileResponse(photo.open("rb"), as_attachment=True, filename=photo.name.rsplit("/", 1)[-1])
        response["Cache-Control"] = "private, no-store"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    @admin.display(description=_("photos"))
    def photos(self, obj):
        links = [(reverse("admin:stations_assistedfarmer_photo", args=[obj.pk, key]), label)
                 for key, label in (("id", _("ID photo")), ("paper", _("signed consent form")))
                 if obj.pk and getattr(obj, PRIVATE_PHOTOS[key])]
        if not links:
            return _("None sent")
        return format_html(" · ".join('<a href="{}">{}</a>' for _link in links), *[v for pair in links for v in pair])


@admin.register(ActivityEntry)
class ActivityEntryAdmin(admin.ModelAdmin):
    list_display = ("created_at", "owner", "actor", "method", "view_name", "label")
    list_select_related = ("owner", "actor")
    search_fields = ("owner__username", "actor__username", "path")
    readonly_fields = ("owner", "actor", "method", "path", "view_name", "label", "created_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
