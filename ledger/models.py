"""Double-entry money: accounts, append-only journal entries, per-shop balances, commission, payouts, cash.

Every money event is one JournalEntry whose JournalLines sum to zero (a debit is a positive amount, a credit a
negative one). Entries are never edited or deleted: a correction is a new entry. The database refuses UPDATE and
DELETE on both tables on PostgreSQL (a trigger, migration 0002); the models refuse them everywhere.
"""
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from logistics.models import Station
from orders.models import Order, Payment, Refund, ShopOrder
from shops.models import Category, Shop

ZERO = Decimal("0.00")


def money_field(verbose_name, **kwargs):
    kwargs.setdefault("default", ZERO)
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **kwargs)


class AppendOnly(Exception):
    """An attempt to change or remove a ledger row that is written once."""


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("ledger entries are never changed: post a correcting entry")

    def delete(self):
        raise AppendOnly("ledger entries are never deleted: post a correcting entry")


class AppendOnlyModel(models.Model):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("ledger entries are never changed: post a correcting entry")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("ledger entries are never deleted: post a correcting entry")


class Account(models.Model):
    """One account of the chart. Platform accounts have no shop or station; a shop has three, a station one."""

    class Kind(models.TextChoices):
        STRIPE_CLEARING = "stripe_clearing", _("Stripe clearing")
        BANK = "bank", _("Platform bank account")
        STATION_CASH = "station_cash", _("Station cash drawer")
        BUYER_FUNDS = "buyer_funds", _("Buyers' money not yet a sale")
        SHOP_PENDING = "shop_pending", _("Shop: pending")
        SHOP_AVAILABLE = "shop_available", _("Shop: available")
        SHOP_PAYOUTS = "shop_payouts", _("Shop: payouts on their way")
        COMMISSION = "commission", _("Commission revenue")
        SHIPPING = "shipping", _("Shipping revenue")
        REFUNDS = "refunds", _("Refunds owed to buyers")
        ADJUSTMENTS = "adjustments", _("Manual adjustments")

    code = models.CharField(max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    station = models.ForeignKey(Station, on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


def memo_text(memo: str, params: dict) -> str:
    """An entry's memo in the active language: the stored English message id, translated, with its values."""
    if not params:
        return gettext(memo) if memo else ""
    try:
        return gettext(memo) % params
    except (KeyError, TypeError, ValueError):
        return memo % params


class JournalEntry(AppendOnlyModel):
    """One money event, written once. `shop_amount` is the shop's net change (positive: the shop is owed more)."""

    class Kind(models.TextChoices):
        CAPTURE = "capture", _("Card payment captured")
        CASH = "cash", _("Cash collected")
        SALE = "sale", _("Sale")
        COMMISSION = "commission", _("Commission")
        SHIPPING = "shipping", _("Shipping")
        RELEASE = "release", _("Available after completion")
        REFUND = "refund", _("Refund")
        REFUND_PAID = "refund_paid", _("Refund paid out")
        PAYOUT = "payout", _("Payout")
        PAYOUT_PAID = "payout_paid", _("Payout paid")
        PAYOUT_FAILED = "payout_failed", _("Payout failed")
        REMITTANCE = "remittance", _("Cash remitted by a station")
        ADJUSTMENT = "adjustment", _("Adjustment")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    # Idempotency: the event this entry books ("payment:12:capture"); booking it again finds this row.
    key = models.CharField(max_length=80, unique=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    # What happened, in words: an English message id with its values, translated for each reader (memo_text);
    # a staff adjustment's reason is kept as written.
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    memo_params = models.JSONField(_("memo values"), default=dict, blank=True)
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    shop_amount = money_field(_("amount for the shop"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    shop_order = models.ForeignKey(ShopOrder, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    payout = models.ForeignKey("Payout", on_delete=models.PROTECT, null=True, blank=True, related_name="entries")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-id"]
        indexes = [models.Index(fields=["shop", "-id"], name="ledger_entry_shop_recent")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"

    @property
    def memo_text(self) -> str:
        return memo_text(self.memo, self.memo_params)


class JournalLine(AppendOnlyModel):
    """One side of an entry: a debit (positive) or a credit (negative) on one account."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    amount = models.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("ledger line")
        verbose_name_plural = _("ledger lines")
        constraints = [models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_line_not_zero")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.amount}"


class ShopBalance(models.Model):
    """A shop's balances, updated in the transaction of each entry (so the balance page never sums history).

    pending: sold, the part still on its way; available: the shop's, paid in the next payout (negative after a
    late refund: recovered from the next payout); scheduled: in a payout not yet confirmed paid; paid_out: paid.
    """

    shop = models.OneToOneField(Shop, on_delete=models.PROTECT, related_name="balance")
    pending = money_field(_("pending"))
    available = money_field(_("available"))
    scheduled = money_field(_("payouts on their way"))
    paid_out = money_field(_("paid out"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("shop balance")
        verbose_name_plural = _("shop balances")

    def __str__(self) -> str:
        return f"{self.shop_id}: {self.available}"


class Earning(models.Model):
    """What one shop's part of a paid order earns, fixed when it is paid (a later rate change never rewrites it)."""

    shop_order = models.OneToOneField(ShopOrder, on_delete=models.PROTECT, related_name="earning")
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="+")
    goods = money_field(_("goods"))
    shipping = money_field(_("shipping"))
    commission = money_field(_("commission"))
    refunded_goods = money_field(_("goods refunded"))
    refunded_shipping = money_field(_("shipping refunded"))
    refunded_commission = money_field(_("commission given back"))
    released_at = models.DateTimeField(_("available since"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("earning")
        verbose_name_plural = _("earnings")

    def __str__(self) -> str:
        return f"{self.shop_order_id}: {self.goods}"

    @property
    def net(self) -> Decimal:
        return (self.goods - self.refunded_goods) - (self.commission - self.refunded_commission)


class CommissionRule(models.Model):
    """A staff-set commission rate for a shop or a category, from `valid_from` on.

    The rate of a sale is the one valid when the order is paid: the shop's latest rule, else its product
    category's (or the parent category's), else settings.COMMISSION_RATE. A new rule never rewrites past sales.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    category = models.ForeignKey(Category, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    rate = models.DecimalField(_("rate"), max_digits=5, decimal_places=4,
                               validators=[MinValueValidator(Decimal("0"))],
                               help_text=_("0.05 is 5%."))
    valid_from = models.DateTimeField(_("valid from"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("commission rule")
        verbose_name_plural = _("commission rules")
        ordering = ["-valid_from", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(shop__isnull=True) ^ models.Q(category__isnull=True),
                                   name="commission_rule_shop_xor_category"),
            models.CheckConstraint(condition=models.Q(rate__gte=0, rate__lte=1), name="commission_rule_rate_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.shop or self.category}: {self.rate}"


class PayoutAccount(models.Model):
    """Where a shop's payouts go. Only the last four digits are ever shown; a change holds the next payout."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="payout_account")
    holder = models.CharField(_("account holder"), max_length=80)
    bank = models.CharField(_("bank"), max_length=80)
    account_number = models.CharField(_("account number"), max_length=34)
    hold_until = models.DateTimeField(_("payouts held until"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("payout account")
        verbose_name_plural = _("payout accounts")

    def __str__(self) -> str:
        return f"{self.holder} ****{self.account_last4}"

    @property
    def account_last4(self) -> str:
        return self.account_number[-4:]

    @property
    def masked_number(self) -> str:
        return f"****{self.account_last4}"


class PayoutBatch(models.Model):
    """One payout run: a payout per shop with enough available money; exported as one bank-transfer file."""

    period = models.CharField(_("period"), max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+")

    class Meta:
        verbose_name = _("payout batch")
        verbose_name_plural = _("payout batches")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.period


class Payout(models.Model):
    """Money sent to one shop's bank account. Allowed status moves live in ledger.services (PAYOUT_TRANSITIONS)."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    number = models.CharField(_("payout number"), max_length=24, unique=True)
    batch = models.ForeignKey(PayoutBatch, on_delete=models.PROTECT, related_name="payouts")
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="payouts")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.SCHEDULED,
                              db_index=True)
    payee = models.CharField(_("payee"), max_length=80)
    bank = models.CharField(_("bank"), max_length=80)
    account_last4 = models.CharField(max_length=4)
    reference = models.CharField(_("bank reference"), max_length=80, blank=True)
    failure_reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "shop"], name="one_payout_per_shop_per_batch"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payout_amount_positive"),
        ]
        indexes = [models.Index(fields=["shop", "-created_at"], name="payout_shop_recent")]

    def __str__(self) -> str:
        return self.number


class CashRemittance(models.Model):
    """A station hands cash it collected to the platform; staff confirm receipt (then the ledger moves it)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for confirmation")
        CONFIRMED = "confirmed", _("Received")

    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")

    class Meta:
        verbose_name = _("cash remittance")
        verbose_name_plural = _("cash remittances")
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gt=0), name="remittance_amount_positive")]

    def __str__(self) -> str:
        return f"{self.station_id}: {self.amount}"


class CashCount(models.Model):
    """An agent's end-of-day count of the drawer: what the ledger expects, what was counted, the difference."""

    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="+")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    expected = models.DecimalField(_("expected"), max_digits=14, decimal_places=2)
    counted = models.DecimalField(_("counted"), max_digits=14, decimal_places=2)
    difference = models.DecimalField(_("difference"), max_digits=14, decimal_places=2)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("cash count")
        verbose_name_plural = _("cash counts")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.station_id}: {self.difference}"
