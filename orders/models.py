from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.money import quantize
from shops.models import HarvestLot, Product, Shop

ZERO = Decimal("0.00")


def weighed_line_max(estimate: Decimal) -> Decimal:
    """The most a line sold by weight can cost: its estimate plus WEIGHED_BUFFER (10 % by default)."""
    return quantize(estimate * (1 + Decimal(settings.WEIGHED_BUFFER)))


def money_field(verbose_name, **kwargs):
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, default=ZERO, **kwargs)


class Cart(models.Model):
    """A signed-in buyer's cart, or an anonymous one tied to a session (merged at sign-in)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="cart")
    session_key = models.CharField(max_length=40, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("cart")
        verbose_name_plural = _("carts")
        constraints = [
            models.CheckConstraint(condition=models.Q(user__isnull=False) | models.Q(session_key__isnull=False),
                                   name="cart_has_owner"),
        ]

    def __str__(self) -> str:
        return f"cart {self.pk}"


class CartItem(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("cart item")
        verbose_name_plural = _("cart items")
        ordering = ["added_at", "id"]
        constraints = [models.UniqueConstraint(fields=["cart", "product"], name="one_cart_line_per_product")]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"


class ShippingRate(models.Model):
    """Fee for one ShopOrder: base + per kg by zone, plus a surcharge when anything needs cold chain."""

    class Zone(models.TextChoices):
        SAME_PROVINCE = "same", _("Same province")
        NEIGHBOURING = "neighbouring", _("Neighbouring province")
        FAR = "far", _("Far")

    zone = models.CharField(_("zone"), max_length=12, choices=Zone.choices, unique=True)
    base_fee = models.DecimalField(_("base fee"), max_digits=8, decimal_places=2, validators=[MinValueValidator(0)])
    per_kg = models.DecimalField(_("per kg"), max_digits=8, decimal_places=2, validators=[MinValueValidator(0)])
    cold_chain_surcharge = models.DecimalField(_("cold-chain surcharge"), max_digits=8, decimal_places=2,
                                               validators=[MinValueValidator(0)])

    class Meta:
        verbose_name = _("shipping rate")
        verbose_name_plural = _("shipping rates")

    def __str__(self) -> str:
        return self.get_zone_display()


class Order(models.Model):
    """One checkout, one payment. Allowed status changes live in orders/states.py."""

    class Status(models.TextChoices):
        PENDING_PAYMENT = "pending_payment", _("Waiting for payment")
        PAID = "paid", _("Paid")
        CANCELLED = "cancelled", _("Cancelled")
        COMPLETED = "completed", _("Completed")
        REFUNDED = "refunded", _("Refunded")

    class PaymentMethod(models.TextChoices):
        STRIPE = "stripe", _("Online payment (card, Alipay, WeChat Pay)")
        COD = "cod", _("Cash on delivery")

    class Origin(models.TextChoices):
        CHECKOUT = "checkout", _("Checkout")
        PRESALE = "presale", _("Pre-order")
        GROUP = "group", _("Group buying")
        SUBSCRIPTION = "subscription", _("Standing order")

    number = models.CharField(_("order number"), max_length=20, unique=True)
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices,
                              default=Status.PENDING_PAYMENT, db_index=True)
    payment_method = models.CharField(_("payment method"), max_length=10, choices=PaymentMethod.choices)
    # The address is copied: the buyer may edit or delete theirs later.
    recipient = models.CharField(_("recipient"), max_length=60)
    phone = models.CharField(_("phone"), max_length=20)
    province = models.CharField(_("province"), max_length=30)
    city = models.CharField(_("city"), max_length=30)
    district = models.CharField(_("district"), max_length=30, blank=True)
    address_line = models.CharField(_("street address"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=6, blank=True)
    items_total = money_field(_("items"))
    shipping_total = money_field(_("shipping"))
    total = money_field(_("total"))
    # With produce sold by weight: the most the buyer can pay (each weighed line's estimate plus the buffer, the
    # other lines and shipping as they are), authorised on a card and captured for the final total once weighed.
    # None for an order without weighed lines.
    max_total = models.DecimalField(_("most to pay"), max_digits=12, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, default="CNY")
    # Unpaid online orders hold stock until then; the expiry task releases it.
    reserved_until = models.DateTimeField(null=True, blank=True, db_index=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(_("reason"), max_length=200, blank=True)
    # What made the order: a checkout, or presales (a pre-order, a place in a buying group).
    origin = models.CharField(_("order source"), max_length=12, choices=Origin.choices, default=Origin.CHECKOUT)
    # A pre-order, or a group place until its group fills: the app that made it cancels it (releasing the
    # card hold and the units with it), and orders' own cancel and expiry flows refuse it.
    held_by_origin = models.BooleanField(_("held by its pre-sale or group"), default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["buyer", "-created_at"], name="order_buyer_recent")]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse("orders:order", args=[self.number])

    @property
    def is_weighed(self) -> bool:
        """Some lines are sold by weight: the final total is known once they are weighed at packing."""
        return self.max_total is not None

    @property
    def authorised_total(self):
        """What a card is asked for: the most to pay for a weighed order, the total otherwise."""
        return self.max_total if self.max_total is not None else self.total

    @property
    def is_pay_on_delivery(self) -> bool:
        """Cash on delivery, not collected yet: nothing is waiting on the buyer before delivery."""
        return self.status == self.Status.PENDING_PAYMENT and self.payment_method == self.PaymentMethod.COD

    @property
    def status_key(self) -> str:
        """The status for its badge's colour ("pay_on_delivery" is a plain badge, not a warning)."""
        return "pay_on_delivery" if self.is_pay_on_delivery else self.status

    @property
    def status_label(self) -> str:
        """The status in the buyer's and seller's words: a cash order is paid on delivery, not awaited."""
        return str(_("Pay on delivery")) if self.is_pay_on_delivery else self.get_status_display()


