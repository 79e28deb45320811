"""Every write to stations, agents, parcels, shipments, tracking events, reviews and the agent's queued actions.

Keyword-only arguments, one transaction each. Rows are locked in one order everywhere, the same as
orders.services after it: the Shipment, then Orders, then ShopOrders, then Parcels, then HarvestLots,
each by ascending id; so two writers never wait on each other in a circle. ShopOrder and Order status
changes are orders' own (orders.services mark_packed, mark_handed_over, mark_in_transit, mark_delivered,
complete_shop_order ...); parcel and shipment changes go through the tables below. An illegal change is a
ConflictError (HTTP 409, a message on a page).
"""
from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from PIL import Image

from accounts.models import User
from core import codes
from core.errors import ConflictError
from notifications.services import Phrase, notify
from orders import services as order_services
from orders.models import ZERO, Order, OrderLine, Payment, ShopOrder
from shops import images, stock
from shops import services as shop_services
from shops.cache import product_changed, shop_page_changed
from shops.models import HarvestLot, Village
from shops.selectors import can_manage_shop

from . import selectors
from .models import (
    PARCEL_PREFIX,
    SHIPMENT_PREFIX,
    Agent,
    Parcel,
    Review,
    Shipment,
    Station,
    StationAction,
    TrackingEvent,
)
from .signals import tracking_events_recorded

P = Parcel.Status
S = Shipment.Status
K = TrackingEvent.Kind
SS = ShopOrder.Status

PARCEL_CODE_LENGTH = 8  # P + 8 characters + check character
SHIPMENT_CODE_LENGTH = 7
# Wrong delivery codes allowed per parcel before entry is refused for DELIVERY_CODE_LOCK_MINUTES:
# six digits are a million codes, so a guesser gets nowhere.
DELIVERY_CODE_MAX_FAILURES = 5

# The allowed parcel and shipment status changes (ShopOrders follow orders.states).
PARCEL_TRANSITIONS: dict[str, set[str]] = {
    P.EXPECTED: {P.RECEIVED},
    # DELIVERED: collected by the buyer at the station that received it (hand_over_at_station).
    P.RECEIVED: {P.IN_SHIPMENT, P.DELIVERED},
    P.IN_SHIPMENT: {P.RECEIVED, P.IN_TRANSIT},
    P.IN_TRANSIT: {P.ARRIVED, P.OUT_FOR_DELIVERY, P.DELIVERED, P.EXCEPTION},
    P.ARRIVED: {P.OUT_FOR_DELIVERY, P.DELIVERED, P.EXCEPTION},
    P.OUT_FOR_DELIVERY: {P.ARRIVED, P.DELIVERED, P.EXCEPTION},
    P.EXCEPTION: {P.ARRIVED, P.OUT_FOR_DELIVERY, P.DELIVERED, P.EXCEPTION},
    P.DELIVERED: set(),
}
SHIPMENT_TRANSITIONS: dict[str, set[str]] = {
    S.OPEN: {S.DEPARTED},
    S.DEPARTED: {S.ARRIVED, S.OUT_FOR_DELIVERY, S.DELIVERED, S.EXCEPTION},
    S.ARRIVED: {S.OUT_FOR_DELIVERY, S.DELIVERED, S.EXCEPTION},
    S.OUT_FOR_DELIVERY: {S.ARRIVED, S.DELIVERED, S.EXCEPTION},
    S.EXCEPTION: {S.ARRIVED, S.OUT_FOR_DELIVERY, S.DELIVERED, S.EXCEPTION},
    S.DELIVERED: set(),
}
# A shipment event's kind -> the status it gives the shipment and its parcels.
SHIPMENT_EVENT_KINDS = {
    K.DEPARTED: (S.DEPARTED, P.IN_TRANSIT),
    K.ARRIVED: (S.ARRIVED, P.ARRIVED),
    K.OUT_FOR_DELIVERY: (S.OUT_FOR_DELIVERY, P.OUT_FOR_DELIVERY),
    K.DELIVERED: (S.DELIVERED, P.DELIVERED),
    K.EXCEPTION: (S.EXCEPTION, P.EXCEPTION),
}
# Where a parcel may be when a delivery code is entered (it has left the station).
DELIVERABLE = {P.IN_TRANSIT, P.ARRIVED, P.OUT_FOR_DELIVERY, P.EXCEPTION, P.DELIVERED}


class TooManyAttempts(ConflictError):
    """Too many wrong delivery codes for a parcel: entry is refused for a while (HTTP 429)."""


# --- Notifications ----------------------------------------------------------------------------------------------------

# (subject, body, where the button goes): "track" is the parcel's tracking page, "order" the buyer's order page.
BUYER_MESSAGES = {
    "handed_over": (gettext_lazy("%(shop)s has packed your order %(number)s"),
                    gettext_lazy("%(shop)s has handed your parcel %(parcel)s to the village station. Your delivery "
                                 "code is on your order page."), "track"),
    "departed": (gettext_lazy("Your parcel %(parcel)s is on its way"),
                 gettext_lazy("Your parcel %(parcel)s from %(shop)s has left the village station for %(city)s."),
                 "track"),
    "out_for_delivery": (gettext_lazy("Your parcel %(parcel)s is out for delivery"),
                         gettext_lazy("Your parcel %(parcel)s from %(shop)s arrives today. Please have your delivery "
                                      "code ready: it is on your order page."), "order"),
    "delivered": (gettext_lazy("Your parcel %(parcel)s is delivered"),
                  gettext_lazy("Your parcel %(parcel)s from %(shop)s is delivered. Enjoy it, and tell others how it "
                               "was by rating the farm."), "order"),
    "exception": (gettext_lazy("A problem with your parcel %(parcel)s"),
                  gettext_lazy("The station reported a problem with your parcel %(parcel)s from %(shop)s: "
                               "%(problem)s."), "track"),
}
LINK_LABELS = {"track": gettext_noop("Track the parcel"), "order": gettext_noop("See the order")}


