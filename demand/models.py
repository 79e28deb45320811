"""The demand board (buyers say what they want, farmers answer with offers) and the anonymous log of
searches that found nothing, which the seller insights read."""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shops.models import Category, Product, Shop

MAX_QUANTITY = 1_000_000
MAX_UNIT_PRICE = Decimal("100000")


class DemandPost(models.Model):
    """What a buyer wants: a category and/or product words, how much, where and by when."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Request closed")

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="demand_posts",
                              verbose_name=_("buyer"))
    category = models.ForeignKey(Category, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="demand_posts", verbose_name=_("category"))
    words = models.CharField(_("what you want"), max_length=120, blank=True,
                             help_text=_("For example: Fuji apples, 80 mm or larger."))
    quantity = models.PositiveIntegerField(_("quantity"),
                                           validators=[MinValueValidator(1), MaxValueValidator(MAX_QUANTITY)])
    unit = models.CharField(_("unit"), max_length=10, choices=Product.Unit.choices, default=Product.Unit.KG)
    province = models.CharField(_("province"), max_length=30, db_index=True)
    city = models.CharField(_("city"), max_length=30)
    needed_by = models.DateField(_("needed by"), db_index=True)
    max_price = models.DecimalField(_("price you would pay per unit"), max_digits=10, decimal_places=2, null=True,
                                    blank=True, validators=[MinValueValidator(Decimal("0.01")),
                                                            MaxValueValidator(MAX_UNIT_PRICE)])
    note = models.TextField(_("note"), blank=True, max_length=1000)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN,
                              db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("demand post")
        verbose_name_plural = _("demand posts")
        ordering = ["needed_by", "-id"]
        indexes = [models.Index(fields=["status", "needed_by"], name="demandpost_open_needed")]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="demandpost_quantity_positive"),
            models.CheckConstraint(condition=models.Q(max_price__isnull=True) | models.Q(max_price__gt=0),
                                   name="demandpost_price_positive"),
            models.CheckConstraint(condition=models.Q(category__isnull=False) | ~models.Q(words=""),
                                   name="demandpost_says_what"),
        ]

    def __str__(self) -> str:
        return f"{self.what} · {self.quantity} {self.get_unit_display()}"

    @property
    def what(self) -> str:
        """The words, or the category's name when the buyer gave none."""
        if self.words:
            return self.words
        return self.category.name if self.category_id else ""

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def takes_offers(self) -> bool:
        return self.is_open and self.needed_by >= timezone.localdate()

    def get_absolute_url(self) -> str:
        return reverse("demand:post", args=[self.pk])


class Offer(models.Model):
    """A farmer's answer to a post: one of their shop's products, at a price and quantity."""

    post = models.ForeignKey(DemandPost, on_delete=models.CASCADE, related_name="offers")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="demand_offers",
                                verbose_name=_("offered product"))
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="demand_offers")
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="demand_offers")
    price = models.DecimalField(_("price per unit"), max_digits=10, decimal_places=2,
                                validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(MAX_UNIT_PRICE)])
    quantity = models.PositiveIntegerField(_("quantity you can supply"),
                                           validators=[MinValueValidator(1), MaxValueValidator(MAX_QUANTITY)])
    note = models.TextField(_("note"), blank=True, max_length=1000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("offer")
        verbose_name_plural = _("offers")
        ordering = ["price", "id"]
        constraints = [
            models.UniqueConstraint(fields=["post", "product"], name="one_offer_per_product_per_post"),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="offer_price_positive"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="offer_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} → {self.post_id}"


class SearchLog(models.Model):
    """How many catalogue searches found nothing, per day, words, category and province filter.

    Anonymous by design: no user, session or address is kept, only what was asked for.
    """

    day = models.DateField(_("day"))
    query = models.CharField(_("search words"), max_length=100)
    category = models.CharField(_("category"), max_length=60, blank=True, help_text=_("The category slug, if any."))
    province = models.CharField(_("province"), max_length=30, blank=True)
    count = models.PositiveIntegerField(_("searches"), default=1)

    class Meta:
        verbose_name = _("search that found nothing")
        verbose_name_plural = _("searches that found nothing")
        ordering = ["-day", "-count", "query"]
        constraints = [
            models.UniqueConstraint(fields=["day", "query", "category", "province"], name="one_search_log_per_day"),
        ]
        indexes = [models.Index(fields=["category", "day"], name="searchlog_category_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.query} ×{self.count}"
