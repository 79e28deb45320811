"""Buying at the village station: the agent orders for a villager without a smartphone, who pays in cash and picks
the parcels up at the station with the delivery code sent by SMS.

- The villager is an ordinary buyer account found or made by mobile number (accounts.services); their address for
  these orders is the station's pickup address: the province, city and county of the station's first village, and
  the line "<station name> · <station address>". A StationOrder records that the order is collected at the station
  (and at which): the agent's list, the pickup and the SMS read it, never the address text.
- The order is made by orders.services.create_order, cash on delivery (the delivery is the pickup), stock reserved
  by shops.stock in the same transaction: a line that cannot be served is a ConflictError and nothing is saved.
- The catalogue offered is the produce of farms a station serves. A parcel from another station's farm leaves in a
  shipment and the carrier delivers it to this station; a parcel from a farm this station serves is handed over
  and received here and never leaves (logistics.services.hand_over_at_station).
- Pickup: the agent enters the villager's code, which confirms the delivery on the villager's behalf
  (logistics.services.confirm_delivery_by_buyer, or hand_over_at_station for a parcel received here, with their
  limit on wrong codes), and records the cash in the same transaction (orders.services.record_cash_payment; the
  ledger books it to this station's drawer).
- SMS (stations.sms, through the notifications outbox and SMS_BACKEND): the order placed, when it is placed; each
  parcel ready for pickup, when the carrier records it delivered to the station or the agent receives it here.
"""
from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.dispatch import receiver
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.codes import mobile_number
from accounts.models import Address, User
from accounts.services import create_address, find_or_create_buyer_by_phone
from core.errors import ConflictError
from core.money import quantize
from logistics import flags as logistics_flags
from logistics import services as logistics_services
from logistics.models import Parcel, Station, TrackingEvent
from logistics.selectors import agent_station
from logistics.signals import tracking_events_recorded
from notifications.services import notify
from orders import selectors as order_selectors
from orders import services as order_services
from orders import shipping
from orders.models import ZERO, Order, OrderLine, Payment, ShopOrder
from orders.states import awaits_cash
from shops import stock
from shops.models import Product
from shops.search import filter_by_query

from . import sms
from .models import StationOrder

# The villager's language when their account is made here: the SMS reach basic phones in Chinese villages.
VILLAGER_LANGUAGE = "zh-hans"
MAX_LINES = 30
SEARCH_RESULTS = 20
LINE_SEPARATOR = " · "


# --- The station as a pickup address ---------------------------------------------------------------------------------

def agent_station_or_refuse(user: User) -> Station:
    """The station `user` runs as an active agent; PermissionDenied (HTTP 403) for anyone else."""
    station = agent_station(user)
    if station is None:
        raise PermissionDenied(_("Only the agent of a station can order for a villager."))
    return station


def pickup_line(station: Station) -> str:
    """The street line of the station's pickup address, as orders copy it."""
    address = " ".join(station.address.split())
    return (f"{station.name}{LINE_SEPARATOR}{address}" if address else station.name)[:200]


def pickup_address(station: Station) -> dict[str, str]:
    """The station as a delivery address (accounts.Address fields, without name and phone)."""
    village = station.villages.order_by("pk").first()
    if village is None:
        raise ConflictError(_("Your station serves no village yet, so it has no address to deliver to. Please ask "
                              "Farmgate staff."), code="station_without_village")
    return {"province": village.province[:30], "city": village.city[:30], "district": village.county[:30],
            "line": pickup_line(station)}


def station_orders(user: User) -> QuerySet[Order]:
    """The orders to collect at the user's station, newest first; nothing for anyone but its active agent."""
    station = agent_station(user)
    if station is None:
        return Order.objects.none()
    return (Order.objects.filter(station_pickup__station=station).select_related("buyer", "station_pickup")
            .order_by("-created_at", "-id"))


def station_order_detail(user: User) -> QuerySet[Order]:
    """station_orders with what the order page and the API show, in a fixed number of queries."""
    return station_orders(user).prefetch_related(Prefetch(
        "shop_orders", queryset=ShopOrder.objects.select_related("shop", "parcel").order_by("id")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("id")))))