def track_url(code: str) -> str:
    return f"{settings.SITE_URL}/track/{code}"


def _tell_buyer(parcel: Parcel, kind: str, *, dedupe: str, problem=None) -> None:
    """Write the buyer's notification in the caller's transaction (sent after commit by the outbox).
    Kept as message ids, so the inbox shows it in the buyer's language of the moment; the link is a button."""
    shop_order = parcel.shop_order
    order = shop_order.order
    params = {"parcel": parcel.code, "shop": shop_order.shop.name, "number": order.number,
              "city": parcel.destination_city, "problem": problem or ""}
    subject, body, target = BUYER_MESSAGES[kind]
    link = reverse("logistics:track_parcel", args=[parcel.code]) if target == "track" else order.get_absolute_url()
    notify(recipient=order.buyer, kind=f"parcel_{kind}", link=link, link_label=LINK_LABELS[target],
           subject=Phrase(subject, params), body=Phrase(body, params),
           dedupe_key=f"parcel_{kind}:{parcel.pk}:{dedupe}")


# --- Helpers ----------------------------------------------------------------------------------------------------------

def _require_staff(actor: User) -> None:
    if not (actor.is_authenticated and actor.is_staff):
        raise PermissionDenied(_("Only Farmgate staff can do this."))


def _require_agent(actor: User) -> Station:
    station = selectors.agent_station(actor)
    if station is None:
        raise PermissionDenied(_("Only the agent of a station can do this."))
    return station


def _new_code(prefix: str, length: int, model) -> str:
    for _attempt in range(10):
        code = codes.new_code(prefix, length)
        if not model.objects.filter(code=code).exists():
            return code
    raise ConflictError(_("Please try again."), code="code_taken")


def _save_with_code(obj, prefix: str, length: int) -> None:
    """Save a new row with a fresh unique code; a parallel writer taking the same code makes us draw again."""
    for _attempt in range(5):
        obj.code = _new_code(prefix, length, type(obj))
        try:
            with transaction.atomic():
                obj.save()
            return
        except IntegrityError:
            if not type(obj).objects.filter(code=obj.code).exists():
                raise
    raise ConflictError(_("Please try again."), code="code_taken")


def parse_parcel_code(raw: str) -> str:
    """A typed or scanned parcel code in canonical form; a scanned tracking link gives its last part.

    A code with a wrong check character (a mistyped or misread character) is a ValidationError.
    """
    text = (raw or "").strip()
    if "/" in text:
        text = text.rstrip("/").rsplit("/", 1)[-1]
    code = codes.normalise(text, PARCEL_PREFIX)
    if not code:
        raise ValidationError({"code": [_("Enter the parcel code (it starts with P).")]})
    if not codes.is_valid(code, PARCEL_PREFIX):
        raise ValidationError({"code": [_("“%(code)s” is not a valid parcel code: check each character (it starts "
                                          "with P and has 10 characters).") % {"code": text[:20]}]})
    return code


def _move_parcel(parcel: Parcel, target: str) -> None:
    if target not in PARCEL_TRANSITIONS.get(parcel.status, set()):
        raise ConflictError(
            _("Parcel %(code)s cannot go from “%(current)s” to “%(target)s”.")
            % {"code": parcel.code, "current": parcel.get_status_display(), "target": P(target).label},
            code="illegal_transition")
    parcel.status = target


def _move_shipment(shipment: Shipment, target: str) -> None:
    if target not in SHIPMENT_TRANSITIONS.get(shipment.status, set()):
        raise ConflictError(
            _("Shipment %(code)s cannot go from “%(current)s” to “%(target)s”.")
            % {"code": shipment.code, "current": shipment.get_status_display(), "target": S(target).label},
            code="illegal_transition")
    shipment.status = target


def _record(events: list[TrackingEvent]) -> list[TrackingEvent]:
    created = TrackingEvent.objects.bulk_create(events)
    # Traceability (and anyone else) may add custody records for these moves in the same transaction.
    tracking_events_recorded.send(sender=TrackingEvent, events=created)
    return created


def _lock_parcels(parcel_ids: Iterable[int]) -> list[Parcel]:
    """Lock the parcels' Orders, ShopOrders and the parcels themselves, in that order."""
    ids = sorted(set(parcel_ids))
    order_ids = sorted(set(Parcel.objects.filter(pk__in=ids).values_list("shop_order__order_id", flat=True)))
    list(Order.objects.select_for_update().filter(pk__in=order_ids).order_by("pk").values_list("pk", flat=True))
    list(ShopOrder.objects.select_for_update().filter(parcel__pk__in=ids).order_by("pk").values_list("pk", flat=True))
    return list(Parcel.objects.select_for_update(of=("self",)).filter(pk__in=ids)
                .select_related("shop_order", "shop_order__order", "shop_order__order__buyer", "shop_order__shop")
                .order_by("pk"))


