"""Demo stations, the demo agent, and parcels in every state, made through the real services.

One station per demo village; the demo user `agent` runs the station of 国路夼村 (Guoluku, Qixia), where
buyer2's cash-on-delivery orders from the village's farms are packed from named lots, handed over and
moved on: one parcel expected, one received, one loaded on an open shipment, a shipment in transit,
one arrived at the hub, one out for delivery (cash still to collect), one delivered, one delivered and
confirmed with its code, one with a problem reported. Idempotent: stations are found by name, and the
parcels are made only while the agent's station has none.
"""
from django.db.models import Count, Q

from accounts.models import User
from orders import services as order_services
from orders.models import CartItem, Order
from shops.demo import VILLAGES
from shops.models import HarvestLot, Product, Village

from . import services
from .models import Parcel, Station

STATIONS = [
    # village key, station name, address, phone, opening hours, cold store
    ("guoluku", "国路夼村服务站", "栖霞市桃村镇国路夼村村委会东侧", "0535-5211001", "每天 8:00-18:00", True),
    ("sanyuanzhu", "三元朱村服务站", "寿光市孙家集街道三元朱村", "0536-5311002", "周一至周六 8:00-17:30", True),
    ("longjing", "龙井村服务站", "杭州市西湖区龙井村 18 号", "0571-8711003", "每天 8:30-17:00", False),
    ("huangdu", "黄杜村服务站", "安吉县溪龙乡黄杜村", "0572-5111004", "每天 8:00-17:00", False),
    ("hekai", "贺开村服务站", "勐海县勐混镇贺开村", "0691-5511005", "周一至周六 9:00-17:00", False),
    ("dounan", "斗南村服务站", "昆明市呈贡区斗南街道", "0871-6711006", "每天 6:00-20:00", True),
]
AGENT_VILLAGE = "guoluku"
# The state each demo parcel is brought to, in order.
STATES = ["expected", "received", "in_shipment", "in_transit", "in_transit", "arrived", "out_for_delivery",
          "delivered", "completed", "exception"]


def _village(key: str) -> Village | None:
    province, county, name = VILLAGES[key]
    return Village.objects.filter(province=province, county=county, name=name).first()


def _stations(admin: User) -> dict[str, Station]:
    made = {}
    for key, name, address, phone, hours, cold in STATIONS:
        village = _village(key)
        if village is None:
            continue
        station = Station.objects.filter(name=name).first()
        if station is None:
            station = services.create_station(actor=admin, name=name, villages=[village], cold_store=cold,
                                              address=address, phone=phone, opening_hours=hours)
        made[key] = station
    return made


def _parcel(buyer: User, agent: User, product: Product, lot: HarvestLot, *, pay: bool) -> Parcel:
    """A one-line cash-on-delivery order, accepted, packed from `lot` and handed over by the farm."""
    cart = order_services.open_cart(user=buyer)
    order_services.add_to_cart(cart=cart, product=product, quantity=product.min_order)
    order = order_services.place_order(buyer=buyer, address=buyer.addresses.order_by("-is_default", "pk").first(),
                                       payment_method=Order.PaymentMethod.COD)
    if pay:
        order_services.record_cash_payment(order=order, agent=agent)
    part = order.shop_orders.select_related("shop__owner").get()
    owner = part.shop.owner
    order_services.accept_shop_order(shop_order=part, actor=owner)
    line = part.lines.get()
    services.pack_shop_order(shop_order=part, actor=owner, lots={line.pk: lot})
    return services.hand_over_shop_order(shop_order=part, actor=owner)


def _ship(agent: User, parcels: list[Parcel], destination: str, carrier: str, number: str):
    shipment = services.create_shipment(actor=agent, destination=destination, carrier=carrier,
                                        tracking_number=number)
    services.add_parcels_to_shipment(shipment=shipment, actor=agent, codes=[p.code for p in parcels])
    return shipment


def load(out) -> None:
    admin = User.objects.filter(username="admin", is_staff=True).first()
    agent = User.objects.filter(username="agent").first()
    buyer = User.objects.filter(username="buyer2").first()
    if not (admin and agent and buyer):
        out.write("Logistics demo skipped: it needs the demo users.")
        return
    stations = _stations(admin)
    home = stations.get(AGENT_VILLAGE)
    if home is None:
        out.write("Logistics demo skipped: it needs the demo villages.")
        return
    if services.selectors.agent_station(agent) != home:
        services.appoint_agent(actor=admin, station=home, user=agent)
    if Parcel.objects.filter(station=home).exists():
        out.write(f"Demo logistics: {len(stations)} stations; the agent's parcels are already there.")
        return
    if CartItem.objects.filter(cart__user=buyer).exists():
        out.write("Demo parcels skipped: buyer2's cart is not empty.")
        return
    if not buyer.addresses.exists():
        out.write("Demo parcels skipped: buyer2 has no address.")
        return

    # Products of the village's farms with a lot that may be sold and units left to pack.
    candidates = (Product.objects.filter(shop__village__stations=home, is_active=True, shop__is_open=True,
                                         stock__gte=20)
                  .annotate(lots_ok=Count("lots", filter=Q(lots__phi_violation=False)))
                  .filter(lots_ok__gt=0).order_by("pk"))
    products = list(candidates)
    if not products:
        out.write("Demo parcels skipped: no product of the agent's village has a harvest lot.")
        return
    parcels = []
    for n, _state in enumerate(STATES):
        product = products[n % len(products)]
        lot = product.lots.filter(phi_violation=False).order_by("-harvested_on", "-pk").first()
        # The parcel out for delivery stays unpaid: the agent collects the cash at the door.
        parcels.append(_parcel(buyer, agent, product, lot, pay=STATES[n] != "out_for_delivery"))
    by_state: dict[str, list[Parcel]] = {}
    for state, parcel in zip(STATES, parcels, strict=True):
        by_state.setdefault(state, []).append(parcel)
        if state != "expected":
            services.receive_parcel(actor=agent, code=parcel.code)

    _ship(agent, by_state["in_shipment"], "烟台市", "县城班车 County bus", "")
    moving = _ship(agent, by_state["in_transit"], "上海市", "顺丰速运 SF Express", "SF1400000001")
    services.record_shipment_event(shipment=moving, actor=agent, kind="departed")
    for state, kinds, city in [
        ("arrived", ["departed", "arrived"], "杭州市"),
        ("out_for_delivery", ["departed", "arrived", "out_for_delivery"], "杭州市"),
        ("delivered", ["departed", "arrived", "out_for_delivery", "delivered"], "杭州市"),
        ("completed", ["departed", "arrived", "out_for_delivery"], "杭州市"),
        ("exception", ["departed"], "杭州市"),
    ]:
        shipment = _ship(agent, by_state[state], city, "中通快递 ZTO Express", "")
        for kind in kinds:
            hub = "杭州转运中心 Hangzhou hub" if kind != "departed" else ""
            services.record_shipment_event(shipment=shipment, actor=agent, kind=kind, location=hub)
    for parcel in by_state["completed"]:
        services.deliver_parcel(parcel=parcel, actor=agent, code=parcel.delivery_code)
    services.record_shipment_event(shipment=Parcel.objects.get(pk=by_state["exception"][0].pk).shipment,
                                   actor=agent, kind="exception", problem="delayed", location="G15 沈海高速",
                                   note="大雪封路，晚一天到 Road closed by snow, one day late")
    out.write(f"Demo logistics: {len(stations)} stations, agent at {home.name}, {len(parcels)} parcels in every "
              f"state.")