def pickup_stations_of(orders: Iterable[Order]) -> dict[int, Station]:
    """Order id -> the station where it is collected, for those of `orders` placed for a villager (one query)."""
    ids = [o.pk for o in orders]
    if not ids:
        return {}
    return {record.order_id: record.station
            for record in StationOrder.objects.filter(order_id__in=ids).select_related("station")}


def pickup_station_of(order: Order) -> Station | None:
    """The station where `order` is collected, or None for an order delivered anywhere else."""
    return pickup_stations_of([order]).get(order.pk)


# --- The catalogue the agent picks from ------------------------------------------------------------------------------

def _sold_through(station: Station) -> Q:
    """Products of farms whose village a station serves: their parcels reach this one, or are received here."""
    return Q(Exists(Station.villages.through.objects.filter(village_id=OuterRef("shop__village_id"))))


def catalogue_for(station: Station) -> QuerySet[Product]:
    """Products the agent may order for a villager now: orderable, and sold through the station."""
    return stock.orderable(Product.objects.select_related("shop", "shop__village")).filter(_sold_through(station))


def search_catalogue(station: Station, query: str = "", *, limit: int = SEARCH_RESULTS) -> list[Product]:
    """Up to `limit` products of the station's catalogue for a query (Chinese, pinyin or English), or the newest."""
    products = catalogue_for(station)
    query = (query or "").strip()
    products = filter_by_query(products, query) if query else products.order_by("-created_at", "-id")
    return list(products[:limit])


@dataclass
class QuotedLine:
    product: Product
    quantity: int

    @property
    def line_total(self) -> Decimal:
        return quantize(self.product.price * self.quantity)


@dataclass
class Quote:
    """What an order for these lines comes to, delivered to the station: per shop, shipping as at checkout."""

    lines: list[QuotedLine]
    shipping_total: Decimal = ZERO
    items_total: Decimal = ZERO
    weighed: bool = False
    by_shop: dict[int, list[QuotedLine]] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        return self.items_total + self.shipping_total

    @property
    def needed(self) -> dict[int, int]:
        return {line.product.pk: line.quantity for line in self.lines}


def _parse_lines(lines: Iterable[Mapping]) -> dict[int, int]:
    """{"product", "quantity"} items -> product id -> units (repeated products added up), or ValidationError."""
    wanted: dict[int, int] = defaultdict(int)
    errors: list[str] = []
    for item in lines:
        try:
            product_id, quantity = int(item.get("product")), int(item.get("quantity"))
        except (AttributeError, TypeError, ValueError):
            errors.append(_("Each line needs a product id and a whole number of units."))
            continue
        if not 1 <= quantity <= order_services.MAX_QUANTITY:
            errors.append(_("Enter a quantity between 1 and %(max)d.") % {"max": order_services.MAX_QUANTITY})
            continue
        wanted[product_id] += quantity
    if errors:
        raise ValidationError({"lines": errors})
    if not wanted:
        raise ValidationError({"lines": [_("Choose at least one product.")]})
    if len(wanted) > MAX_LINES:
        raise ValidationError({"lines": [_("Choose at most %(max)d products in one order.") % {"max": MAX_LINES}]})
    return dict(wanted)


def quote_lines(*, station: Station, lines: Iterable[Mapping]) -> Quote:
    """Check the lines against the station's catalogue and price them, shipping to the station included.

    A product that is not offered to this station is a ValidationError on `lines`; one that cannot be ordered
    now (off sale, below its minimum, held by the pre-harvest rule, not enough stock) a ConflictError naming it.
    """
    wanted = _parse_lines(lines)
    all_products = {p.pk: p for p in Product.objects.filter(pk__in=list(wanted)).select_related("shop__village")}
    unknown = [pk for pk in wanted if pk not in all_products]
    if unknown:
        raise ValidationError({"lines": [_("No product %(ids)s.") % {"ids": ", ".join(map(str, sorted(unknown)))}]})
    offered = set(Product.objects.filter(_sold_through(station), pk__in=list(wanted)).values_list("pk", flat=True))
    elsewhere = [all_products[pk].title for pk in sorted(wanted) if pk not in offered]
    if elsewhere:
        raise ValidationError({"lines": [_("Not sold through your station (a farm your station serves, or one no "
                                           "station serves yet): %(products)s.") % {"products": ", ".join(elsewhere)}]})
    holds = stock.lot_holds(list(wanted))
    for pk, quantity in wanted.items():
        product = all_products[pk]
        problem = order_selectors.line_problem(product, quantity, check_stock=False, holds=holds.get(pk))
        if problem:
            raise ConflictError(problem, code="not_available")
        problem = order_selectors.line_problem(product, quantity)
        if problem:
            raise ConflictError(problem, code="out_of_stock")
    destination = pickup_address(station)["province"]
    rates = shipping.current_rates()
    quote = Quote(lines=[QuotedLine(all_products[pk], qty) for pk, qty in sorted(wanted.items())])
    for line in quote.lines:
        quote.by_shop.setdefault(line.product.shop_id, []).append(line)
    for shop_lines in quote.by_shop.values():
        shop = shop_lines[0].product.shop
        quote.shipping_total += shipping.quote(origin_province=shop.village.province, destination_province=destination,
                                               lines=[(ln.product, ln.quantity) for ln in shop_lines], rates=rates).fee
        quote.items_total += sum((ln.line_total for ln in shop_lines), ZERO)
    quote.weighed = any(line.product.is_weighed for line in quote.lines)
    return quote


