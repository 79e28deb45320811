from django.conf import settings
from django.contrib.auth.hashers import acheck_password, check_password
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from knox.models import AuthToken

# Mainland mobile numbers (11 digits starting 1) or landlines with an area code.
phone_validator = RegexValidator(
    r"^(\+?86[- ]?)?(1\d{10}|0\d{2,3}-?\d{7,8})$",
    _("Enter a mobile number such as 13800138000 or a landline such as 0535-1234567."),
)


class User(AbstractUser):
    class Role(models.TextChoices):
        BUYER = "buyer", _("Buyer")
        FARMER = "farmer", _("Farmer")
        AGENT = "agent", _("Village agent")
        STAFF = "staff", _("Staff")

    # Roles anyone may pick at sign-up; agents and staff are appointed.
    SELF_SERVICE_ROLES = (Role.BUYER, Role.FARMER)

    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.BUYER, db_index=True)
    display_name = models.CharField(
        _("display name"), max_length=80, blank=True, help_text=_("The name other people see, e.g. 王秀英.")
    )
    phone = models.CharField(_("phone"), max_length=20, blank=True, validators=[phone_validator])
    # Set when a code sent to `phone` by SMS was entered (accounts.codes): the number is the person's.
    phone_verified_at = models.DateTimeField(_("phone verified at"), null=True, blank=True)
    # Signed up with a mobile number not yet confirmed: inactive until the code sent to it is entered.
    signup_pending = models.BooleanField(_("waiting for the sign-up code"), default=False)
    # The language notifications are written in; follows the language switch when signed in.
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

    # A new password (changed, reset, set by staff or a command) revokes every API token of the user when it is
    # saved; the sessions of other browsers end by themselves (Django checks each session's password hash).
    def set_password(self, raw_password):
        super().set_password(raw_password)
        self._revoke_tokens_on_save = True

    def set_unusable_password(self):
        super().set_unusable_password()
        self._revoke_tokens_on_save = True

    def save(self, *args, **kwargs):
        revoke = getattr(self, "_revoke_tokens_on_save", False) and self.pk is not None
        super().save(*args, **kwargs)
        if revoke:
            AuthToken.objects.filter(user=self).delete()
        self._revoke_tokens_on_save = False

    # Django re-hashes a correct password with stronger parameters on sign-in; the same password is no
    # change of credentials, so that save keeps the tokens.
    def _upgrade_hash(self, raw_password):
        AbstractUser.set_password(self, raw_password)
        self._password = None
        self.save(update_fields=["password"])

    def check_password(self, raw_password):
        return check_password(raw_password, self.password, self._upgrade_hash)

    async def acheck_password(self, raw_password):
        async def upgrade(raw):
            AbstractUser.set_password(self, raw)
            self._password = None
            await self.asave(update_fields=["password"])

        return await acheck_password(raw_password, self.password, upgrade)

    @property
    def is_buyer(self) -> bool:
        return self.role == self.Role.BUYER

    @property
    def is_farmer(self) -> bool:
        return self.role == self.Role.FARMER

    @property
    def is_agent(self) -> bool:
        return self.role == self.Role.AGENT


class Address(models.Model):
    """A delivery address in the Chinese shape: province, city, district, then the street line."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses")
    name = models.CharField(_("recipient"), max_length=60)
    phone = models.CharField(_("phone"), max_length=20, validators=[phone_validator])
    province = models.CharField(_("province"), max_length=30)
    city = models.CharField(_("city"), max_length=30)
    district = models.CharField(_("district"), max_length=30, blank=True)
    line = models.CharField(_("street address"), max_length=200)
    postal_code = models.CharField(
        _("postal code"),
        max_length=6,
        blank=True,
        validators=[RegexValidator(r"^\d{6}$", _("A postal code has six digits."))],
    )
    is_default = models.BooleanField(_("default address"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(is_default=True), name="one_default_address_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.province}{self.city}{self.district}{self.line}"


class SignInCode(models.Model):
    """A one-time sign-in code sent by SMS or e-mail (accounts.codes): one live code per user, stored only as a
    keyed hash, dead after its expiry, its first good use or SIGN_IN_CODE_MAX_ATTEMPTS wrong tries."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")
        EMAIL = "email", _("Email")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sign_in_code")
    channel = models.CharField(_("channel"), max_length=5, choices=Channel.choices)
    # "<salt>$<HMAC-SHA256 hex>", keyed with SECRET_KEY: never the code itself.
    code_hash = models.CharField(_("code hash"), max_length=100)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("sign-in code")
        verbose_name_plural = _("sign-in codes")

    def __str__(self) -> str:
        return f"{self.get_channel_display()} code for {self.user_id}"
