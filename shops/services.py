"""Every write to shops, products and lots. Keyword-only arguments, one transaction each.

Callers (views, API, tasks, commands) fetch objects through `selectors`, which already scope
them to the user; the services check the actor's right again, so no path can skip it.
"""
from datetime import date
from decimal import Decimal

import nh3
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from pypinyin import lazy_pinyin

from accounts.models import User
from core import codes
from core.money import quantize

from . import images, search, selectors
from .cache import bump_catalogue_version, product_changed
from .models import (
    DESCRIPTION_MAX_LENGTH,
    LOT_PREFIX,
    NOTES_MAX_LENGTH,
    Category,
    HarvestLot,
    InputApplication,
    Product,
    Shop,
    ShopMember,
)
from .signals import lot_event

PRODUCT_FIELDS = (
    "category", "title", "description", "unit", "unit_weight_kg", "price", "stock", "min_order", "perishable",
    "cold_chain", "season_mask", "origin", "organic", "green_food", "geographical_indication", "gtin", "is_active",
    "pricing", "kg_price",
)
SHOP_FIELDS = ("name", "kind", "village", "description", "contact_phone", "is_open")
ALLOWED_TAGS = {"p", "br", "strong", "b", "em", "i", "ul", "ol", "li", "h3", "h4"}


def sanitise_description(text: str) -> str:
    """Keep simple formatting, drop everything else (scripts, styles, event handlers, links).

    Shop and product descriptions are cleaned with it when saved by the services and again when shown
    (`rich_text` in shops.templatetags.catalogue), since the admin and bulk imports skip the services.
    """
    return nh3.clean(text or "", tags=ALLOWED_TAGS, attributes={}, strip_comments=True).strip()


def _check_length(field: str, value: str, limit: int) -> None:
    if value and len(value) > limit:
        raise ValidationError({field: [_("Keep this under %(limit)d characters (it has %(count)d).")
                                       % {"limit": limit, "count": len(value)}]})


def _require_manager(shop: Shop, actor: User) -> None:
    if not selectors.can_manage_shop(actor, shop):
        raise PermissionDenied(_("You do not manage this shop."))


def _unique_slug(name: str) -> str:
    base = slugify(" ".join(lazy_pinyin(name)))[:50] or "shop"
    slug, n = base, 2
    while Shop.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _full_clean(obj, exclude=None) -> None:
    obj.full_clean(exclude=exclude, validate_unique=True)


@transaction.atomic
def create_shop(*, owner: User, name: str, village, kind: str = Shop.Kind.FARM, description: str = "",
                contact_phone: str = "", is_open: bool = True) -> Shop:
    if owner.role != User.Role.FARMER:
        raise PermissionDenied(_("Only farmers can open a shop."))
    _check_length("description", description, DESCRIPTION_MAX_LENGTH)
    shop = Shop(owner=owner, name=(name or "").strip(), village=village, kind=kind,
                description=sanitise_description(description), contact_phone=contact_phone, is_open=is_open)
    shop.slug = _unique_slug(shop.name)
    _full_clean(shop, exclude=["licence_photo"])
    shop.save()
    ShopMember.objects.create(shop=shop, user=owner, role=ShopMember.Role.MANAGER)
    bump_catalogue_version()
    return shop


@transaction.atomic
def update_shop(*, shop: Shop, actor: User, **fields) -> Shop:
    _require_manager(shop, actor)
    for name, value in fields.items():
        if name not in SHOP_FIELDS:
            raise ValidationError({name: _("This field cannot be changed here.")})
        if name == "description":
            _check_length(name, value, DESCRIPTION_MAX_LENGTH)
        setattr(shop, name, sanitise_description(value) if name == "description" else value)
    _full_clean(shop, exclude=["licence_photo"])
    shop.save()
    bump_catalogue_version()
    return shop


@transaction.atomic
def submit_verification(*, shop: Shop, actor: User, licence_photo) -> Shop:
    """Store the licence or ID photo privately and queue the shop for staff review.

    Like product photos it is decoded, turned upright and re-encoded without EXIF, so neither the
    farmer's GPS position nor the original file name is kept.
    """
    _require_manager(shop, actor)
    with images.open_checked(licence_photo, field="licence_photo") as image:
        content, ext, _size = images.clean_original(image)
    previous = shop.licence_photo.name
    shop.licence_photo.save(f"{codes.new_code('', 12).lower()}.{ext}", content, save=False)
    shop.verification = Shop.Verification.PENDING
    shop.save(update_fields=["licence_photo", "verification", "updated_at"])
    if previous:
        storage = shop.licence_photo.storage
        transaction.on_commit(lambda: storage.delete(previous))
    return shop