# --- Placing the order -----------------------------------------------------------------------------------------------

def _villager_address(villager: User, station: Station) -> Address:
    """The villager's address at this station: reused when they have it, saved the first time."""
    place = pickup_address(station)
    found = Address.objects.filter(user=villager, **place).order_by("pk").first()
    if found is not None:
        return found
    return create_address(user=villager, name=(villager.display_name or villager.username)[:60],
                          phone=villager.phone, **place)


def _rename(exc: ValidationError) -> ValidationError:
    names = {"phone": "buyer_phone", "name": "buyer_name"}
    return ValidationError({names.get(key, key): value for key, value in exc.message_dict.items()})


@transaction.atomic
def place_order_for_villager(*, agent: User, buyer_phone: str, buyer_name: str, lines: Iterable[Mapping]
                             ) -> Order:
    """The agent orders for a villager: cash on delivery at the station, stock reserved, the farms and the villager
    told. The villager's account is found by mobile number or made (once per number). Bad input is a ValidationError
    (buyer_phone, buyer_name, lines); a line that cannot be served a ConflictError, and then nothing is saved."""
    station = agent_station_or_refuse(agent)
    lines = list(lines)
    try:
        mobile_number(buyer_phone)
    except ValidationError as exc:
        errors = _rename(exc).message_dict
        try:
            _parse_lines(lines)
        except ValidationError as more:
            errors.update(more.message_dict)
        raise ValidationError(errors) from None
    quote = quote_lines(station=station, lines=lines)
    try:
        villager, _created = find_or_create_buyer_by_phone(phone=buyer_phone, name=buyer_name,
                                                           language=VILLAGER_LANGUAGE)
    except ValidationError as exc:
        raise _rename(exc) from None
    address = _villager_address(villager, station)
    order = order_services.create_order(
        buyer=villager, address=address, payment_method=Order.PaymentMethod.COD,
        lines=[(line.product, line.quantity, line.product.price) for line in quote.lines])
    StationOrder.objects.create(order=order, station=station, placed_by=agent)
    order_services.announce_order_to_shops(order=order)
    params = {"number": order.number, "total": order.total, "station": station.name}
    notify(recipient=villager, kind="station_order_placed", channels=("sms",), link="",
           subject=lambda: _("Order %(number)s received") % params,
           body=lambda: sms.order_placed(**params), dedupe_key=f"station_order_placed:{order.pk}")
    # Stock last, as checkout does: the product rows stay locked from their UPDATE until commit.
    stock.reserve(quote.needed, in_cart=False)
    return order


# --- Cash and pickup -------------------------------------------------------------------------------------------------

def _station_order(agent: User, order: Order) -> Order:
    agent_station_or_refuse(agent)
    found = station_orders(agent).filter(pk=order.pk).first()
    if found is None:
        raise Order.DoesNotExist(order.pk)
    return found


def cash_due(order: Order) -> Decimal:
    """What the villager pays in cash: every part not cancelled, as orders.services.record_cash_payment records it."""
    return sum((so.total for so in order.shop_orders.all() if so.status != ShopOrder.Status.CANCELLED), ZERO)


def _waiting_here(parcel: Parcel, station_id: int | None) -> bool:
    """Received at the station where the villager collects it, from a farm this station serves."""
    return parcel.status == Parcel.Status.RECEIVED and parcel.station_id == station_id