def _clean_photo(upload, *, folder: str) -> str:
    """Check an uploaded photo, store it upright without EXIF (GPS), and return its storage name."""
    images.validate_upload(upload, field="photo")
    upload.seek(0)
    with Image.open(upload) as image:
        content, ext, _size = images.clean_original(image)
    now = timezone.now()
    name = f"{folder}/{now:%Y/%m}/{codes.new_code('', 10).lower()}.{ext}"
    # Stored before commit: a rolled-back write leaves an unreferenced file, never a missing one.
    return default_storage.save(name, content)


# --- Stations and agents ----------------------------------------------------------------------------------------------

@transaction.atomic
def create_station(*, actor: User, name: str, villages: Iterable[Village], cold_store: bool = False,
                   address: str = "", phone: str = "", opening_hours: str = "") -> Station:
    _require_staff(actor)
    villages = list(villages)
    station = Station(name=(name or "").strip(), cold_store=bool(cold_store), address=(address or "").strip(),
                      phone=(phone or "").strip(), opening_hours=(opening_hours or "").strip())
    station.full_clean()
    errors = {}
    if not villages:
        errors["villages"] = [_("Choose at least one village the station serves.")]
    taken = (Station.villages.through.objects.filter(village__in=villages)
             .select_related("village", "station").order_by("village_id"))
    for link in taken:
        errors.setdefault("villages", []).append(
            _("%(village)s is already served by %(station)s.") % {"village": link.village.name,
                                                                  "station": link.station.name})
    if errors:
        raise ValidationError(errors)
    station.save()
    station.villages.set(villages)
    return station


def appointment_problem(user: User) -> str:
    """Why this user cannot be appointed an agent, or "" (one role per user: staff and shop owners keep theirs)."""
    if user.is_staff:
        return _("Staff accounts cannot be appointed agents.")
    if user.owned_shops.exists():
        return _("%(user)s runs a shop; a shop owner cannot also be a station agent.") % {"user": user.username}
    return ""


@transaction.atomic
def appoint_agent(*, actor: User, station: Station, user: User) -> Agent:
    """Make `user` the (active) agent of `station`; their role becomes agent. Appointing again moves them."""
    _require_staff(actor)
    user = User.objects.select_for_update().get(pk=user.pk)
    problem = appointment_problem(user)
    if problem:
        raise ConflictError(problem, code="cannot_be_agent")
    agent, _created = Agent.objects.update_or_create(user=user, defaults={"station": station, "active": True})
    if user.role != User.Role.AGENT:
        user.role = User.Role.AGENT
        user.save(update_fields=["role"])
    return agent


# --- Seller: pack and hand over ---------------------------------------------------------------------------------------

def _lock_seller_part(shop_order: ShopOrder, actor: User) -> ShopOrder:
    Order.objects.select_for_update().filter(pk=shop_order.order_id).values_list("pk", flat=True).first()
    so = ShopOrder.objects.select_for_update().select_related("shop", "shop__village", "order").get(pk=shop_order.pk)
    if not can_manage_shop(actor, so.shop):
        raise PermissionDenied(_("You do not manage this shop."))
    return so


def _resolve_lot(value) -> HarvestLot | None:
    if isinstance(value, HarvestLot):
        return value
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.isdigit():
        return HarvestLot.objects.filter(pk=int(text)).first()
    if not codes.is_valid(text, "L"):
        return None
    return HarvestLot.objects.filter(code=codes.normalise(text, "L")).first()


@transaction.atomic
def pack_shop_order(*, shop_order: ShopOrder, actor: User, lots: Mapping[int, object],
                    weights: Mapping[int, object] | None = None) -> ShopOrder:
    """Name the harvest lot each line is packed from; the part goes accepted -> packed.

    `lots` maps an OrderLine id to a HarvestLot (or its id or code). Each lot must be of the line's
    product (so of this shop), cleared for sale, and still hold enough units for every line packed
    from it. A packed part may be packed again to correct a lot until it is handed over.
    `weights` maps the id of each line sold by weight to its real weight in kg (orders.services.record_weights
    prices it and, once the whole order is weighed, the card is charged the final total).
    """
    so = _lock_seller_part(shop_order, actor)
    # First, so a part that cannot be packed is refused (naming its status) before its lots are looked at;
    # anything refused below rolls the move back with the rest.
    order_services.mark_packed(shop_order=so)
    lines = list(OrderLine.objects.filter(shop_order=so).order_by("id"))
    known = {line.pk for line in lines}
    errors: dict[str, list[str]] = defaultdict(list)
    unknown = [key for key in lots if not str(key).isdigit() or int(key) not in known]
    if unknown:
        errors["lines"].append(_("These lines are not in this order: %(lines)s.")
                               % {"lines": ", ".join(map(str, unknown))})
    chosen: dict[int, HarvestLot] = {}
    for line in lines:
        raw = lots.get(line.pk, lots.get(str(line.pk)))
        if line.product_id is None:
            continue  # the product was deleted after the sale: nothing left to trace it to
        lot = _resolve_lot(raw)
        if raw in (None, ""):
            errors[f"line_{line.pk}"].append(_("Choose the lot “%(title)s” is packed from.") % {"title": line.title})
        elif lot is None or lot.product_id != line.product_id:
            errors[f"line_{line.pk}"].append(_("This lot is not a lot of “%(title)s”.") % {"title": line.title})
        else:
            chosen[line.pk] = lot
    # The pre-harvest rule of shops.stock, the one the product page and checkout follow.
    holds = stock.lot_holds({lot.product_id for lot in chosen.values()})
    held = {h.pk: h for entry in holds.values() for h in entry.held}
    for line_pk, lot in list(chosen.items()):
        if lot.pk in held:
            errors[f"line_{line_pk}"].append(held[lot.pk].message + " " + _("Choose another lot."))
            del chosen[line_pk]
    if errors:
        raise ValidationError(dict(errors))

    lot_ids = sorted({lot.pk for lot in chosen.values()})
    list(HarvestLot.objects.select_for_update().filter(pk__in=lot_ids).order_by("pk").values_list("pk", flat=True))
    # Units already packed from each lot by other live parts (this part's own lines are being re-chosen).
    used = dict(OrderLine.objects.filter(lot_id__in=lot_ids).exclude(shop_order=so)
                .exclude(shop_order__status=SS.CANCELLED).values("lot_id")
                .annotate(units=Sum("quantity")).values_list("lot_id", "units"))
    wanted: dict[int, int] = defaultdict(int)
    for line in lines:
        if line.pk in chosen:
            wanted[chosen[line.pk].pk] += line.quantity
    for line in lines:
        lot = chosen.get(line.pk)
        if lot is not None and used.get(lot.pk, 0) + wanted[lot.pk] > lot.quantity:
            left = max(lot.quantity - used.get(lot.pk, 0), 0)
            errors[f"line_{line.pk}"].append(
                _("Lot %(lot)s has only %(left)d units left to pack.") % {"lot": lot.code, "left": left})
    if errors:
        raise ValidationError(dict(errors))

    for line in lines:
        line.lot = chosen.get(line.pk)
    OrderLine.objects.bulk_update(lines, ["lot"])
    order_services.record_weights(shop_order=so, weights=weights or {})
    return so


