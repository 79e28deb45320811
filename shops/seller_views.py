"""The seller's pages under /seller/: shops, members, verification, products, photos, lots and input logs.

Thin views: forms check the shape, `services` write, `selectors` scope every read to the user. Every
object a page writes to comes from a scoped queryset, so another farmer's shop, product, photo or lot
is a 404, never a 403 that would confirm it exists.
"""
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import User
from core import codes
from core.forms import copy_errors

from . import images, selectors, services
from .forms import (
    InputApplicationForm,
    LotForm,
    MemberInviteForm,
    PhotoUploadForm,
    PriceStockForm,
    ProductForm,
    ShopForm,
    VerificationForm,
)
from .models import HarvestLot, InputApplication, Product, ProductImage, Shop
from .uploads import claim_files

PRODUCTS_PER_PAGE = 40
LOTS_PER_PAGE = 40
SHOPS_PER_PAGE = 20
MAX_PHOTOS_PER_UPLOAD = 10


# --- Scoped look-ups ----------------------------------------------------------------------

def _managed_shop(user: User, slug: str) -> Shop:
    return get_object_or_404(selectors.shops_managed_by(user).select_related("village"), slug=slug)


def _managed_product(user: User, pk: int) -> Product:
    return get_object_or_404(selectors.products_managed_by(user), pk=pk)


def _managed_image(user: User, pk: int) -> ProductImage:
    scoped = ProductImage.objects.filter(product__in=selectors.products_managed_by(user))
    return get_object_or_404(scoped.select_related("product", "product__shop"), pk=pk)


def _growers(shop: Shop) -> QuerySet[User]:
    """Who may be named as a lot's grower: the owner and the shop's members."""
    return (User.objects.filter(Q(shop_memberships__shop=shop) | Q(pk=shop.owner_id))
            .distinct().order_by("display_name", "username"))


def _forbidden(request, message: str):
    return render(request, "shops/seller/forbidden.html", {"message": message}, status=403)


# --- Input log with the pre-harvest interval check (also used by the public lot page) ----

@dataclass(frozen=True)
class InputCheck:
    application: InputApplication
    days_before_harvest: int
    checked: bool  # a pesticide with a pre-harvest interval on its label
    respected: bool


def input_checks(lot: HarvestLot) -> list[InputCheck]:
    """One row per input applied to the lot, with its pre-harvest interval verdict; uses prefetched inputs."""
    rows = []
    for application in lot.inputs.all():
        checked = (application.kind == InputApplication.Kind.PESTICIDE
                   and bool(application.pre_harvest_interval_days))
        rows.append(InputCheck(
            application=application,
            days_before_harvest=(lot.harvested_on - application.applied_on).days,
            checked=checked,
            respected=not application.violates_pre_harvest_interval(lot.harvested_on),
        ))
    return rows


# --- Shops -------------------------------------------------------------------------------

@login_required
def shop_list(request):
    user = request.user
    shops = (selectors.shops_of_member(user).select_related("village")
             .annotate(product_count=Count("products", distinct=True)).order_by("name", "pk"))
    page = Paginator(shops, SHOPS_PER_PAGE).get_page(request.GET.get("page"))
    managed = set(selectors.shops_managed_by(user).values_list("pk", flat=True))
    return render(request, "shops/seller/shop_list.html", {
        "page": page, "rows": [(shop, shop.pk in managed) for shop in page.object_list],
    })


