from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from orders.models import ShopOrder
from shops.models import HarvestLot, Village

PARCEL_PREFIX = "P"
SHIPMENT_PREFIX = "S"


class Station(models.Model):
    """A village service point: farmers bring packed orders here and the agent sends them on."""

    name = models.CharField(_("name"), max_length=80)
    villages = models.ManyToManyField(Village, related_name="stations", verbose_name=_("villages served"))
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    opening_hours = models.CharField(_("opening hours"), max_length=120, blank=True,
                                     help_text=_("For example: Mon-Sat 8:00-18:00"))
    cold_store = models.BooleanField(_("has a cold store"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("station")
        verbose_name_plural = _("stations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Agent(models.Model):
    """A user appointed by staff to run a station."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent")
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="agents")
    active = models.BooleanField(_("active"), default=True)
    appointed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")

    def __str__(self) -> str:
        return f"{self.user} @ {self.station}"


class Shipment(models.Model):
    """Parcels consolidated at a station and moved together by a carrier."""

    class Status(models.TextChoices):
        OPEN = "open", _("Being loaded")
        DEPARTED = "departed", _("Departed")
        ARRIVED = "arrived", _("Arrived at hub")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        DELIVERED = "delivered", _("Delivered")
        EXCEPTION = "exception", _("Problem reported")

    code = models.CharField(_("shipment code"), max_length=16, unique=True)
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="shipments")
    destination = models.CharField(_("destination city"), max_length=60)
    carrier = models.CharField(_("carrier"), max_length=60)
    tracking_number = models.CharField(_("carrier tracking number"), max_length=60, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN,
                              db_index=True)
    cold_chain = models.BooleanField(_("cold chain"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    departed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.code


class Parcel(models.Model):
    """A ShopOrder in a box, from the shop's hand-over to the buyer's door."""

    class Status(models.TextChoices):
        EXPECTED = "expected", _("Expected at the station")
        RECEIVED = "received", _("Received at the station")
        IN_SHIPMENT = "in_shipment", _("Loaded in a shipment")
        IN_TRANSIT = "in_transit", _("In transit")
        ARRIVED = "arrived", _("Arrived at hub")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        DELIVERED = "delivered", _("Delivered")
        EXCEPTION = "exception", _("Problem reported")

    code = models.CharField(_("parcel code"), max_length=16, unique=True)
    shop_order = models.OneToOneField(ShopOrder, on_delete=models.PROTECT, related_name="parcel")
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="parcels")
    shipment = models.ForeignKey(Shipment, on_delete=models.SET_NULL, null=True, blank=True, related_name="parcels")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.EXPECTED,
                              db_index=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=8, decimal_places=3,
                                    validators=[MinValueValidator(0), MaxValueValidator(1000)])
    cold_chain = models.BooleanField(_("cold chain"), default=False)
    destination_city = models.CharField(_("destination city"), max_length=60)
    lots = models.ManyToManyField(HarvestLot, related_name="parcels", blank=True, verbose_name=_("lots"))
    # Six digits the buyer reads out to the courier; the courier enters it to confirm delivery.
    delivery_code = models.CharField(max_length=6)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("parcel")
        verbose_name_plural = _("parcels")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["station", "status"], name="parcel_station_status")]

    def __str__(self) -> str:
        return self.code


class TrackingEvent(models.Model):
    """One hand-over or movement of a parcel. Append-only: corrections are new events."""

    class Kind(models.TextChoices):
        HANDED_OVER = "handed_over", _("Handed over by the farm")
        RECEIVED = "received", _("Received at the station")
        LOADED = "loaded", _("Loaded into a shipment")
        DEPARTED = "departed", _("Departed")
        ARRIVED = "arrived", _("Arrived at hub")
        OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery")
        DELIVERED = "delivered", _("Delivered")
        EXCEPTION = "exception", _("Problem reported")
        CASH_COLLECTED = "cash_collected", _("Cash collected")

    class Problem(models.TextChoices):
        DAMAGED = "damaged", _("Damaged")
        DELAYED = "delayed", _("Delayed")
        LOST = "lost", _("Lost")
        OTHER = "other", _("Other")

    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="events")
    shipment = models.ForeignKey(Shipment, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    problem = models.CharField(_("problem"), max_length=10, choices=Problem.choices, blank=True)
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    location = models.CharField(_("place"), max_length=120, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="+")
    note = models.CharField(_("note"), max_length=300, blank=True)
    photo = models.ImageField(_("photo"), upload_to="tracking/%Y/%m/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("tracking event")
        verbose_name_plural = _("tracking events")
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.parcel_id} {self.kind}"


class Review(models.Model):
    """A buyer's rating of one delivered ShopOrder, once; the shop may reply once."""

    shop_order = models.OneToOneField(ShopOrder, on_delete=models.CASCADE, related_name="review")
    buyer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews")
    rating = models.PositiveSmallIntegerField(_("rating"), validators=[MinValueValidator(1), MaxValueValidator(5)])
    text = models.TextField(_("review"), blank=True, max_length=2000)
    photo = models.ImageField(_("photo"), upload_to="reviews/%Y/%m/", blank=True)
    reply = models.TextField(_("shop's reply"), blank=True, max_length=2000)
    replied_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5")
        ]

    def __str__(self) -> str:
        return f"{self.rating}★ {self.shop_order_id}"


class StationAction(models.Model):
    """An action the agent queued on the phone (often offline), applied at most once.

    The phone names each action with an id of its own; (agent, client_id) is unique, so a replay or a
    second, concurrent post of the same action finds this row instead of applying it again. A refused
    action is kept too, so a replay gets the same answer.
    """

    class Kind(models.TextChoices):
        RECEIVE = "receive", _("Receive a parcel")
        DELIVER = "deliver", _("Deliver a parcel")
        COLLECT_CASH = "collect_cash", _("Collect cash")
        SHIPMENT_EVENT = "shipment_event", _("Shipment event")

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        REJECTED = "rejected", _("Refused")

    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="station_actions")
    client_id = models.CharField(_("action id"), max_length=64)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    args = models.JSONField(_("details"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    detail = models.CharField(_("result"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("station action")
        verbose_name_plural = _("station actions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["agent", "client_id"], name="station_action_once_per_agent"),
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.kind} {self.client_id}"
