import os
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage, storages
from django.core.signals import setting_changed
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.dispatch import receiver
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.functional import LazyObject, empty
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from core import codes

LOT_PREFIX = "L"
# Free text has a length limit in every form, serializer and service (the columns are unbounded TEXT).
DESCRIPTION_MAX_LENGTH = 5000
NOTES_MAX_LENGTH = 2000


class PrivateFileStorage(FileSystemStorage):
    """Licence and ID photos: on disk under PRIVATE_MEDIA_ROOT (read at use, so tests can move it) and
    without any URL, so they are never publicly served; staff read them through the admin."""

    @property
    def base_location(self):
        return str(settings.PRIVATE_MEDIA_ROOT)

    @property
    def location(self):
        return os.path.abspath(self.base_location)

    def url(self, name):
        raise ValueError("Private files have no public URL.")


class _PrivateStorage(LazyObject):
    """settings.STORAGES["private"], looked up at first use and again after the setting changes (tests)."""

    def _setup(self):
        self._wrapped = storages["private"]


_private = _PrivateStorage()


@receiver(setting_changed)
def _forget_private_storage(*, setting, **kwargs) -> None:
    if setting == "STORAGES":
        _private._wrapped = empty


def private_storage():
    """Licence and ID photos: STORAGES["private"], local disk (PrivateFileStorage) or a private S3 bucket."""
    return _private


def gtin_is_valid(value: str) -> bool:
    """GS1 mod-10 check digit for GTIN-8/12/13/14."""
    if not value.isdigit() or len(value) not in (8, 12, 13, 14):
        return False
    digits = [int(d) for d in value]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def validate_gtin(value: str) -> None:
    if value and not gtin_is_valid(value):
        raise ValidationError(_("This GTIN's check digit is wrong; check the number on the barcode."),
                              code="gtin")


def validate_lot_code(value: str) -> None:
    if not codes.is_valid(value, LOT_PREFIX):
        raise ValidationError(_("This lot code is not valid; check each character."), code="lot_code")


class Village(models.Model):
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(_("name in English"), max_length=80, blank=True)
    township = models.CharField(_("township"), max_length=60)
    county = models.CharField(_("county"), max_length=60)
    city = models.CharField(_("city"), max_length=60)
    province = models.CharField(_("province"), max_length=30, db_index=True)

    class Meta:
        verbose_name = _("village")
        verbose_name_plural = _("villages")
        ordering = ["province", "city", "county", "township", "name"]
        constraints = [
            models.UniqueConstraint(fields=["province", "county", "township", "name"], name="unique_village_place")
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.county}，{self.province}）"


