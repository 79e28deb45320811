"""Demo of buying at the station: the demo `agent` has ordered for 张桂兰, a villager of 国路夼村 (Guoluku) with a
basic phone, produce from a demo farm; she pays in cash when she picks it up at the station.

Made through the real services (stations.assisted.place_order_for_villager). Idempotent: nothing is made while
she already has an order to collect at the agent's station. Runs after the logistics demo (stations, the agent).
"""
from accounts.models import User
from logistics.selectors import agent_station
from orders.models import Order

from . import assisted

VILLAGER_NAME = "张桂兰"
VILLAGER_PHONE = "13905350201"


def load(out) -> None:
    agent = User.objects.filter(username="agent").first()
    station = agent_station(agent) if agent else None
    if station is None:
        out.write("Demo order for a villager skipped: it needs the demo agent at a station.")
        return
    if assisted.station_orders(agent).filter(phone=VILLAGER_PHONE).exists():
        out.write(f"Demo order for a villager: {VILLAGER_NAME}'s order is already at {station.name}.")
        return
    product = (assisted.catalogue_for(station).filter(lots__isnull=False, stock__gte=10)
               .order_by("pk").distinct().first())
    if product is None:
        out.write("Demo order for a villager skipped: no produce is in stock.")
        return
    order: Order = assisted.place_order_for_villager(
        agent=agent, buyer_phone=VILLAGER_PHONE, buyer_name=VILLAGER_NAME,
        lines=[{"product": product.pk, "quantity": max(product.min_order, 1)}])
    out.write(f"Demo order for a villager: {order.number} for {VILLAGER_NAME} at {station.name}, "
              f"¥{order.total} to collect in cash.")