@transaction.atomic
def review_verification(*, shop: Shop, reviewer: User, approve: bool) -> Shop:
    if not reviewer.is_staff:
        raise PermissionDenied(_("Only staff review shops."))
    shop.verification = Shop.Verification.VERIFIED if approve else Shop.Verification.REJECTED
    shop.verified_at = timezone.now() if approve else None
    shop.save(update_fields=["verification", "verified_at", "updated_at"])
    bump_catalogue_version()
    return shop


@transaction.atomic
def add_member(*, shop: Shop, actor: User, username: str, role: str = ShopMember.Role.MEMBER) -> ShopMember:
    _require_manager(shop, actor)
    if shop.kind != Shop.Kind.COOPERATIVE:
        raise ValidationError({"username": _("Only a cooperative has members.")})
    if role not in ShopMember.Role.values:
        raise ValidationError({"role": _("Choose manager or member.")})
    user = User.objects.filter(username__iexact=(username or "").strip(), role=User.Role.FARMER).first()
    if user is None:
        raise ValidationError({"username": _("No farmer has this username.")})
    member, created = ShopMember.objects.get_or_create(shop=shop, user=user, defaults={"role": role})
    if not created:
        raise ValidationError({"username": _("This farmer is already a member.")})
    return member


@transaction.atomic
def remove_member(*, membership: ShopMember, actor: User) -> None:
    _require_manager(membership.shop, actor)
    if membership.user_id == membership.shop.owner_id:
        raise ValidationError({"username": _("The owner cannot be removed.")})
    membership.delete()


def _apply_product_fields(product: Product, fields: dict) -> None:
    for name, value in fields.items():
        if name == "season_months":
            product.season_mask = Product.mask_for_months(value or [])
            continue
        if name not in PRODUCT_FIELDS:
            raise ValidationError({name: _("This field cannot be changed here.")})
        if name == "description":
            _check_length(name, value, DESCRIPTION_MAX_LENGTH)
            value = sanitise_description(value)
        elif name in ("title", "origin", "gtin") and isinstance(value, str):
            value = value.strip()
        setattr(product, name, value)
    _price_weighed(product)


def _price_weighed(product: Product) -> None:
    """A product sold by weight: its unit price is the estimate, price per kg x estimated weight of one unit."""
    if not product.is_weighed:
        return
    if not product.kg_price or product.kg_price <= 0:
        raise ValidationError({"kg_price": [_("Enter the price per kg of a product sold by weight.")]})
    if product.unit_weight_kg and product.unit_weight_kg > 0:
        product.price = max(quantize(product.kg_price * product.unit_weight_kg), Decimal("0.01"))


def _refresh_search(product: Product) -> None:
    category = product.category
    extra = [category.name_zh, category.name_en]
    if category.parent_id:
        extra += [category.parent.name_zh, category.parent.name_en]
    product.search_document = search.build_document(title=product.title, description=product.description,
                                                    extra=extra)


@transaction.atomic
def create_product(*, shop: Shop, actor: User, **fields) -> Product:
    _require_manager(shop, actor)
    product = Product(shop=shop)
    _apply_product_fields(product, fields)
    _full_clean(product, exclude=["shop"])
    _refresh_search(product)
    product.save()
    product_changed(product_id=product.pk, shop_id=shop.pk, category_ids=[product.category_id], listing=True,
                    prices=True)
    return product


# What search, the filters and the listings' order read: a change re-renders the lists, not just the product.
_LISTING_FIELDS = ("category_id", "title", "description", "search_document", "season_mask", "organic", "green_food",
                   "geographical_indication", "is_active")
_PRICE_FIELDS = ("price", "kg_price", "pricing")


def _announce_product_change(product: Product, before: dict | None) -> None:
    """Bump the cache scopes a product edit touches (shops.cache): its own always, listings and prices as needed."""
    if before is None:
        product_changed(product_id=product.pk, shop_id=product.shop_id, category_ids=[product.category_id],
                        listing=True, prices=True)
        return
    after = {name: getattr(product, name) for name in before}
    if after == before:
        return
    sold_out = (before["stock"] < before["min_order"]) != (after["stock"] < after["min_order"])
    product_changed(product_id=product.pk, shop_id=product.shop_id,
                    category_ids=[before["category_id"], after["category_id"]],
                    listing=sold_out or any(before[f] != after[f] for f in _LISTING_FIELDS),
                    prices=any(before[f] != after[f] for f in _PRICE_FIELDS))


