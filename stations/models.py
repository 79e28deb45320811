"""Farmers listed by the village agent, their consent, and the record of what was done on their behalf."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from logistics.models import Station
from shops.models import Village, private_storage


class AssistedFarmer(models.Model):
    """A farmer without a smartphone, registered by a village agent, and their consent to the station acting for
    them. The farmer's own account (a mobile number, no password) can be claimed later by signing in with a code."""

    class Consent(models.TextChoices):
        PENDING = "pending", _("Waiting for consent")
        GIVEN = "given", _("Consent given")
        WITHDRAWN = "withdrawn", _("Consent withdrawn")

    class Method(models.TextChoices):
        SMS = "sms", _("Code sent by SMS")
        PAPER = "paper", _("Signed paper form")

    farmer = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assisted")
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="assisted_farmers",
                                verbose_name=_("station"))
    village = models.ForeignKey(Village, on_delete=models.PROTECT, related_name="+", verbose_name=_("village"))
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("registered by"))
    # Kept like shops' licence photos: private storage, never a public URL.
    id_photo = models.FileField(_("ID photo"), storage=private_storage, upload_to="farmer-ids/", blank=True)
    consent = models.CharField(_("consent"), max_length=10, choices=Consent.choices, default=Consent.PENDING,
                               db_index=True)
    consent_method = models.CharField(_("consent given by"), max_length=5, choices=Method.choices, blank=True)
    consent_paper = models.FileField(_("signed consent form"), storage=private_storage, upload_to="consent-forms/",
                                     blank=True)
    consent_given_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    consent_withdrawn_at = models.DateTimeField(_("consent withdrawn at"), null=True, blank=True)
    # The live consent code, as a keyed hash only (stations.consent).
    code_hash = models.CharField(max_length=100, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("assisted farmer")
        verbose_name_plural = _("assisted farmers")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return str(self.farmer)

    @property
    def consent_given(self) -> bool:
        return self.consent == self.Consent.GIVEN

    @property
    def consent_pending(self) -> bool:
        return self.consent == self.Consent.PENDING


class ActivityEntry(models.Model):
    """One write made for a farmer by someone else (the agent acting for them), or a step of their registration.
    Append-only: the farmer's record of everything done on their behalf."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("done for"))
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                              verbose_name=_("done by"))
    method = models.CharField(_("method"), max_length=7)
    path = models.CharField(_("address"), max_length=300)
    # The URL name ("shops:seller_product_create", "product-list"): what the write was, shown translated.
    view_name = models.CharField(_("action"), max_length=120, blank=True)
    label = models.CharField(_("object"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        verbose_name = _("activity entry")
        verbose_name_plural = _("activity entries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="activity_owner_time")]

    def __str__(self) -> str:
        return f"{self.actor_id} for {self.owner_id}: {self.method} {self.path}"


class StationOrder(models.Model):
    """An order the agent placed for a villager, collected (and paid in cash) at the station."""

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="station_pickup",
                                 verbose_name=_("order"))
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="villager_orders",
                                verbose_name=_("station"))
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("placed by"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("villager's order")
        verbose_name_plural = _("villagers' orders")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.order_id} @ {self.station_id}"
