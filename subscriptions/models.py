"""Standing orders: a shop's box delivered weekly or fortnightly, and the buyers who subscribe to it.

Each week's order is an ordinary orders.Order (origin "subscription") made at the box's cut-off by
subscriptions.services.make_standing_orders through orders.services.create_order, stock reserved; a
StandingOrderRun row per subscription and cut-off date (unique) makes a second run of the job create nothing.
Writes go through subscriptions.services.
"""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Address
from orders.models import Order, SavedCard
from shops.models import Product, Shop

MAX_BOX_CAPACITY = 10_000
WEEKDAYS = [(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")), (4, _("Friday")),
            (5, _("Saturday")), (6, _("Sunday"))]


class Box(models.Model):
    """A shop's standing-order offer: a fixed set of products (priced as they are), or the farm's choice at a
    fixed price (one item: the shop's box product), delivered every week or every other week."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", _("Every week")
        FORTNIGHTLY = "fortnightly", _("Every other week")

    class Kind(models.TextChoices):
        FIXED = "fixed", _("A fixed set of products")
        FARM_CHOICE = "farm_choice", _("The farm's choice")

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="boxes", verbose_name=_("shop"))
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("contents"), max_length=12, choices=Kind.choices, default=Kind.FIXED)
    # The farm's choice: what the buyer pays each time. A fixed set: kept equal to its items at their prices.
    price = models.DecimalField(_("price per delivery"), max_digits=10, decimal_places=2,
                                validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100000"))])
    frequency = models.CharField(_("how often"), max_length=12, choices=Frequency.choices,
                                 default=Frequency.WEEKLY)
    cutoff_weekday = models.PositiveSmallIntegerField(_("orders made on"), choices=WEEKDAYS)
    delivery_weekday = models.PositiveSmallIntegerField(_("delivered on"), choices=WEEKDAYS)
    # The most boxes the farm prepares per delivery: live (active or paused) subscriptions never exceed it.
    capacity = models.PositiveIntegerField(_("most boxes per delivery"),
                                           validators=[MinValueValidator(1), MaxValueValidator(MAX_BOX_CAPACITY)])
    # A fortnightly box runs on the cut-offs an even number of weeks after this date.
    starts_on = models.DateField(_("first cut-off from"))
    is_active = models.BooleanField(_("taking subscribers"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("box")
        verbose_name_plural = _("boxes")
        ordering = ["shop_id", "title", "id"]
        constraints = [models.CheckConstraint(condition=Q(price__gt=0), name="box_price_positive")]

    def __str__(self) -> str:
        return self.title


class BoxItem(models.Model):
    box = models.ForeignKey(Box, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1), MaxValueValidator(1000)])

    class Meta:
        verbose_name = _("box item")
        verbose_name_plural = _("box items")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["box", "product"], name="one_box_item_per_product")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"


class Subscription(models.Model):
    """A buyer's standing order for a box: paid with a saved card (charged while away, with the consent given
    when saving it) or, without one, in cash on delivery."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        PAUSED = "paused", _("Paused")
        CANCELLED = "cancelled", _("Cancelled")

    box = models.ForeignKey(Box, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("box"))
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    # Deleted by the buyer: the next order waits until they choose another (the run is refused and they are told).
    address = models.ForeignKey(Address, on_delete=models.SET_NULL, null=True, related_name="+",
                                verbose_name=_("delivery address"))
    payment_method = models.ForeignKey(SavedCard, on_delete=models.SET_NULL, null=True, blank=True,
                                       related_name="+", verbose_name=_("saved card"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE,
                              db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["box", "status"], name="subscription_box_status")]

    def __str__(self) -> str:
        return f"{self.buyer_id} -> {self.box_id}"


class SkippedDelivery(models.Model):
    """A delivery the buyer does not want: no order is made at its cut-off."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="skipped")
    delivery_date = models.DateField(_("delivery date"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("skipped delivery")
        verbose_name_plural = _("skipped deliveries")
        constraints = [models.UniqueConstraint(fields=["subscription", "delivery_date"], name="skip_once")]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.delivery_date}"


class StandingOrderRun(models.Model):
    """What one cut-off did for one subscription, once: its order, or why there is none. The unique
    (subscription, cutoff_date) pair is the job's idempotency key."""

    class Outcome(models.TextChoices):
        ORDERED = "ordered", _("Order made")
        SKIPPED = "skipped", _("Skipped by the buyer")
        REFUSED = "refused", _("Could not be made")

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="runs")
    cutoff_date = models.DateField(_("cut-off date"))
    delivery_date = models.DateField(_("delivery date"))
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    order = models.OneToOneField(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="standing_run")
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("standing order run")
        verbose_name_plural = _("standing order runs")
        ordering = ["-cutoff_date", "-id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "cutoff_date"],
                                               name="one_standing_order_per_subscription_and_week")]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.cutoff_date} {self.outcome}"