@transaction.atomic
def update_product(*, product: Product, actor: User, **fields) -> Product:
    _require_manager(product.shop, actor)
    names = [f.attname for f in Product._meta.concrete_fields if f.attname not in ("updated_at", "created_at")]
    before = Product.objects.filter(pk=product.pk).values(*names).first()  # the row, not a stale instance
    _apply_product_fields(product, fields)
    _full_clean(product, exclude=["shop"])
    _refresh_search(product)
    product.save()
    _announce_product_change(product, before)
    return product


@transaction.atomic
def set_price_and_stock(*, product: Product, actor: User, price: Decimal | None = None,
                        stock: int | None = None) -> Product:
    """The seller's quick edit from the products list."""
    return update_product(product=product, actor=actor,
                          **{k: v for k, v in {"price": price, "stock": stock}.items() if v is not None})


@transaction.atomic
def withdraw_product(*, product: Product, actor: User) -> None:
    """Delete a product nobody has ordered or traced; otherwise take it off sale, keeping its history."""
    _require_manager(product.shop, actor)
    product_id = product.pk  # None once deleted
    try:
        with transaction.atomic():
            product.delete()
    except (ProtectedError, RestrictedError):
        product.is_active = False
        product.save(update_fields=["is_active", "updated_at"])
    product_changed(product_id=product_id, shop_id=product.shop_id, category_ids=[product.category_id],
                    listing=True, prices=True)


def _check_grower(shop: Shop, grower: User) -> None:
    if not ShopMember.objects.filter(shop=shop, user=grower).exists() and grower.pk != shop.owner_id:
        raise ValidationError({"grower": _("The grower must be a member of this shop.")})


def _new_lot_code() -> str:
    while True:
        code = codes.new_code(LOT_PREFIX)
        if not HarvestLot.objects.filter(code=code).exists():
            return code


@transaction.atomic
def record_lot(*, product: Product, actor: User, harvested_on: date, quantity: int, grower: User | None = None,
               plot: str = "", notes: str = "") -> HarvestLot:
    _require_manager(product.shop, actor)
    grower = grower or actor
    _check_grower(product.shop, grower)
    _check_length("notes", notes, NOTES_MAX_LENGTH)
    if harvested_on and harvested_on > timezone.localdate():
        raise ValidationError({"harvested_on": _("The harvest date cannot be in the future.")})
    lot = HarvestLot(product=product, grower=grower, harvested_on=harvested_on, quantity=quantity,
                     plot=plot.strip(), notes=notes.strip(), code=_new_lot_code())
    _full_clean(lot)
    lot.save()
    _after_lot_change(lot, "recorded")
    product_changed(product_id=product.pk)  # its page lists the lots
    return lot


@transaction.atomic
def add_input_application(*, lot: HarvestLot, actor: User, kind: str, product_name: str, applied_on: date,
                          dose: str, pre_harvest_interval_days: int | None = None,
                          notes: str = "") -> InputApplication:
    _require_manager(lot.product.shop, actor)
    if applied_on and lot.harvested_on and applied_on > lot.harvested_on:
        raise ValidationError({"applied_on": _("An input applied after the harvest does not belong to this lot.")})
    application = InputApplication(lot=lot, kind=kind, product_name=product_name.strip(), applied_on=applied_on,
                                   dose=dose.strip(), pre_harvest_interval_days=pre_harvest_interval_days,
                                   notes=notes.strip())
    _full_clean(application, exclude=["lot"])
    application.save()
    # A fresh query: the caller's lot may carry prefetched inputs that lack the new one.
    lot.phi_violation = any(a.violates_pre_harvest_interval(lot.harvested_on)
                            for a in InputApplication.objects.filter(lot=lot))
    lot.save(update_fields=["phi_violation"])
    _after_lot_change(lot, "input_applied", application=application)
    return application


def _after_lot_change(lot: HarvestLot, what: str, **details) -> None:
    """Tell listeners (the trace log) about a lot event inside the same transaction."""
    lot_event.send(sender=HarvestLot, lot=lot, what=what, **details)


def find_lot(code: str) -> HarvestLot | None:
    """A lot by a typed code; a code with a wrong check character is refused before any lookup."""
    if not codes.is_valid(code, LOT_PREFIX):
        raise ValidationError({"code": _("This lot code is not valid; check each character.")})
    return HarvestLot.objects.filter(code=codes.normalise(code, LOT_PREFIX)).select_related("product").first()


def category_by_slug(slug: str) -> Category | None:
    return Category.objects.filter(slug=slug).first()


def record_product_ratings(ratings: dict[int, tuple[Decimal | None, int]]) -> None:
    """Store each product's (average stars, number of reviews), as the reviews' app counted them; the products'
    pages show them."""
    for product_id, (average, count) in ratings.items():
        Product.objects.filter(pk=product_id).update(rating_average=average if count else None, rating_count=count)
        product_changed(product_id=product_id)
