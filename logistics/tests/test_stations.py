"""Stations and agents: staff create and appoint, through the API and the admin."""
import pytest

from accounts.models import User
from accounts.tests.factories import BuyerFactory, FarmerFactory
from logistics.models import Agent, Station
from shops.tests.factories import ShopFactory, VillageFactory

from .factories import StationFactory, handed_over, staff

pytestmark = pytest.mark.django_db


def test_staff_create_a_station_and_everyone_signed_in_sees_it(api_client):
    villages = [VillageFactory(), VillageFactory()]
    api_client.force_authenticate(staff())
    created = api_client.post("/api/v1/stations/", {"name": "国路夼村服务站", "villages": [v.pk for v in villages],
                                                     "cold_store": True})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert set(body) >= {"id", "name", "villages", "cold_store"}
    assert (sorted(body["villages"]), body["cold_store"]) == (sorted(v.pk for v in villages), True)
    api_client.force_authenticate(BuyerFactory())
    listed = api_client.get("/api/v1/stations/").json()
    assert listed["count"] == 1 and listed["results"][0]["name"] == "国路夼村服务站"


def test_staff_appoint_an_agent_whose_role_becomes_agent_and_can_move_them(api_client):
    first, second = StationFactory(), StationFactory()
    user = BuyerFactory(username="liuqiang")
    api_client.force_authenticate(staff())
    response = api_client.post(f"/api/v1/stations/{first.pk}/agents/", {"username": "LiuQiang"})
    assert response.status_code == 201, response.json()
    assert response.json() == {"username": "liuqiang", "role": "agent", "station": first.pk, "active": True}
    user.refresh_from_db()
    assert user.role == User.Role.AGENT
    api_client.post(f"/api/v1/stations/{second.pk}/agents/", {"username": "liuqiang"})
    assert Agent.objects.get(user=user).station == second


def test_a_shop_owner_or_staff_member_is_not_made_an_agent(api_client):
    station = StationFactory()
    owner = ShopFactory(owner=FarmerFactory(username="farmowner")).owner
    api_client.force_authenticate(staff())
    refused = api_client.post(f"/api/v1/stations/{station.pk}/agents/", {"username": "farmowner"})
    assert refused.status_code == 409
    owner.refresh_from_db()
    assert owner.role == User.Role.FARMER and not Agent.objects.exists()


def test_the_admin_appoints_through_the_service(client):
    admin_user = staff()
    admin_user.is_superuser = True
    admin_user.save()
    station = StationFactory()
    user = BuyerFactory()
    client.force_login(admin_user)
    response = client.post("/admin/logistics/agent/add/", {"user": user.pk, "station": station.pk, "active": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert user.role == User.Role.AGENT and Agent.objects.get(user=user).station == station
    shop_owner = ShopFactory().owner
    refused = client.post("/admin/logistics/agent/add/", {"user": shop_owner.pk, "station": station.pk})
    assert refused.status_code == 200 and "runs a shop" in refused.content.decode()
    assert client.get(f"/admin/logistics/station/{station.pk}/change/").status_code == 200
    assert client.get("/admin/logistics/parcel/").status_code == 200
    assert Station.objects.count() == 1
    parcel = handed_over(station)
    page = client.get(f"/admin/logistics/parcel/{parcel.pk}/change/")
    assert page.status_code == 200 and parcel.code in page.content.decode()
    assert parcel.delivery_code not in page.content.decode()