@transaction.atomic
def hand_over_shop_order(*, shop_order: ShopOrder, actor: User) -> Parcel:
    """The farm brings a packed part to its village station: packed -> handed_over, and its Parcel is made."""
    so = _lock_seller_part(shop_order, actor)
    # First, so a part that is not packed is refused (naming its status) before anything else is checked;
    # anything refused below rolls the move back with the rest.
    order_services.mark_handed_over(shop_order=so)
    station = selectors.station_for_village(so.shop.village_id)
    if station is None:
        raise ConflictError(_("There is no service station for %(village)s yet, so this order cannot be handed "
                              "over. Please ask Farmgate staff to open one.") % {"village": so.shop.village.name},
                            code="no_station")
    lines = list(OrderLine.objects.filter(shop_order=so).select_related("product").order_by("id"))
    if any(line.product_id and line.lot_id is None for line in lines):
        raise ConflictError(_("Name the lot of every line before handing over."), code="not_packed")
    now = timezone.now()
    parcel = Parcel(
        shop_order=so, station=station, status=P.EXPECTED,
        weight_kg=sum((line.unit_weight_kg * line.quantity for line in lines), Decimal("0")),
        cold_chain=so.cold_chain or any(line.product and line.product.cold_chain for line in lines),
        destination_city=so.order.city[:60], delivery_code=f"{secrets.randbelow(10 ** 6):06d}",
        handed_over_at=now,
    )
    _save_with_code(parcel, PARCEL_PREFIX, PARCEL_CODE_LENGTH)
    parcel.lots.set({line.lot_id for line in lines if line.lot_id})
    _record([TrackingEvent(parcel=parcel, kind=K.HANDED_OVER, occurred_at=now, actor=actor,
                           location=station.name)])
    parcel.shop_order = so
    _tell_buyer(parcel, "handed_over", dedupe="1")
    return parcel


# --- Agent: receive, ship, deliver ------------------------------------------------------------------------------------

@transaction.atomic
def receive_parcel(*, actor: User, code: str) -> Parcel:
    """The agent takes a parcel in at the station, by its typed or scanned code.

    A code that is not valid is a ValidationError; a parcel of another station is not found
    (Parcel.DoesNotExist, a 404); a parcel already received is a ConflictError saying when.
    """
    station = _require_agent(actor)
    code = parse_parcel_code(code)
    found = Parcel.objects.filter(code=code, station=station).values_list("pk", flat=True).first()
    if found is None:
        raise Parcel.DoesNotExist(code)
    (parcel,) = _lock_parcels([found])
    if parcel.status != P.EXPECTED:
        when = parcel.received_at or parcel.updated_at
        raise ConflictError(_("Parcel %(code)s was already received (%(when)s); it is now “%(status)s”.")
                            % {"code": parcel.code, "when": timezone.localtime(when).strftime("%Y-%m-%d %H:%M"),
                               "status": parcel.get_status_display()}, code="already_received")
    now = timezone.now()
    _move_parcel(parcel, P.RECEIVED)
    parcel.received_at = now
    parcel.save(update_fields=["status", "received_at", "updated_at"])
    _record([TrackingEvent(parcel=parcel, kind=K.RECEIVED, occurred_at=now, actor=actor, location=station.name)])
    return parcel


@transaction.atomic
def create_shipment(*, actor: User, destination: str, carrier: str, tracking_number: str = "") -> Shipment:
    station = _require_agent(actor)
    shipment = Shipment(station=station, destination=(destination or "").strip(), carrier=(carrier or "").strip(),
                        tracking_number=(tracking_number or "").strip(), created_by=actor, status=S.OPEN)
    shipment.full_clean(exclude=["code", "created_by", "station"])
    _save_with_code(shipment, SHIPMENT_PREFIX, SHIPMENT_CODE_LENGTH)
    return shipment


