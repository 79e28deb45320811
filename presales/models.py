"""Selling to demand: pre-sales of a coming harvest and group buying.

Both end as ordinary orders (orders.Order with one ShopOrder and one OrderLine); the rows here say why the
order exists and how its payment is held. Writes go through presales.services.
"""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.models import Order, SavedCard
from shops.models import Product

MAX_CAPACITY = 1_000_000
MAX_GROUP_SIZE = 50
# Card networks keep an uncaptured authorisation for about 7 days, so a group must fill within that.
MAX_HOURS_TO_FILL = 7 * 24
GROUP_CODE_PREFIX = "G"


def price_field(verbose_name, **kwargs):
    return models.DecimalField(verbose_name, max_digits=10, decimal_places=2,
                               validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100000"))],
                               **kwargs)


class PreSale(models.Model):
    """A product offered now for a coming harvest: buyers order units of a fixed capacity at a pre-sale price."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="presales", verbose_name=_("product"))
    harvest_start = models.DateField(_("harvest expected from"))
    harvest_end = models.DateField(_("harvest expected until"))
    capacity = models.PositiveIntegerField(_("capacity (units)"),
                                           validators=[MinValueValidator(1), MaxValueValidator(MAX_CAPACITY)])
    # Units held by live pre-orders (those still waiting for payment included), changed only by conditional
    # UPDATEs so two buyers can never take the same last units.
    units_sold = models.PositiveIntegerField(_("units sold"), default=0)
    price = price_field(_("pre-sale price per unit"))
    is_open = models.BooleanField(_("taking orders"), default=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("pre-sale")
        verbose_name_plural = _("pre-sales")
        ordering = ["harvest_start", "id"]
        indexes = [models.Index(fields=["product", "is_open"], name="presale_product_open")]
        constraints = [
            models.CheckConstraint(condition=Q(units_sold__lte=F("capacity")), name="presale_not_oversold"),
            models.CheckConstraint(condition=Q(harvest_end__gte=F("harvest_start")), name="presale_window_ordered"),
            models.CheckConstraint(condition=Q(price__gt=0), name="presale_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product} {self.harvest_start}–{self.harvest_end}"

    def get_absolute_url(self) -> str:
        return reverse("presales:presale", args=[self.pk])

    @property
    def units_left(self) -> int:
        return max(self.capacity - self.units_sold, 0)

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def taking_orders(self) -> bool:
        return (self.is_open and not self.is_cancelled and self.units_left > 0
                and self.harvest_end >= timezone.localdate())

    @property
    def percent_sold(self) -> int:
        return min(100, self.units_sold * 100 // self.capacity) if self.capacity else 0


class PreOrder(models.Model):
    """One buyer's order of a pre-sale: the Order it made, and how its payment is held."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for payment")
        AUTHORISED = "authorised", _("Card authorised, charged when shipped")
        PAID = "paid", _("Paid")
        CASH = "cash", _("Cash on delivery")
        PAYMENT_DUE = "payment_due", _("Payment due")
        CANCELLED = "cancelled", _("Cancelled")

    class Payment(models.TextChoices):
        CARD = "card", _("Card: authorised now, charged when the farm ships")
        ONLINE = "online", _("Alipay or WeChat Pay: paid in full now")
        COD = "cod", _("Cash on delivery")
        # A harvest more than LONG_PRESALE_DAYS away: an authorisation would lapse before it ships, so the buyer
        # chooses a saved card instead, charged while they are away when the farm ships.
        SAVED_CARD = "saved_card", _("Saved card: charged when the farm ships")

    # Pre-orders that hold capacity.
    LIVE = (Status.PENDING, Status.AUTHORISED, Status.PAID, Status.CASH, Status.PAYMENT_DUE)

    presale = models.ForeignKey(PreSale, on_delete=models.PROTECT, related_name="preorders",
                                verbose_name=_("pre-sale"))
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="preorder", verbose_name=_("order"))
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="preorders")
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    payment = models.CharField(_("payment"), max_length=10, choices=Payment.choices)
    saved_card = models.ForeignKey(SavedCard, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                   verbose_name=_("saved card"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    # A pre-order still waiting for payment gives its units back after this.
    pay_by = models.DateTimeField(_("pay by"), null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("pre-order")
        verbose_name_plural = _("pre-orders")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "pay_by"], name="preorder_status_pay_by"),
            models.Index(fields=["buyer", "-created_at"], name="preorder_buyer_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} x{self.quantity}"

    def get_absolute_url(self) -> str:
        return reverse("presales:preorder", args=[self.pk])

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE


class GroupDeal(models.Model):
    """A product's group price: N buyers who each order within the time limit all pay the lower price."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="group_deals",
                                verbose_name=_("product"))
    group_size = models.PositiveSmallIntegerField(_("buyers per group"),
                                                  validators=[MinValueValidator(2), MaxValueValidator(MAX_GROUP_SIZE)])
    group_price = price_field(_("group price per unit"))
    hours_to_fill = models.PositiveSmallIntegerField(
        _("hours to fill a group"), validators=[MinValueValidator(1), MaxValueValidator(MAX_HOURS_TO_FILL)])
    is_active = models.BooleanField(_("offered"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("group deal")
        verbose_name_plural = _("group deals")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["product", "is_active"], name="groupdeal_product_active")]
        constraints = [
            models.CheckConstraint(condition=Q(group_size__gte=2), name="groupdeal_size_at_least_two"),
            models.CheckConstraint(condition=Q(group_price__gt=0), name="groupdeal_price_positive"),
            models.CheckConstraint(condition=Q(hours_to_fill__gte=1), name="groupdeal_hours_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.product} x{self.group_size} @{self.group_price}"


class BuyingGroup(models.Model):
    """One group of a deal, shared by its link /groups/<code>/; size and price are copied from the deal."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        FILLED = "filled", _("Complete")
        FAILED = "failed", _("Did not fill")

    deal = models.ForeignKey(GroupDeal, on_delete=models.PROTECT, related_name="groups", verbose_name=_("deal"))
    code = models.CharField(_("share code"), max_length=16, unique=True)
    size = models.PositiveSmallIntegerField(_("buyers needed"))
    price = models.DecimalField(_("group price per unit"), max_digits=10, decimal_places=2)
    # Places held by live members (waiting for their card included); changed only under the group's row lock.
    places_taken = models.PositiveSmallIntegerField(_("places taken"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    expires_at = models.DateTimeField(_("fill by"))
    filled_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("buying group")
        verbose_name_plural = _("buying groups")
        ordering = ["expires_at", "id"]
        indexes = [models.Index(fields=["status", "expires_at"], name="group_status_expires")]
        constraints = [
            models.CheckConstraint(condition=Q(places_taken__lte=F("size")), name="group_not_overfilled"),
            models.CheckConstraint(condition=Q(size__gte=2), name="group_size_at_least_two"),
        ]

    def __str__(self) -> str:
        return self.code

    def get_absolute_url(self) -> str:
        return reverse("presales:group", args=[self.code])

    @property
    def places_left(self) -> int:
        return max(self.size - self.places_taken, 0)

    @property
    def percent_full(self) -> int:
        return min(100, self.places_taken * 100 // self.size) if self.size else 0

    @property
    def is_joinable(self) -> bool:
        return self.status == self.Status.OPEN and self.places_left > 0 and self.expires_at > timezone.now()


class GroupMember(models.Model):
    """A buyer's place in a group and the order (at the group price) whose card payment is held for it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for card authorisation")
        AUTHORISED = "authorised", _("Card authorised")
        CONFIRMED = "confirmed", _("Group complete, order confirmed")
        RELEASED = "released", _("Released")

    # Members holding a place.
    LIVE = (Status.PENDING, Status.AUTHORISED, Status.CONFIRMED)
    # Members whose order is still held back from the farm, waiting for the group.
    HELD = (Status.PENDING, Status.AUTHORISED)

    group = models.ForeignKey(BuyingGroup, on_delete=models.PROTECT, related_name="members", verbose_name=_("group"))
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="group_memberships")
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="group_membership",
                                 verbose_name=_("order"))
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    # A member who has not authorised their card by then gives the place back.
    hold_until = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(_("reason"), max_length=200, blank=True)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("group member")
        verbose_name_plural = _("group members")
        ordering = ["joined_at", "id"]
        indexes = [
            models.Index(fields=["status", "hold_until"], name="member_status_hold"),
            models.Index(fields=["buyer", "-joined_at"], name="member_buyer_recent"),
        ]
        constraints = [
            # The same buyer holds at most one live place in a group (a released buyer may join again).
            models.UniqueConstraint(fields=["group", "buyer"], condition=Q(status__in=["pending", "authorised",
                                                                                      "confirmed"]),
                                    name="one_live_place_per_buyer"),
        ]

    def __str__(self) -> str:
        return f"{self.group_id}/{self.buyer_id}"

    @property
    def is_held(self) -> bool:
        return self.status in self.HELD
