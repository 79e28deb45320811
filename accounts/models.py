from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

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
    # The language notifications are written in; follows the language switch when signed in.
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.username

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