def _lock_shipment(shipment: Shipment, actor: User) -> Shipment:
    station = _require_agent(actor)
    locked = Shipment.objects.select_for_update().filter(pk=shipment.pk, station=station).first()
    if locked is None:
        raise Shipment.DoesNotExist(shipment.pk)
    return locked


@transaction.atomic
def add_parcels_to_shipment(*, shipment: Shipment, actor: User, codes: Iterable[str]) -> Shipment:
    """Load received parcels of this station into an open shipment (each code checked)."""
    shipment = _lock_shipment(shipment, actor)
    if shipment.status != S.OPEN:
        raise ConflictError(_("Shipment %(code)s has left; parcels can no longer be added.")
                            % {"code": shipment.code}, code="shipment_departed")
    wanted, errors = [], []
    for raw in codes:
        try:
            wanted.append(parse_parcel_code(raw))
        except ValidationError as exc:
            errors.extend(exc.message_dict["code"])
    if errors:
        raise ValidationError({"parcels": errors})
    if not wanted:
        raise ValidationError({"parcels": [_("Choose at least one parcel.")]})
    found = dict(Parcel.objects.filter(code__in=wanted, station=shipment.station).values_list("code", "pk"))
    missing = [c for c in wanted if c not in found]
    if missing:
        raise ValidationError({"parcels": [_("No parcel %(codes)s at your station.") % {"codes": ", ".join(missing)}]})
    parcels = _lock_parcels(found.values())
    now = timezone.now()
    events = []
    for parcel in parcels:
        if parcel.shipment_id == shipment.pk:
            continue  # already loaded: adding twice changes nothing
        if parcel.status != P.RECEIVED:
            raise ConflictError(_("Parcel %(code)s is “%(status)s”; only parcels received at the station can be "
                                  "loaded.") % {"code": parcel.code, "status": parcel.get_status_display()},
                                code="not_received")
        _move_parcel(parcel, P.IN_SHIPMENT)
        parcel.shipment = shipment
        events.append(TrackingEvent(parcel=parcel, shipment=shipment, kind=K.LOADED, occurred_at=now, actor=actor,
                                    location=shipment.station.name))
    if events:
        Parcel.objects.bulk_update(parcels, ["status", "shipment", "updated_at"])
        _record(events)
    cold = shipment.parcels.filter(cold_chain=True).exists()
    if cold != shipment.cold_chain:
        shipment.cold_chain = cold
        shipment.save(update_fields=["cold_chain", "updated_at"])
    return shipment


@transaction.atomic
def remove_parcel_from_shipment(*, shipment: Shipment, actor: User, code: str) -> Shipment:
    """Take a parcel off a shipment that has not left yet; it is back to waiting at the station."""
    shipment = _lock_shipment(shipment, actor)
    code = parse_parcel_code(code)
    found = shipment.parcels.filter(code=code).values_list("pk", flat=True).first()
    if found is None:
        raise ValidationError({"parcels": [_("Parcel %(code)s is not in this shipment.") % {"code": code}]})
    if shipment.status != S.OPEN:
        raise ConflictError(_("Shipment %(code)s has left; its parcels can no longer be changed.")
                            % {"code": shipment.code}, code="shipment_departed")
    (parcel,) = _lock_parcels([found])
    _move_parcel(parcel, P.RECEIVED)
    parcel.shipment = None
    parcel.save(update_fields=["status", "shipment", "updated_at"])
    shipment.cold_chain = shipment.parcels.filter(cold_chain=True).exists()
    shipment.save(update_fields=["cold_chain", "updated_at"])
    return shipment


