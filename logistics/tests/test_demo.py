import io

import pytest

from accounts import demo as accounts_demo
from accounts.models import User
from logistics import demo, selectors
from logistics.models import Parcel, Shipment, Station
from orders import demo as orders_demo
from shops import demo as shops_demo

pytestmark = pytest.mark.django_db


def test_demo_makes_stations_an_agent_and_parcels_in_every_state_and_is_idempotent():
    out = io.StringIO()
    accounts_demo.load(out)
    shops_demo.load(out)
    orders_demo.load(out)
    demo.load(out)
    agent = User.objects.get(username="agent")
    home = selectors.agent_station(agent)
    assert home is not None and home.name == "国路夼村服务站" and Station.objects.count() == 6
    assert set(Parcel.objects.values_list("status", flat=True)) == set(Parcel.Status.values)
    assert set(Parcel.objects.values_list("station", flat=True)) == {home.pk}
    assert Shipment.objects.filter(status="departed").exists()  # a shipment in transit
    assert Parcel.objects.filter(shop_order__status="completed").exists()
    before = (Station.objects.count(), Parcel.objects.count(), Shipment.objects.count())
    demo.load(out)
    assert (Station.objects.count(), Parcel.objects.count(), Shipment.objects.count()) == before
