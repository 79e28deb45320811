"""Staff pages for places, shops, the category tree, products and lots.

Shop verification goes through services.review_verification. The licence photo has no public URL:
staff see it through a view of this admin that streams the private file. Products and lots are
the sellers' records, written through the services (search document, cache version, trace log),
so here staff may only take a product off sale, and lots are read-only.
"""
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from PIL import Image

from core.admin import ReadOnlyAdmin, ReadOnlyInline

from . import services
from .cache import bump_catalogue_version, product_changed
from .filters import category_tree_order
from .models import Category, HarvestLot, InputApplication, Product, ProductImage, Shop, ShopMember, Village

# Pillow's format -> the only content types the licence view ever sends.
LICENCE_CONTENT_TYPES = {"JPEG": ("image/jpeg", "jpg"), "MPO": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"),
                         "WEBP": ("image/webp", "webp"), "HEIF": ("image/heif", "heic")}


@admin.register(Village)
class VillageAdmin(admin.ModelAdmin):
    list_display = ("name", "name_en", "township", "county", "city", "province")
    list_filter = ("province",)
    search_fields = ("name", "name_en", "township", "county", "city")


class ShopMemberInline(admin.TabularInline):
    model = ShopMember
    extra = 0
    raw_id_fields = ("user",)
    fields = ("user", "role", "joined_at")
    readonly_fields = ("joined_at",)


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "village", "owner", "verification", "is_open", "created_at")
    list_filter = ("verification", "kind", "is_open", "village__province")
    list_select_related = ("village", "owner")
    search_fields = ("name", "slug", "owner__username", "village__name")
    raw_id_fields = ("owner",)
    autocomplete_fields = ("village",)
    # The licence photo is never a form field: the default widget would print a /media/ link.
    exclude = ("licence_photo",)
    readonly_fields = ("licence", "verified_at", "created_at", "updated_at")
    inlines = (ShopMemberInline,)
    actions = ("approve_verification", "reject_verification")

    class Media:
        css = {"all": ("css/admin.css",)}  # the photo's size: the CSP allows no style attributes

    def get_urls(self):
        own = [path("<int:shop_id>/licence/", self.admin_site.admin_view(self.licence_view),
                    name="shops_shop_licence")]
        return own + super().get_urls()

    def licence_view(self, request, shop_id: int):
        """Stream the private licence photo to staff, typed by its real format, never rendered as a page."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        shop = get_object_or_404(Shop, pk=shop_id)
        if not shop.licence_photo:
            raise Http404
        try:
            with shop.licence_photo.open("rb") as handle, Image.open(handle) as image:
                content_type, ext = LICENCE_CONTENT_TYPES.get(image.format, ("application/octet-stream", "bin"))
        except (OSError, Image.UnidentifiedImageError):
            raise Http404
        response = FileResponse(shop.licence_photo.open("rb"), content_type=content_type,
                                filename=f"licence-{shop.pk}.{ext}")
        response["Cache-Control"] = "private, no-store"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response

    @admin.display(description=_("licence or ID photo"))
    def licence(self, obj):
        if not obj.pk or not obj.licence_photo:
            return _("None sent")
        url = reverse("admin:shops_shop_licence", args=[obj.pk])
        return format_html('<a href="{}"><img src="{}" alt="{}" class="admin-licence-photo"></a>',
                           url, url, _("Licence or ID photo"))

    def save_model(self, request, obj, form, change):
        obj.description = services.sanitise_description(obj.description)
        super().save_model(request, obj, form, change)
        bump_catalogue_version()

    def _review(self, request, queryset, approve: bool) -> int:
        count = 0
        for shop in queryset:
            services.review_verification(shop=shop, reviewer=request.user, approve=approve)
            count += 1
        return count

    @admin.action(description=_("Approve verification"), permissions=["change"])
    def approve_verification(self, request, queryset):
        count = self._review(request, queryset, approve=True)
        self.message_user(request, ngettext("%(count)d shop verified.", "%(count)d shops verified.", count)
                          % {"count": count}, messages.SUCCESS)

    @admin.action(description=_("Reject verification"), permissions=["change"])
    def reject_verification(self, request, queryset):
        count = self._review(request, queryset, approve=False)
        self.message_user(request, ngettext("%(count)d shop rejected.", "%(count)d shops rejected.", count)
                          % {"count": count}, messages.WARNING)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("tree_name", "slug", "name_zh", "name_en", "parent", "position")
    list_select_related = ("parent",)
    list_filter = (("parent", admin.RelatedOnlyFieldListFilter),)
    search_fields = ("slug", "name_zh", "name_en")
    prepopulated_fields = {"slug": ("name_en",)}

    def get_ordering(self, request):
        return category_tree_order()

    @admin.display(description=_("category"))
    def tree_name(self, obj):
        label = f"{obj.name_zh} / {obj.name_en}"
        return f"\u2003— {label}" if obj.parent_id else label

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        bump_catalogue_version()


class ProductImageInline(ReadOnlyInline):
    model = ProductImage
    fields = ("preview", "alt_text", "is_cover", "status", "position")
    readonly_fields = fields

    @admin.display(description=_("photo"))
    def preview(self, obj):
        name = (obj.thumbnails or {}).get("320")
        url = obj.image.storage.url(name) if name else obj.image.url
        return format_html('<img src="{}" alt="{}" class="admin-photo-preview">', url, obj.alt_text)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("title", "shop", "category", "price", "stock", "is_active", "created_at")
    list_filter = ("is_active", "organic", "green_food", "geographical_indication", "perishable", "cold_chain",
                   "unit", ("category", admin.RelatedOnlyFieldListFilter), "shop__village__province")
    list_select_related = ("shop", "category")
    search_fields = ("title", "gtin", "shop__name", "shop__slug")
    date_hierarchy = "created_at"
    inlines = (ProductImageInline,)
    fields = ("shop", "category", "title", "description", "unit", "unit_weight_kg", "price", "stock", "min_order",
              "perishable", "cold_chain", "season_mask", "origin", "organic", "green_food",
              "geographical_indication", "gtin", "is_active", "created_at", "updated_at")
    readonly_fields = tuple(f for f in fields if f != "is_active")

    class Media:
        css = {"all": ("css/admin.css",)}  # the photo previews' size: the CSP allows no style attributes

    def has_add_permission(self, request):
        return False  # sellers list products through the services

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Only is_active is editable here: the product enters or leaves its listings, as a withdrawal does.
        product_changed(product_id=obj.pk, shop_id=obj.shop_id, category_ids=[obj.category_id], listing=True,
                        prices=True)


class InputApplicationInline(ReadOnlyInline):
    model = InputApplication
    fields = ("kind", "product_name", "applied_on", "dose", "pre_harvest_interval_days", "notes")


@admin.register(HarvestLot)
class HarvestLotAdmin(ReadOnlyAdmin):
    list_display = ("code", "product", "grower", "harvested_on", "quantity", "phi_violation")
    list_filter = ("phi_violation", "harvested_on")
    list_select_related = ("product", "grower")
    search_fields = ("code", "product__title", "grower__username", "plot")
    date_hierarchy = "harvested_on"
    # A lot and its inputs are a trace record written through the services (and the trace log):
    # staff read them here, nobody rewrites them.
    inlines = (InputApplicationInline,)