@transaction.atomic
def record_shipment_event(*, shipment: Shipment, actor: User, kind: str, location: str = "", note: str = "",
                          problem: str = "", photo=None, parcel_codes: Iterable[str] | None = None
                          ) -> list[TrackingEvent]:
    """One event on a shipment, fanned out to its parcels in this one transaction.

    departed: the parcels go in transit and their ShopOrders handed_over -> in_transit.
    arrived / out_for_delivery: the parcels follow. delivered: the parcels are delivered and their
    ShopOrders in_transit -> delivered (completed later by the buyer's confirmation or automatically).
    exception (damaged, delayed, lost; a note, an optional photo): for every parcel, or only for
    `parcel_codes`; parcels with their own problem are left out of later shipment-wide moves and are
    delivered one by one with their code. Delivered parcels are never moved again.
    """
    if kind not in SHIPMENT_EVENT_KINDS:
        raise ValidationError({"kind": [_("Choose departed, arrived, out for delivery, delivered or exception.")]})
    location, note = (location or "").strip(), (note or "").strip()
    if len(location) > 120:
        raise ValidationError({"location": [_("Keep the place under 120 characters.")]})
    if len(note) > 300:
        raise ValidationError({"note": [_("Keep the note under 300 characters.")]})
    if kind == K.EXCEPTION:
        if problem not in TrackingEvent.Problem.values:
            raise ValidationError({"problem": [_("Say what happened: damaged, delayed, lost or other.")]})
    else:
        problem = ""
    subset = None
    if parcel_codes:
        if kind != K.EXCEPTION:
            raise ValidationError({"parcels": [_("Only a problem can be reported for some parcels of a shipment.")]})
        subset = set()
        for raw in parcel_codes:
            subset.add(parse_parcel_code(raw))
    shipment = _lock_shipment(shipment, actor)
    shipment_target, parcel_target = SHIPMENT_EVENT_KINDS[kind]
    if shipment.status == S.OPEN and kind != K.DEPARTED:
        raise ConflictError(_("Shipment %(code)s has not left yet: record its departure first.")
                            % {"code": shipment.code}, code="not_departed")

    ids = list(shipment.parcels.values_list("pk", flat=True))
    if kind == K.DEPARTED and not ids:
        raise ConflictError(_("Load at least one parcel before the shipment leaves."), code="empty_shipment")
    parcels = _lock_parcels(ids)
    if subset is not None:
        unknown = subset - {p.code for p in parcels}
        if unknown:
            raise ValidationError({"parcels": [_("Not in this shipment: %(codes)s.") % {"codes": ", ".join(
                sorted(unknown))}]})
        moving = [p for p in parcels if p.code in subset and p.status != P.DELIVERED]
    else:
        # Parcels with a problem of their own stay put, unless the whole shipment had the problem.
        whole_problem = shipment.status == S.EXCEPTION
        stays = {P.DELIVERED} if whole_problem or kind == K.EXCEPTION else {P.DELIVERED, P.EXCEPTION}
        _move_shipment(shipment, shipment_target)
        moving = [p for p in parcels if p.status not in stays]
    if not moving:
        raise ConflictError(_("No parcel of this shipment can take this event."), code="nothing_to_move")

    now = timezone.now()
    photo_name = _clean_photo(photo, folder="tracking") if photo else ""
    where = location or (shipment.station.name if kind == K.DEPARTED else "")
    events = []
    for parcel in moving:
        _move_parcel(parcel, parcel_target)
        if parcel_target == P.DELIVERED:
            parcel.delivered_at = now
        events.append(TrackingEvent(parcel=parcel, shipment=shipment, kind=kind, problem=problem, occurred_at=now,
                                    location=where, actor=actor, note=note, photo=photo_name))
    # Through orders: a part that can no longer move (cancelled) stops the whole event.
    if kind == K.DEPARTED:
        order_services.mark_in_transit(shop_orders=[parcel.shop_order for parcel in moving])
    elif kind == K.DELIVERED:
        order_services.mark_delivered(shop_orders=[parcel.shop_order for parcel in moving])
    Parcel.objects.bulk_update(moving, ["status", "delivered_at", "updated_at"])
    if kind == K.DEPARTED:
        shipment.departed_at = now
    shipment.save(update_fields=["status", "departed_at", "updated_at"])
    created = _record(events)
    problem_label = TrackingEvent.Problem(problem).label if problem else ""
    for parcel, event in zip(moving, created, strict=True):
        if kind in BUYER_MESSAGES:
            _tell_buyer(parcel, kind, dedupe=str(event.pk), problem=problem_label)
    return created


def _failures_key(parcel_id: int) -> str:
    return f"logistics:delivery-code-failures:{parcel_id}"


def _check_delivery_code(parcels: list[Parcel], code: str) -> Parcel:
    """The parcel whose delivery code was entered; a wrong code counts against each candidate.

    The count lives in the shared cache for DELIVERY_CODE_LOCK_MINUTES. If the cache is down the
    count is lost and entry stays open: the six-digit code is still needed.
    """
    code = "".join((code or "").split())
    if not (len(code) == 6 and code.isdigit()):
        raise ValidationError({"code": [_("Enter the 6-digit delivery code.")]})
    keys = {p.pk: _failures_key(p.pk) for p in parcels}
    counts = cache.get_many(list(keys.values()))
    if any((counts.get(k) or 0) >= DELIVERY_CODE_MAX_FAILURES for k in keys.values()):
        raise TooManyAttempts(_("Too many wrong codes were entered. Please try again in %(minutes)d minutes.")
                              % {"minutes": settings.DELIVERY_CODE_LOCK_MINUTES}, code="too_many_attempts")
    for parcel in parcels:
        if secrets.compare_digest(parcel.delivery_code, code):
            cache.delete(keys[parcel.pk])
            return parcel
    timeout = settings.DELIVERY_CODE_LOCK_MINUTES * 60
    worst = 0
    for key in keys.values():
        cache.add(key, 0, timeout=timeout)
        try:
            worst = max(worst, cache.incr(key) or 0)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=timeout)
            worst = max(worst, 1)
    left = max(DELIVERY_CODE_MAX_FAILURES - worst, 0)
    if left == 0:
        message = _("This delivery code is wrong. Too many wrong codes: please try again in %(minutes)d minutes.") % {
            "minutes": settings.DELIVERY_CODE_LOCK_MINUTES}
    else:
        message = _("This delivery code is wrong. Ask the buyer for the 6 digits on their order page "
                    "(%(left)d tries left).") % {"left": left}
    raise ValidationError({"code": [message]})


def _require_on_its_way(parcel: Parcel) -> None:
    if parcel.status not in DELIVERABLE:
        raise ConflictError(_("Parcel %(code)s has not left the station yet (it is “%(status)s”).")
                            % {"code": parcel.code, "status": parcel.get_status_display()}, code="not_on_its_way")