class ShopOrder(models.Model):
    """The part of an Order that one shop fulfils."""

    class Status(models.TextChoices):
        AWAITING_PAYMENT = "awaiting_payment", _("Waiting for payment")
        NEW = "new", _("New")
        ACCEPTED = "accepted", _("Accepted")
        PACKED = "packed", _("Packed")
        HANDED_OVER = "handed_over", _("Handed over to the station")
        IN_TRANSIT = "in_transit", _("In transit")
        DELIVERED = "delivered", _("Delivered")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="shop_orders")
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="shop_orders")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices,
                              default=Status.AWAITING_PAYMENT, db_index=True)
    items_total = money_field(_("items"))
    shipping_fee = money_field(_("shipping fee"))
    total = money_field(_("total"))
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=10, decimal_places=3, default=Decimal("0"))
    cold_chain = models.BooleanField(_("cold chain"), default=False)
    refunded_amount = money_field(_("refunded"))
    cancel_reason = models.CharField(_("reason"), max_length=200, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("shop order")
        verbose_name_plural = _("shop orders")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["shop", "status"], name="shoporder_shop_status")]
        constraints = [models.UniqueConstraint(fields=["order", "shop"], name="one_shop_order_per_shop")]

    def __str__(self) -> str:
        return f"{self.order.number}/{self.shop_id}"


class OrderLine(models.Model):
    """A line as it was sold: title, unit and price are copied from the product at checkout."""

    shop_order = models.ForeignKey(ShopOrder, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, related_name="order_lines")
    title = models.CharField(_("title"), max_length=120)
    unit = models.CharField(_("sale unit"), max_length=10)
    unit_weight_kg = models.DecimalField(max_digits=8, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    line_total = models.DecimalField(_("line total"), max_digits=12, decimal_places=2)
    # Sold by weight (price_per_kg set): line_total starts as the estimate (kept in estimated_total) and becomes
    # weight_kg x price_per_kg when the farm weighs the line at packing, never above max_total (the estimate plus
    # the buffer, the most the buyer can pay for it: the farm absorbs any overweight).
    price_per_kg = models.DecimalField(_("price per kg"), max_digits=10, decimal_places=2, null=True, blank=True)
    estimated_total = models.DecimalField(_("estimated total"), max_digits=12, decimal_places=2, null=True,
                                          blank=True)
    max_total = models.DecimalField(_("most to pay"), max_digits=12, decimal_places=2, null=True, blank=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=10, decimal_places=3, null=True, blank=True)
    # The harvest lot the line was packed from (set when the shop packs).
    lot = models.ForeignKey(HarvestLot, on_delete=models.PROTECT, null=True, blank=True, related_name="order_lines")

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.title}"

    @property
    def is_weighed(self) -> bool:
        return self.price_per_kg is not None

    @property
    def estimated_weight_kg(self):
        return self.unit_weight_kg * self.quantity

    @property
    def final_total(self):
        """The price of a weighed line once weighed (None before); any other line's total."""
        if self.is_weighed:
            return self.line_total if self.weight_kg is not None else None
        return self.line_total


class Payment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        REQUIRES_CAPTURE = "requires_capture", _("Authorised")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Provider(models.TextChoices):
        STRIPE = "stripe", "Stripe"
        CASH = "cash", _("Cash on delivery")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=10, choices=Provider.choices)
    # Stripe PaymentIntent id (pi_...), unique so a webhook finds exactly one payment.
    intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    idempotency_key = models.CharField(max_length=80, unique=True)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="CNY")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True)
    failure_message = models.CharField(max_length=255, blank=True)
    collected_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", help_text=_("The agent who took the cash."))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.provider} {self.amount} {self.status}"


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    shop_order = models.ForeignKey(ShopOrder, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="refunds")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    stripe_refund_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")

    def __str__(self) -> str:
        return f"refund {self.amount}"


class StripeEvent(models.Model):
    """Each webhook event once: a duplicate delivery finds its id here and is ignored."""

    event_id = models.CharField(max_length=255, unique=True)
    type = models.CharField(max_length=80)
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class PaymentCustomer(models.Model):
    """The Stripe customer a buyer's saved cards are kept on (made the first time they save one)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="payment_customer")
    customer_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("payment customer")
        verbose_name_plural = _("payment customers")

    def __str__(self) -> str:
        return self.customer_id


class SavedCard(models.Model):
    """A card a buyer saved (a Stripe SetupIntent), charged while they are away only with their consent, given
    when saving it: for their standing orders and pre-orders of harvests far ahead. Pending until the SetupIntent
    succeeds; a removed card is detached at Stripe and kept here for the orders that name it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Being saved")
        ACTIVE = "active", _("Saved")
        REMOVED = "removed", _("Removed")

    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_cards")
    customer_id = models.CharField(max_length=255)
    setup_intent_id = models.CharField(max_length=255, unique=True)
    payment_method_id = models.CharField(max_length=255, blank=True, db_index=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    brand = models.CharField(_("card brand"), max_length=20, blank=True)
    last4 = models.CharField(_("last 4 digits"), max_length=4, blank=True)
    exp_month = models.PositiveSmallIntegerField(_("expiry month"), default=0)
    exp_year = models.PositiveSmallIntegerField(_("expiry year"), default=0)
    consented_at = models.DateTimeField(_("charges while away allowed at"))
    created_at = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("saved card")
        verbose_name_plural = _("saved cards")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["buyer", "status"], name="savedcard_buyer_status")]

    def __str__(self) -> str:
        return f"{self.brand} •••• {self.last4}"

    @property
    def is_usable(self) -> bool:
        return self.status == self.Status.ACTIVE