def parcels_to_hand_over(order: Order) -> list[Parcel]:
    """The order's parcels the villager may take now (delivered to the station, on their last leg, or received
    here from a farm of this station; not yet confirmed); uses the order page's prefetch."""
    record = getattr(order, "station_pickup", None)
    station_id = record.station_id if record is not None else None
    parcels = [getattr(so, "parcel", None) for so in order.shop_orders.all()]
    return [p for p in parcels
            if p is not None and (logistics_flags.can_deliver(p) or _waiting_here(p, station_id))]


@transaction.atomic
def collect_cash(*, agent: User, order: Order) -> Payment:
    """The villager pays at the station before the parcels arrive. A repeat returns the first record."""
    order = _station_order(agent, order)
    return order_services.record_cash_payment(order=order, agent=agent)


@transaction.atomic
def hand_over_to_villager(*, agent: User, order: Order, code: str, cash_collected: bool = False) -> ShopOrder:
    """The villager picks a parcel up with its delivery code, confirmed on their behalf; a cash order not yet paid
    is paid in the same step (`cash_collected`). A wrong code is a ValidationError on `code` (and counts towards
    the parcel's limit of wrong codes); an order of another station is not found."""
    order = _station_order(agent, order)
    if awaits_cash(order):
        if not cash_collected:
            amount = cash_due(Order.objects.prefetch_related("shop_orders").get(pk=order.pk))
            raise ConflictError(_("Collect ¥%(amount)s in cash first, then tick the box that says you have.")
                                % {"amount": amount}, code="cash_not_collected")
        order_services.record_cash_payment(order=order, agent=agent)
    # The code is checked here; a wrong one rolls the cash record back with everything else.
    station = order.station_pickup.station
    local = [p for p in Parcel.objects.filter(shop_order__order=order).select_related("shop_order")
             if _waiting_here(p, station.pk)]
    travelled = Parcel.objects.filter(shop_order__order=order, status__in=logistics_services.DELIVERABLE).exclude(
        shop_order__status=ShopOrder.Status.COMPLETED).exists()
    digits = "".join((code or "").split())
    match = next((p for p in local if secrets.compare_digest(p.delivery_code, digits)), None)
    if match is not None or (local and not travelled):
        # A wrong code with only parcels received here counts against the first of them.
        parcel = logistics_services.hand_over_at_station(parcel=match or local[0], actor=agent, code=code)
        return ShopOrder.objects.get(pk=parcel.shop_order_id)
    return logistics_services.confirm_delivery_by_buyer(order=order, buyer=order.buyer, code=code)


# --- SMS: the parcel is at the station -------------------------------------------------------------------------------

@receiver(tracking_events_recorded, dispatch_uid="stations.assisted.parcel_ready_for_pickup")
def tell_villager_parcel_ready(sender, *, events: list[TrackingEvent], **kwargs) -> None:
    """A parcel reached the station where its order is collected: its code goes to the buyer by SMS. It reached it
    when a carrier delivered it there, or when the agent received it there from a farm the station serves. The
    delivered event of the pickup itself (at the station that received it, or confirmed by the buyer's code)
    sends nothing."""
    K = TrackingEvent.Kind
    arrived = [e for e in events if e.kind in (K.DELIVERED, K.RECEIVED)]
    if not arrived:
        return
    parcels = {p.pk: p for p in Parcel.objects.filter(pk__in=[e.parcel_id for e in arrived])
               .select_related("shop_order__order__buyer")}
    stations = pickup_stations_of({p.shop_order.order for p in parcels.values()})
    for event in arrived:
        parcel = parcels[event.parcel_id]
        order = parcel.shop_order.order
        station = stations.get(order.pk)
        if station is None or event.actor_id == order.buyer_id:
            continue
        received_here = parcel.station_id == station.pk
        if (event.kind == K.RECEIVED) != received_here:
            continue  # received at a farm's other station, or the pickup of a parcel received here
        params = {"number": order.number, "code": parcel.delivery_code, "station": station.name}
        notify(recipient=order.buyer, kind="station_parcel_ready", channels=("sms",), link="",
               subject=gettext_lazy("Your parcel is at the station"),
               body=lambda params=params: sms.ready_for_pickup(**params),
               dedupe_key=f"station_parcel_ready:{parcel.pk}")