def _finish_delivery(parcel: Parcel, actor: User, now, *, at_station: bool = False) -> None:
    """Parcel delivered (if it was not yet), its ShopOrder delivered then completed through orders."""
    if not at_station:
        _require_on_its_way(parcel)
    so = parcel.shop_order
    if parcel.status != P.DELIVERED:
        _move_parcel(parcel, P.DELIVERED)
        parcel.delivered_at = now
        parcel.save(update_fields=["status", "delivered_at", "updated_at"])
        event = _record([TrackingEvent(parcel=parcel, shipment_id=parcel.shipment_id,
                                       kind=K.DELIVERED, occurred_at=now, actor=actor,
                                       location=parcel.destination_city, note=_("Delivery code confirmed."))])[0]
        _tell_buyer(parcel, "delivered", dedupe=str(event.pk))
    order_services.mark_delivered(shop_orders=[so])
    if so.status == SS.DELIVERED:
        order_services.complete_shop_order(shop_order=so)


@transaction.atomic
def deliver_parcel(*, parcel: Parcel, actor: User, code: str, cash_collected: bool = False) -> Parcel:
    """The agent (or courier) enters the buyer's 6-digit code: the parcel is delivered and its part completed.

    For a cash-on-delivery order not yet paid, the cash must be collected in the same step
    (`cash_collected`), recorded through orders.services.record_cash_payment.
    """
    station = _require_agent(actor)
    if parcel.station_id != station.pk:
        raise Parcel.DoesNotExist(parcel.pk)
    (parcel,) = _lock_parcels([parcel.pk])
    _require_on_its_way(parcel)
    if parcel.shop_order.status == SS.COMPLETED:
        raise ConflictError(_("Parcel %(code)s is already delivered and confirmed.") % {"code": parcel.code},
                            code="already_delivered")
    _check_delivery_code([parcel], code)
    order = parcel.shop_order.order
    if order.payment_method == Order.PaymentMethod.COD and order.status == Order.Status.PENDING_PAYMENT:
        if not cash_collected:
            raise ConflictError(_("Collect ¥%(amount)s in cash first (cash on delivery), then tick “cash collected”.")
                                % {"amount": cash_due(order)}, code="cash_not_collected")
        _collect_cash(parcel, actor)
    _finish_delivery(parcel, actor, timezone.now())
    return parcel


@transaction.atomic
def hand_over_at_station(*, parcel: Parcel, actor: User, code: str) -> Parcel:
    """The buyer collects, at the station that received it, a parcel that never travels (a villager's order of
    produce from a farm this station serves): their delivery code hands it over and completes its part.

    Whether the order is collected here is the caller's to decide (stations knows where a villager collects);
    this checks the parcel is at the agent's station and has not left it. Cash is the caller's, as with
    deliver_parcel's `cash_collected`."""
    station = _require_agent(actor)
    if parcel.station_id != station.pk:
        raise Parcel.DoesNotExist(parcel.pk)
    (parcel,) = _lock_parcels([parcel.pk])
    if parcel.status != P.RECEIVED:
        raise ConflictError(_("Parcel %(code)s is not waiting at the station (it is “%(status)s”).")
                            % {"code": parcel.code, "status": parcel.get_status_display()}, code="not_at_station")
    _check_delivery_code([parcel], code)
    _finish_delivery(parcel, actor, timezone.now(), at_station=True)
    return parcel


def cash_due(order: Order):
    """What a cash-on-delivery order costs, as orders.services.record_cash_payment records it (uses a prefetch)."""
    return sum((so.total for so in order.shop_orders.all() if so.status != SS.CANCELLED), ZERO)


def _collect_cash(parcel: Parcel, actor: User) -> Payment:
    order = parcel.shop_order.order
    already = order.payments.filter(provider=Payment.Provider.CASH, status=Payment.Status.SUCCEEDED).exists()
    payment = order_services.record_cash_payment(order=order, agent=actor)
    if not already:
        _record([TrackingEvent(parcel=parcel, shipment_id=parcel.shipment_id,
                               kind=K.CASH_COLLECTED, occurred_at=timezone.now(), actor=actor,
                               location=parcel.destination_city)])
    return payment


@transaction.atomic
def collect_cash(*, parcel: Parcel, actor: User) -> Payment:
    """The agent took the cash for a cash-on-delivery parcel. A repeat returns the first record."""
    station = _require_agent(actor)
    if parcel.station_id != station.pk:
        raise Parcel.DoesNotExist(parcel.pk)
    (parcel,) = _lock_parcels([parcel.pk])
    _require_on_its_way(parcel)
    return _collect_cash(parcel, actor)


@transaction.atomic
def confirm_delivery_by_buyer(*, order: Order, buyer: User, code: str, shop_order: ShopOrder | None = None
                              ) -> ShopOrder:
    """The buyer confirms receipt with their delivery code; the part is completed (the order with its last part).

    Without `shop_order`, the code is matched among the order's parcels that are on their way or delivered.
    """
    if order.buyer_id != buyer.pk:
        raise PermissionDenied(_("This is not your order."))
    candidates = Parcel.objects.filter(shop_order__order=order, status__in=DELIVERABLE).exclude(
        shop_order__status=SS.COMPLETED)
    if shop_order is not None:
        candidates = candidates.filter(shop_order=shop_order)
    ids = list(candidates.values_list("pk", flat=True))
    if not ids:
        raise ConflictError(_("Nothing in this order is on its way to you yet, or it is all confirmed already."),
                            code="nothing_to_confirm")
    parcels = _lock_parcels(ids)
    parcel = _check_delivery_code(parcels, code)
    _finish_delivery(parcel, buyer, timezone.now())
    return ShopOrder.objects.get(pk=parcel.shop_order_id)