class Shop(models.Model):
    class Kind(models.TextChoices):
        FARM = "farm", _("Farm")
        COOPERATIVE = "cooperative", _("Cooperative")

    class Verification(models.TextChoices):
        UNVERIFIED = "unverified", _("Not verified")
        PENDING = "pending", _("Waiting for review")
        VERIFIED = "verified", _("Verified")
        REJECTED = "rejected", _("Rejected")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_shops")
    slug = models.SlugField(_("web address"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.FARM)
    village = models.ForeignKey(Village, on_delete=models.PROTECT, related_name="shops", verbose_name=_("village"))
    description = models.TextField(_("description"), blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True,
                                     help_text=_("Shown to buyers only after they order."))
    is_open = models.BooleanField(_("open for orders"), default=True)
    verification = models.CharField(_("verification"), max_length=12, choices=Verification.choices,
                                    default=Verification.UNVERIFIED, db_index=True)
    licence_photo = models.FileField(_("licence or ID photo"), storage=private_storage, upload_to="licences/",
                                     blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="ShopMember", related_name="shops",
                                     blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def verified(self) -> bool:
        return self.verification == self.Verification.VERIFIED

    def get_absolute_url(self) -> str:
        return _url_pattern("shops:shop", _SLUG_PLACEHOLDER).format(self.slug)

    def get_kind_display(self) -> str:
        return choice_label(self.Kind, self.kind)


class ShopMember(models.Model):
    """A farmer in a cooperative. Managers edit the shop; any member may be a lot's grower."""

    class Role(models.TextChoices):
        MANAGER = "manager", _("Manager")
        MEMBER = "member", _("Member")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shop_memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("shop member")
        verbose_name_plural = _("shop members")
        constraints = [models.UniqueConstraint(fields=["shop", "user"], name="unique_shop_member")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.shop}"


class Category(models.Model):
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    slug = models.SlugField(max_length=60, unique=True)
    name_zh = models.CharField(_("Chinese name"), max_length=40)
    name_en = models.CharField(_("English name"), max_length=60)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_zh if (get_language() or "").startswith("zh") else self.name_en

    def get_absolute_url(self) -> str:
        return category_url(self.slug)


_PK_PLACEHOLDER = 2147483647
_SLUG_PLACEHOLDER = "slug-stand-in-0"
_url_patterns: dict = {}


def _url_pattern(name: str, placeholder) -> str:
    """The URL of `name` with "{}" for its one argument, reversed once per URL configuration: lists and the
    category chips show dozens of them, and a reverse() costs more than the rest of a tile."""
    key = (name, get_script_prefix(), get_urlconf(), settings.ROOT_URLCONF)
    pattern = _url_patterns.get(key)
    if pattern is None:
        pattern = _url_patterns[key] = reverse(name, args=[placeholder]).replace(str(placeholder), "{}")
    return pattern


def product_url(pk: int) -> str:
    return _url_pattern("shops:product", _PK_PLACEHOLDER).format(pk)


def category_url(slug: str) -> str:
    # A slug is letters, digits, "-" and "_" (SlugField): nothing in it needs quoting.
    return _url_pattern("shops:category", _SLUG_PLACEHOLDER).format(slug)


def choice_label(choices: type[models.Choices], value: str) -> str:
    """What Django's get_FOO_display() gives (an unknown value as itself), by the enum's own lookup: Django's
    builds a dict of every choice on each call, and the product page shows the unit five times."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


# Stock as buyers see it: in stock, a few left (fewer than FEW_LEFT_ORDERS minimum orders), sold out.
STOCK_IN, STOCK_FEW_LEFT, STOCK_SOLD_OUT = "in", "few", "out"
FEW_LEFT_ORDERS = 10


def stock_band(stock: int, min_order: int) -> str:
    min_order = max(min_order or 1, 1)
    if stock < min_order:
        return STOCK_SOLD_OUT
    return STOCK_FEW_LEFT if stock < FEW_LEFT_ORDERS * min_order else STOCK_IN


class Product(models.Model):
    class Unit(models.TextChoices):
        KG = "kg", _("kg")
        JIN = "jin", _("jin (500 g)")
        PIECE = "piece", _("piece")
        BOX = "box", _("box")
        BUNCH = "bunch", _("bunch")
        BAG = "bag", _("bag")
        BOTTLE = "bottle", _("bottle")
        DOZEN = "dozen", _("dozen")

    class Pricing(models.TextChoices):
        UNIT = "unit", _("per unit")
        WEIGHT = "weight", _("by weight")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products", verbose_name=_("shop"))
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products",
                                 verbose_name=_("category"))
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True,
                                   help_text=_("Plain text or simple formatting; scripts are removed."))
    unit = models.CharField(_("sale unit"), max_length=10, choices=Unit.choices, default=Unit.KG)
    unit_weight_kg = models.DecimalField(_("weight of one unit (kg)"), max_digits=8, decimal_places=3,
                                         validators=[MinValueValidator(Decimal("0.001")),
                                                     MaxValueValidator(Decimal("1000"))])
    price = models.DecimalField(_("price per unit"), max_digits=10, decimal_places=2,
                                validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100000"))])
    # Sold by weight: each unit (a piece, a bunch) is priced at `kg_price` per kg of its real weight, weighed at
    # packing; unit_weight_kg is then the estimated weight of one unit and `price` the estimate it makes (kept by
    # shops.services: kg_price x unit_weight_kg).
    pricing = models.CharField(_("pricing"), max_length=6, choices=Pricing.choices, default=Pricing.UNIT)
    kg_price = models.DecimalField(_("price per kg"), max_digits=10, decimal_places=2, null=True, blank=True,
                                   validators=[MinValueValidator(Decimal("0.01")),
                                               MaxValueValidator(Decimal("100000"))])
    stock = models.PositiveIntegerField(_("stock (units)"), default=0,
                                        validators=[MaxValueValidator(1_000_000)])
    min_order = models.PositiveIntegerField(_("minimum order (units)"), default=1,
                                            validators=[MinValueValidator(1), MaxValueValidator(10_000)])
    perishable = models.BooleanField(_("perishable"), default=False)
    cold_chain = models.BooleanField(_("needs cold chain"), default=False)
    # Bit m-1 set when month m is in season: one integer filters on every database.
    season_mask = models.PositiveIntegerField(_("seasons"), default=0)
    origin = models.CharField(_("origin"), max_length=120, blank=True)
    organic = models.BooleanField(_("organic certified"), default=False)
    green_food = models.BooleanField(_("green food certified"), default=False)
    geographical_indication = models.BooleanField(_("geographical indication"), default=False)
    gtin = models.CharField(_("GTIN"), max_length=14, blank=True, validators=[validate_gtin],
                            help_text=_("The barcode number, if the product has one."))
    is_active = models.BooleanField(_("on sale"), default=True)
    # Words for search: jieba segments of the title and description, their pinyin and the
    # category names, maintained by the services on every save.
    search_document = models.TextField(blank=True, editable=False)
    # The buyers' stars over the reviews of the orders that held it, kept by `services.record_product_ratings`
    # when a review is written or removed: the product page reads them with the product, not from the reviews.
    rating_average = models.DecimalField(_("average rating"), max_digits=2, decimal_places=1, null=True,
                                         blank=True, editable=False)
    rating_count = models.PositiveIntegerField(_("reviews"), default=0, editable=False)
    # Set when its first harvest lot is written (HarvestLot.save), never cleared: the product page skips the lots
    # query for a product without any. Lots are protected by the orders that name them, so they stay.
    has_lots = models.BooleanField(_("has harvest lots"), default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["is_active", "category", "price"], name="product_active_cat_price"),
            models.Index(fields=["shop", "is_active"], name="product_shop_active"),
            # A shop's products newest first: its page and "more from this shop" read the first few in order.
            models.Index(fields=["shop", "-created_at", "-id"], name="product_shop_newest"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="product_price_positive"),
            models.CheckConstraint(condition=models.Q(unit_weight_kg__gt=0), name="product_weight_positive"),
            models.CheckConstraint(condition=models.Q(pricing="unit") | models.Q(kg_price__gt=0),
                                   name="weighed_product_has_kg_price"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return product_url(self.pk)

    def get_unit_display(self) -> str:
        return choice_label(self.Unit, self.unit)

    @property
    def season_months(self) -> list[int]:
        return [m for m in range(1, 13) if self.season_mask & (1 << (m - 1))]

    @staticmethod
    def mask_for_months(months) -> int:
        return sum(1 << (int(m) - 1) for m in set(months) if 1 <= int(m) <= 12)

    @property
    def is_weighed(self) -> bool:
        return self.pricing == self.Pricing.WEIGHT

    @property
    def price_per_kg(self) -> Decimal:
        if self.is_weighed and self.kg_price:
            return self.kg_price
        return (self.price / self.unit_weight_kg).quantize(Decimal("0.01"))

    @property
    def estimated_weight_kg(self) -> Decimal:
        """A weighed product's estimated weight of one unit (the weight of one unit for any product)."""
        return self.unit_weight_kg

    # The per-row twins of the query conditions shops.stock.CERTIFIED and shops.stock.IN_STOCK: change both.
    @property
    def certified(self) -> bool:
        return self.organic or self.green_food or self.geographical_indication

    @property
    def in_stock(self) -> bool:
        return self.stock >= self.min_order

    @property
    def stock_band(self) -> str:
        """What the catalogue shows of the stock (shops.stock.band): a sale re-renders pages only across bands."""
        return stock_band(self.stock, self.min_order)

    @property
    def few_left(self) -> bool:
        return self.stock_band == STOCK_FEW_LEFT


def product_image_path(instance, filename: str) -> str:
    # The original name can carry personal data; only the extension is kept.
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else "jpg"
    return f"products/{instance.product_id}/{codes.new_code('', 10).lower()}.{ext}"


class ProductImage(models.Model):
    class Status(models.TextChoices):
        PROCESSING = "processing", _("Processing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Failed")

    # 160 and 320 for tiles and small thumbnails on phones (a 2-column tile is ~160 CSS px), 960 for a phone's
    # full-width photo at DPR 2, 1280 for wide screens.
    THUMBNAIL_WIDTHS = (160, 320, 640, 960, 1280)

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(_("photo"), upload_to=product_image_path, width_field="width",
                              height_field="height")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    alt_text = models.CharField(_("description of the photo"), max_length=120, blank=True)
    position = models.PositiveSmallIntegerField(default=0)
    is_cover = models.BooleanField(_("cover photo"), default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROCESSING)
    # {"320": "products/..../x-320-<digest>.webp", ...} once the thumbnail task has run.
    thumbnails = models.JSONField(default=dict, blank=True)
    # The same widths as AVIF, where the server's Pillow can write it (else empty); browsers that read AVIF take it.
    avif = models.JSONField(default=dict, blank=True)
    # A tiny blurred preview as a data: URI (about 150 bytes), shown until the photo itself arrives.
    placeholder = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("product photo")
        verbose_name_plural = _("product photos")
        ordering = ["-is_cover", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["product"], condition=models.Q(is_cover=True), name="one_cover_per_product")
        ]

    def __str__(self) -> str:
        return f"{self.product} #{self.position}"

    @property
    def is_ready(self) -> bool:
        """Its thumbnails are made: pages show it (until then, a placeholder)."""
        return self.status == self.Status.READY


class HarvestLot(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots", verbose_name=_("product"))
    code = models.CharField(_("lot code"), max_length=16, unique=True, validators=[validate_lot_code])
    grower = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="grown_lots",
                               verbose_name=_("grower"))
    plot = models.CharField(_("plot or field"), max_length=80, blank=True)
    harvested_on = models.DateField(_("harvested on"))
    quantity = models.PositiveIntegerField(_("quantity (sale units)"), validators=[MinValueValidator(1)])
    notes = models.TextField(_("notes"), blank=True)
    # Set by the services when a pesticide was applied inside its pre-harvest interval.
    phi_violation = models.BooleanField(_("pre-harvest interval not respected"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("harvest lot")
        verbose_name_plural = _("harvest lots")
        ordering = ["-harvested_on", "-id"]

    def __str__(self) -> str:
        return self.code

    def save(self, *args, **kwargs):
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:  # here rather than in the services, so a lot written any other way is shown too
            Product.objects.filter(pk=self.product_id, has_lots=False).update(has_lots=True)

    @property
    def trace_path(self) -> str:
        return f"/t/{self.code}"

    @property
    def trace_url(self) -> str:
        return f"{settings.SITE_URL}{self.trace_path}"


class InputApplication(models.Model):
    """A fertiliser or pesticide applied to the plot of a lot."""

    class Kind(models.TextChoices):
        FERTILISER = "fertiliser", _("Fertiliser")
        PESTICIDE = "pesticide", _("Pesticide")
        OTHER = "other", _("Other")

    lot = models.ForeignKey(HarvestLot, on_delete=models.CASCADE, related_name="inputs")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    product_name = models.CharField(_("product applied"), max_length=80)
    applied_on = models.DateField(_("applied on"))
    dose = models.CharField(_("dose"), max_length=60, help_text=_("For example 2 kg per mu."))
    pre_harvest_interval_days = models.PositiveSmallIntegerField(
        _("pre-harvest interval (days)"), null=True, blank=True, validators=[MaxValueValidator(365)],
        help_text=_("Days that must pass between spraying and harvest, from the label."))
    notes = models.CharField(_("notes"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("input application")
        verbose_name_plural = _("input applications")
        ordering = ["applied_on", "id"]

    def __str__(self) -> str:
        return f"{self.product_name} {self.applied_on}"

    def violates_pre_harvest_interval(self, harvested_on: date) -> bool:
        if self.kind != self.Kind.PESTICIDE or not self.pre_harvest_interval_days:
            return False
        return (harvested_on - self.applied_on).days < self.pre_harvest_interval_days


class PhotoUpload(models.Model):
    """A photo arriving in chunks (shops/uploads.py), so a dropped connection resumes instead of starting over.

    Chunks are kept in the database, so any app server can take the next one; the form that attaches the
    photo claims it (and removes it); what nobody claims is purged when it expires.
    """

    token = models.CharField(max_length=32, unique=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photo_uploads")
    size = models.PositiveIntegerField()
    received = models.PositiveIntegerField(default=0)
    content_type = models.CharField(max_length=40, blank=True)
    name = models.CharField(max_length=100, blank=True)  # as the uploader named it, for their own messages
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.token} {self.received}/{self.size}"

    @property
    def is_complete(self) -> bool:
        return self.received >= self.size


class PhotoUploadChunk(models.Model):
    upload = models.ForeignKey(PhotoUpload, on_delete=models.CASCADE, related_name="chunks")
    offset = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["upload", "offset"], name="one_chunk_per_offset")]

    def __str__(self) -> str:
        return f"{self.upload_id}@{self.offset}"