@login_required
@require_http_methods(["GET", "POST"])
def shop_create(request):
    if not request.user.is_farmer:
        return _forbidden(request, _("Only farmers can open a shop. Sign up with a farmer account to sell."))
    form = ShopForm(request.POST or None, creating=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            shop = services.create_shop(owner=request.user, name=data["name"], village=data["village"],
                                        kind=data["kind"], description=data["description"],
                                        contact_phone=data["contact_phone"])
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            messages.success(request, _("Your shop is open. Now add your first product."))
            return redirect("shops:seller_product_create", slug=shop.slug)
    return render(request, "shops/seller/shop_form.html", {"form": form, "shop": None})


@login_required
def shop_detail(request, slug: str):
    """A shop's dashboard; plain members of a cooperative see it read-only."""
    shop = get_object_or_404(selectors.shops_of_member(request.user).select_related("village", "owner"), slug=slug)
    can_manage = selectors.can_manage_shop(request.user, shop)
    memberships = (shop.memberships.select_related("user").order_by("-role", "joined_at")
                   if shop.kind == Shop.Kind.COOPERATIVE else [])
    return render(request, "shops/seller/shop_detail.html", {
        "shop": shop, "can_manage": can_manage, "memberships": memberships,
        "product_count": shop.products.count(),
    })


@login_required
@require_http_methods(["GET", "POST"])
def shop_edit(request, slug: str):
    shop = _managed_shop(request.user, slug)
    form = ShopForm(request.POST or None, instance=shop)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_shop(shop=shop, actor=request.user,
                                 **{f: form.cleaned_data[f] for f in services.SHOP_FIELDS})
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            messages.success(request, _("Shop details saved."))
            return redirect("shops:seller_shop", slug=shop.slug)
    return render(request, "shops/seller/shop_form.html", {"form": form, "shop": shop})


@login_required
@require_http_methods(["GET", "POST"])
def verification(request, slug: str):
    shop = _managed_shop(request.user, slug)
    form = VerificationForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.submit_verification(shop=shop, actor=request.user,
                                         licence_photo=form.cleaned_data["licence_photo"])
        except ValidationError as exc:
            shop.refresh_from_db()
            copy_errors(form, exc)
        else:
            messages.success(request, _("Thank you. We will check your photo and tell you the result."))
            return redirect("shops:seller_verification", slug=shop.slug)
    return render(request, "shops/seller/verification.html", {"shop": shop, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def members(request, slug: str):
    shop = _managed_shop(request.user, slug)
    form = MemberInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.add_member(shop=shop, actor=request.user, username=form.cleaned_data["username"],
                                         role=form.cleaned_data["role"])
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            messages.success(request, _("%(name)s joined the cooperative.") % {"name": member.user})
            return redirect("shops:seller_members", slug=shop.slug)
    memberships = shop.memberships.select_related("user").order_by("-role", "joined_at")
    return render(request, "shops/seller/members.html", {"shop": shop, "form": form, "memberships": memberships})


@login_required
@require_POST
def member_remove(request, slug: str, pk: int):
    shop = _managed_shop(request.user, slug)
    membership = get_object_or_404(shop.memberships.select_related("user", "shop"), pk=pk)
    try:
        services.remove_member(membership=membership, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(name)s is no longer a member.") % {"name": membership.user})
    return redirect("shops:seller_members", slug=shop.slug)


# --- Products ----------------------------------------------------------------------------

def _row_form(product: Product, data=None) -> PriceStockForm:
    # Ids per row, so every label points at its own input; field names stay plain for the POST.
    return PriceStockForm(data, auto_id=f"id_%s_{product.pk}",
                          initial={"price": product.price, "stock": product.stock})


def _products_page(request, shop: Shop, page_number, bound: PriceStockForm | None = None, bound_pk=None):
    products = (selectors.products_managed_by(request.user).filter(shop=shop)
                .prefetch_related(selectors.ordered_images())
                .annotate(lot_count=Count("lots")).order_by("-created_at", "-id"))
    page = Paginator(products, PRODUCTS_PER_PAGE).get_page(page_number)
    rows = [(p, bound if p.pk == bound_pk else _row_form(p)) for p in page.object_list]
    return render(request, "shops/seller/product_list.html", {"shop": shop, "page": page, "rows": rows})


@login_required
def product_list(request, slug: str):
    shop = _managed_shop(request.user, slug)
    return _products_page(request, shop, request.GET.get("page"))


@login_required
@require_POST
def product_price_stock(request, pk: int):
    """One row of the products list: works as a plain form post, or as a fetch that gets the row back."""
    product = _managed_product(request.user, pk)
    form = _row_form(product, request.POST)
    as_fragment = request.headers.get("X-Fragment") == "row"
    page_number = request.POST.get("page") or ""
    if form.is_valid():
        try:
            services.set_price_and_stock(product=product, actor=request.user, price=form.cleaned_data["price"],
                                         stock=form.cleaned_data["stock"])
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            if as_fragment:
                saved = _managed_product(request.user, pk)
                return render(request, "shops/seller/_product_row.html", {
                    "product": saved, "form": _row_form(saved), "saved": True, "page_number": page_number})
            messages.success(request, _("%(title)s: price and stock saved.") % {"title": product.title})
            url = reverse("shops:seller_products", args=[product.shop.slug])
            return redirect(f"{url}?page={page_number}#product-{product.pk}" if page_number.isdigit()
                            else f"{url}#product-{product.pk}")
    # Nothing was saved; show the row with its errors and the values as they are stored.
    product.refresh_from_db()
    if as_fragment:
        return render(request, "shops/seller/_product_row.html", {
            "product": product, "form": form, "page_number": page_number}, status=400)
    return _products_page(request, product.shop, page_number, bound=form, bound_pk=product.pk)


def _chosen_photos(request, photo_form: PhotoUploadForm) -> list:
    """The files posted with the form, then the photos sent ahead in chunks by static/js/upload.js."""
    claimed = claim_files(owner=request.user, tokens=photo_form.cleaned_data["photo_uploads"])
    if claimed.missing:
        messages.error(request, _("A photo sent earlier was not found or has expired; please choose it again."))
    return [*photo_form.cleaned_data["photos"], *claimed.files]


def _add_photos(request, product: Product, uploads, alt_text: str) -> int:
    """Each photo through the photo service on its own: a bad file is reported and the others are kept."""
    added = 0
    for upload in uploads[:MAX_PHOTOS_PER_UPLOAD]:
        try:
            images.add_product_image(product=product, actor=request.user, upload=upload,
                                     alt_text=alt_text or product.title)
        except ValidationError as exc:
            messages.error(request, _("%(file)s was not added: %(reason)s") % {
                "file": upload.name, "reason": " ".join(exc.messages)})
        else:
            added += 1
    if len(uploads) > MAX_PHOTOS_PER_UPLOAD:
        messages.error(request, _("Only %(count)d photos can be added at once; the others were left out.") % {
            "count": MAX_PHOTOS_PER_UPLOAD})
    return added


@login_required
@require_http_methods(["GET", "POST"])
def product_create(request, slug: str):
    shop = _managed_shop(request.user, slug)
    form = ProductForm(request.POST or None)
    photo_form = PhotoUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid() and photo_form.is_valid():
        try:
            product = services.create_product(shop=shop, actor=request.user, **form.service_fields())
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            uploads = _chosen_photos(request, photo_form)
            added = _add_photos(request, product, uploads, photo_form.cleaned_data["photo_alt"])
            messages.success(request, _("%(title)s is saved.") % {"title": product.title})
            if added < len(uploads):
                return redirect("shops:seller_product_edit", pk=product.pk)
            return redirect("shops:seller_products", slug=shop.slug)
    return render(request, "shops/seller/product_form.html", {
        "shop": shop, "product": None, "form": form, "photo_form": photo_form})


@login_required
@require_http_methods(["GET", "POST"])
def product_edit(request, pk: int):
    product = _managed_product(request.user, pk)
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_product(product=product, actor=request.user, **form.service_fields())
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            messages.success(request, _("%(title)s is saved.") % {"title": product.title})
            return redirect("shops:seller_products", slug=product.shop.slug)
    photos = product.images.order_by("-is_cover", "position", "id")
    return render(request, "shops/seller/product_form.html", {
        "shop": product.shop, "product": product, "form": form, "photo_form": PhotoUploadForm(),
        "photos": photos})


@login_required
@require_POST
def photos_add(request, pk: int):
    product = _managed_product(request.user, pk)
    photo_form = PhotoUploadForm(request.POST, request.FILES)
    if photo_form.is_valid():
        uploads = _chosen_photos(request, photo_form)
        if not uploads:
            messages.error(request, _("Choose one or more photos first."))
        elif added := _add_photos(request, product, uploads, photo_form.cleaned_data["photo_alt"]):
            messages.success(request, _("Photos added: %(count)d.") % {"count": added})
    else:
        for msgs in photo_form.errors.values():
            messages.error(request, " ".join(msgs))
    return redirect(reverse("shops:seller_product_edit", args=[product.pk]) + "#photos")


@login_required
@require_POST
def photo_cover(request, pk: int):
    image = _managed_image(request.user, pk)
    images.set_cover_image(image=image, actor=request.user)
    messages.success(request, _("Cover photo changed."))
    return redirect(reverse("shops:seller_product_edit", args=[image.product_id]) + "#photos")


@login_required
@require_POST
def photo_delete(request, pk: int):
    image = _managed_image(request.user, pk)
    product_id = image.product_id
    images.delete_image(image=image, actor=request.user)
    messages.success(request, _("Photo deleted."))
    return redirect(reverse("shops:seller_product_edit", args=[product_id]) + "#photos")


@login_required
@require_http_methods(["GET", "POST"])
def product_withdraw(request, pk: int):
    product = _managed_product(request.user, pk)
    if request.method == "POST":
        shop_slug = product.shop.slug
        services.withdraw_product(product=product, actor=request.user)
        if Product.objects.filter(pk=pk).exists():
            messages.success(request, _("%(title)s is off sale; its orders and lots are kept.") % {
                "title": product.title})
        else:
            messages.success(request, _("%(title)s is deleted.") % {"title": product.title})
        return redirect("shops:seller_products", slug=shop_slug)
    return render(request, "shops/seller/product_withdraw.html", {"product": product, "shop": product.shop})


# --- Lots and input logs -----------------------------------------------------------------

@login_required
def lot_list(request, pk: int):
    product = _managed_product(request.user, pk)
    lots = (selectors.lots_managed_by(request.user).filter(product=product)
            .annotate(input_count=Count("inputs")).order_by("-harvested_on", "-id"))
    page = Paginator(lots, LOTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "shops/seller/lot_list.html", {
        "product": product, "shop": product.shop, "page": page,
        "rows": [(lot, codes.display(lot.code)) for lot in page.object_list]})


@login_required
@require_http_methods(["GET", "POST"])
def lot_create(request, pk: int):
    product = _managed_product(request.user, pk)
    form = LotForm(request.POST or None, growers=_growers(product.shop), initial={"grower": request.user.pk})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            lot = services.record_lot(product=product, actor=request.user, grower=data["grower"],
                                      harvested_on=data["harvested_on"], quantity=data["quantity"],
                                      plot=data["plot"], notes=data["notes"])
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            messages.success(request, _("Lot %(code)s recorded.") % {"code": codes.display(lot.code)})
            return redirect("shops:seller_lot", pk=lot.pk)
    return render(request, "shops/seller/lot_form.html", {"product": product, "shop": product.shop, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def lot_detail(request, pk: int):
    lot = get_object_or_404(selectors.lot_with_inputs(selectors.lots_managed_by(request.user)), pk=pk)
    form = InputApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_input_application(lot=lot, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            messages.success(request, _("Input recorded."))
            return redirect(reverse("shops:seller_lot", args=[lot.pk]) + "#inputs")
    return render(request, "shops/seller/lot_detail.html", {
        "lot": lot, "product": lot.product, "shop": lot.product.shop, "form": form,
        "code_display": codes.display(lot.code), "checks": input_checks(lot)})