def parts_to_complete(*, now=None):
    """Delivered parts whose parcel arrived DELIVERY_AUTO_COMPLETE_DAYS ago or more.

    A cash-on-delivery order whose cash is not recorded yet waits: its parts complete once it is paid.
    """
    now = now or timezone.now()
    due = now - timedelta(days=settings.DELIVERY_AUTO_COMPLETE_DAYS)
    return (ShopOrder.objects.filter(status=SS.DELIVERED, parcel__delivered_at__lte=due)
            .exclude(order__payment_method=Order.PaymentMethod.COD, order__status=Order.Status.PENDING_PAYMENT))


def complete_overdue_deliveries(*, now=None, limit: int = 500) -> int:
    """Complete the parts delivered long enough ago; returns how many. Each in its own short transaction."""
    done = 0
    for pk in list(parts_to_complete(now=now).order_by("pk").values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            so = parts_to_complete(now=now).filter(pk=pk).first()
            if so is not None:
                order_services.complete_shop_order(shop_order=so)
                done += 1
    return done


# --- Reviews ----------------------------------------------------------------------------------------------------------

@transaction.atomic
def create_review(*, shop_order: ShopOrder, buyer: User, rating: int, text: str = "", photo=None) -> Review:
    """The buyer rates a delivered part once: 1 to 5 stars, words, an optional photo."""
    so = ShopOrder.objects.select_for_update().select_related("order").get(pk=shop_order.pk)
    if so.order.buyer_id != buyer.pk:
        raise PermissionDenied(_("This is not your order."))
    errors = {}
    try:
        rating = int(rating)
    except (TypeError, ValueError):
        rating = 0
    if not 1 <= rating <= 5:
        errors["rating"] = [_("Choose 1 to 5 stars.")]
    text = (text or "").strip()
    if len(text) > 2000:
        errors["text"] = [_("Keep the review under 2000 characters.")]
    if errors:
        raise ValidationError(errors)
    if so.status not in (SS.DELIVERED, SS.COMPLETED):
        raise ConflictError(_("You can rate this order once it is delivered."), code="not_delivered")
    if Review.objects.filter(shop_order=so).exists():
        raise ConflictError(_("You have already rated this order."), code="already_reviewed")
    review = Review(shop_order=so, buyer=buyer, rating=rating, text=text)
    if photo:
        review.photo.name = _clean_photo(photo, folder="reviews")
    review.save()
    count_product_ratings(so.lines.values_list("product_id", flat=True))  # their pages: stars and reviews
    shop_page_changed(so.shop_id)  # the shop's stars
    return review


def count_product_ratings(product_ids: Iterable[int | None]) -> None:
    """Count the stars of these products again and store them on the products (after a review is written or
    removed): the product page reads them from there."""
    ids = [pk for pk in dict.fromkeys(product_ids) if pk is not None]
    ratings = selectors.product_ratings(ids)
    shop_services.record_product_ratings({pk: (rating.average, rating.count) for pk, rating in ratings.items()})


@transaction.atomic
def reply_to_review(*, review: Review, actor: User, text: str) -> Review:
    """A manager of the shop answers a review, once."""
    review = Review.objects.select_for_update().select_related("shop_order__shop").get(pk=review.pk)
    if not can_manage_shop(actor, review.shop_order.shop):
        raise PermissionDenied(_("You do not manage this shop."))
    text = (text or "").strip()
    if not text:
        raise ValidationError({"reply": [_("Write your reply.")]})
    if len(text) > 2000:
        raise ValidationError({"reply": [_("Keep the reply under 2000 characters.")]})
    if review.reply:
        raise ConflictError(_("This review already has your reply."), code="already_replied")
    review.reply, review.replied_at = text, timezone.now()
    review.save(update_fields=["reply", "replied_at"])
    for product_id in set(review.shop_order.lines.values_list("product_id", flat=True)):
        product_changed(product_id=product_id)  # its page shows the review with the reply
    return review


# --- The agent's queued actions ---------------------------------------------------------------------------------------

class ActionRefused(Exception):
    """A queued action the station cannot apply; `detail` says why, in words for the agent."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@transaction.atomic
def apply_station_action(*, agent: User, client_id: str, kind: str, args: Mapping, apply: Callable[[], str]
                         ) -> tuple[StationAction, bool]:
    """Apply one action the agent queued, at most once: (its record, whether this call applied or refused it).

    The record is inserted first, under the unique (agent, client_id): a concurrent call with the same id
    waits on that key, then finds the record and returns it with False, as does any later replay. `apply`
    runs in a savepoint and returns what it did; an ActionRefused undoes its writes and the refusal is
    recorded instead, so a replay is refused the same way.
    """
    _require_agent(agent)
    action, created = StationAction.objects.get_or_create(
        agent=agent, client_id=client_id,
        defaults={"kind": kind[:20], "args": dict(args), "status": StationAction.Status.REJECTED})
    if not created:
        return action, False
    try:
        with transaction.atomic():
            detail = apply()
        action.status, action.detail = StationAction.Status.APPLIED, str(detail)[:500]
    except ActionRefused as exc:
        action.status, action.detail = StationAction.Status.REJECTED, str(exc.detail)[:500]
    action.save(update_fields=["status", "detail"])
    return action, True
