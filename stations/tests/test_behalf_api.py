"""The agent acting for farmers without smartphones, through the API (API.md, "Village stations on behalf of
others"): registration, consent by SMS code, on_behalf_of on the ordinary endpoints, the farmer's activity.

Every request goes through the real authentication classes (a knox token), never force_authenticate.
"""
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import BuyerFactory, FarmerFactory
from logistics.tests.factories import StationFactory, agent_at
from orders import services as order_services
from orders.models import ShopOrder
from orders.tests.factories import place
from shops.models import HarvestLot, Product
from shops.tests.factories import ProductFactory, ShopFactory, VillageFactory
from stations.models import ActivityEntry, AssistedFarmer

from .behalf import code_in, registered, sent_sms, signed_in, station_with_agent

pytestmark = pytest.mark.django_db

FARMERS = "/api/v1/agent/farmers/"
ACTIVITY = "/api/v1/me/activity/"


@pytest.fixture(autouse=True)
def sms_to_a_file(settings, tmp_path):
    settings.SMS_BACKEND = "notifications.channels.FileSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.SIGN_IN_CODE_MINUTES = 10
    settings.SIGN_IN_CODE_MAX_ATTEMPTS = 5


@pytest.fixture
def world():
    station, agent = station_with_agent()
    return station, agent


@pytest.fixture
def register(api_client, django_capture_on_commit_callbacks, world):
    station, agent = world
    signed_in(api_client, agent)

    def register(**body):
        payload = {"name": "王德福", "phone": "139 0535 0101", "village": station.villages.first().pk, **body}
        with django_capture_on_commit_callbacks(execute=True):
            return api_client.post(FARMERS, payload, format="multipart")
    return register


def product_payload(shop, **extra):
    return {"shop": shop.slug, "title": "老树红富士", "category": "apples", "unit": "box", "unit_weight_kg": "5.000",
            "price": "45.00", "stock": 30, **extra}


# --- Registration and consent -------------------------------------------------------------------------------------

def test_agent_registers_a_farmer_who_gets_a_consent_code_by_sms(register, settings, world):
    response = register()
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {k: body[k] for k in ("name", "phone", "village", "consent")} == {
        "name": "王德福", "phone": "13905350101", "village": world[0].villages.first().pk, "consent": "pending"}
    farmer = User.objects.get(pk=body["id"])
    assert farmer.role == User.Role.FARMER and not farmer.has_usable_password()
    [sms] = sent_sms(settings)
    assert sms["to"] == "13905350101" and len(code_in(sms["text"])) == 6 and len(sms["text"]) < 70


def test_the_code_the_farmer_reads_out_gives_consent_once(register, api_client, settings):
    farmer_id = register().json()["id"]
    code = code_in(sent_sms(settings)[0]["text"])
    response = api_client.post(f"{FARMERS}{farmer_id}/consent/", {"code": code})
    assert response.status_code == 200 and response.json()["consent"] == "given"
    record = AssistedFarmer.objects.get(farmer_id=farmer_id)
    assert record.consent_method == "sms" and record.consent_given_at is not None and not record.code_hash


def test_a_wrong_code_is_refused_and_counted(register, api_client, settings):
    farmer_id = register().json()["id"]
    code = code_in(sent_sms(settings)[0]["text"])
    wrong = "000000" if code != "000000" else "111111"
    response = api_client.post(f"{FARMERS}{farmer_id}/consent/", {"code": wrong})
    assert response.status_code == 400 and "code" in response.json()
    record = AssistedFarmer.objects.get(farmer_id=farmer_id)
    assert record.consent == "pending" and record.code_attempts == 1
    for _try in range(4):
        api_client.post(f"{FARMERS}{farmer_id}/consent/", {"code": wrong})
    # Five wrong tries kill the code: even the right one no longer works.
    assert api_client.post(f"{FARMERS}{farmer_id}/consent/", {"code": code}).status_code == 400


def test_an_expired_code_is_refused(register, api_client, settings):
    farmer_id = register().json()["id"]
    code = code_in(sent_sms(settings)[0]["text"])
    AssistedFarmer.objects.filter(farmer_id=farmer_id).update(code_expires_at=timezone.now() - timedelta(seconds=1))
    response = api_client.post(f"{FARMERS}{farmer_id}/consent/", {"code": code})
    assert response.status_code == 400 and "code" in response.json()
    assert AssistedFarmer.objects.get(farmer_id=farmer_id).consent == "pending"


def test_a_new_code_replaces_the_old_one(register, api_client, settings, django_capture_on_commit_callbacks):
    farmer_id = register().json()["id"]
    old = code_in(sent_sms(settings)[0]["text"])
    with django_capture_on_commit_callbacks(execute=True):
        assert api_client.post(f"{FARMERS}{farmer_id}/code/").status_code == 202
    new = code_in(sent_sms(settings)[1]["text"])
    if old != new:
        assert api_client.post(f"{FARMERS}{farmer_id}/consent/", {"code": old}).status_code == 400
    assert api_client.post(f"{FARMERS}{farmer_id}/consent/", {"code": new}).json()["consent"] == "given"


def test_the_consent_code_does_not_sign_anyone_in(register, api_client, settings):
    """The agent hears the code: it must give consent, never open the farmer's account."""
    register()
    code = code_in(sent_sms(settings)[0]["text"])
    api_client.credentials()
    response = api_client.post("/api/v1/auth/token/", {"phone": "13905350101", "code": code})
    assert response.status_code == 400


@pytest.mark.parametrize("phone", ["12345", "0535-1234567", "phone", "1390535010", "+1 415 555 0100"])
def test_a_bad_phone_is_a_field_error(register, phone):
    response = register(phone=phone)
    assert response.status_code == 400 and "phone" in response.json()
    assert not AssistedFarmer.objects.exists()


def test_a_phone_that_has_an_account_is_refused_clearly(register):
    FarmerFactory(phone="+86 13905350101")
    response = register(phone="13905350101")
    assert response.status_code == 400
    assert "already exists" in response.json()["phone"][0]
    assert register(phone="139-0535-0102").status_code == 201
    assert "already exists" in register(phone="+8613905350102").json()["phone"][0]


def test_missing_fields_and_a_village_the_station_does_not_serve_are_field_errors(register):
    assert set(register(name="", phone="").json()) >= {"name", "phone"}
    response = register(village=VillageFactory().pk)
    assert response.status_code == 400 and "village" in response.json()
    assert register(village="x").status_code == 400
    assert not User.objects.filter(phone="13905350101").exists()


def test_a_bad_id_photo_is_a_field_error(register):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = register(id_photo=SimpleUploadedFile("id.jpg", b"not a photo", content_type="image/jpeg"))
    assert response.status_code == 400 and "id_photo" in response.json()
    assert not User.objects.filter(phone="13905350101").exists()


def test_only_agents_register_and_list_farmers(api_client):
    signed_in(api_client, FarmerFactory())
    assert api_client.post(FARMERS, {"name": "x", "phone": "13905350101", "village": 1}).status_code == 403
    assert api_client.get(FARMERS).status_code == 403


def test_the_agent_lists_the_farmers_of_their_station_paginated(api_client, world, django_assert_max_num_queries):
    station, agent = world
    mine = [registered(agent, station) for _n in range(3)]
    other_station, other_agent = station_with_agent()
    registered(other_agent, other_station)
    signed_in(api_client, agent)
    with django_assert_max_num_queries(8):
        body = api_client.get(FARMERS, {"page_size": 2}).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    assert {r["id"] for r in api_client.get(FARMERS).json()["results"]} == {r.farmer_id for r in mine}
    foreign = AssistedFarmer.objects.get(station=other_station)
    assert api_client.get(f"{FARMERS}{foreign.farmer_id}/").status_code == 404


# --- Acting on behalf: the permission matrix ----------------------------------------------------------------------

def _farmer_shop(record):
    return ShopFactory(owner=record.farmer, village=record.village)


def test_with_consent_the_agent_lists_a_product_for_the_farmer_and_it_is_recorded(api_client, world):
    station, agent = world
    record = registered(agent, station)
    shop = _farmer_shop(record)
    signed_in(api_client, agent)
    response = api_client.post(f"/api/v1/products/?on_behalf_of={record.farmer_id}", product_payload(shop))
    assert response.status_code == 201, response.json()
    assert Product.objects.get(pk=response.json()["id"]).shop == shop
    entry = ActivityEntry.objects.get(view_name="product-list")
    assert (entry.owner, entry.actor, entry.method, entry.label) == (record.farmer, agent, "POST", "老树红富士")


def test_on_behalf_of_works_as_a_body_field_too(api_client, world):
    station, agent = world
    record = registered(agent, station)
    product = ProductFactory(shop=_farmer_shop(record))
    signed_in(api_client, agent)
    response = api_client.post("/api/v1/lots/", {"product": product.pk, "harvested_on": str(timezone.localdate()),
                                                 "quantity": 20, "on_behalf_of": record.farmer_id})
    assert response.status_code == 201, response.json()
    lot = HarvestLot.objects.get()
    assert lot.grower == record.farmer
    assert ActivityEntry.objects.filter(owner=record.farmer, actor=agent, view_name="lot-list").count() == 1


def test_the_agent_accepts_an_order_of_the_farmers_shop(api_client, world):
    station, agent = world
    record = registered(agent, station)
    product = ProductFactory(shop=_farmer_shop(record), stock=20)
    order = place(lines=[(product, 2)])
    order_services.mark_order_paid(order=order)
    part = order.shop_orders.get()
    signed_in(api_client, agent)
    response = api_client.post(f"/api/v1/seller/orders/{part.pk}/accept/?on_behalf_of={record.farmer_id}")
    assert response.status_code == 200, response.json()
    part.refresh_from_db()
    assert part.status == ShopOrder.Status.ACCEPTED
    assert ActivityEntry.objects.filter(owner=record.farmer, actor=agent, view_name="seller-order-accept").exists()


def _pending(agent, station):
    return registered(agent, station, consent=False)


def _withdrawn(agent, station):
    from stations import services

    record = registered(agent, station)
    return services.withdraw_consent(record=record, farmer=record.farmer)


def _village_no_longer_served(agent, station):
    record = registered(agent, station)
    station.villages.set([VillageFactory()])
    return record


def _of_another_station(agent, station):
    other, other_agent = station_with_agent()
    return registered(other_agent, other)


@pytest.mark.parametrize("situation, detail", [
    (_pending, "not given consent"),
    (_withdrawn, "withdrawn"),
    (_village_no_longer_served, "no longer serves"),
    (_of_another_station, "not registered at your station"),
])
def test_the_agent_cannot_act_without_valid_consent(api_client, world, situation, detail):
    station, agent = world
    record = situation(agent, station)
    shop = _farmer_shop(record)
    signed_in(api_client, agent)
    response = api_client.post(f"/api/v1/products/?on_behalf_of={record.farmer_id}", product_payload(shop))
    assert response.status_code == 403 and detail in response.json()["detail"]
    assert not Product.objects.exists() and not ActivityEntry.objects.filter(view_name="product-list").exists()


@pytest.mark.parametrize("who", ["another agent", "the farmer's buyer neighbour", "another farmer"])
def test_nobody_but_an_agent_of_the_station_acts_for_the_farmer(api_client, world, who):
    station, agent = world
    record = registered(agent, station)
    shop = _farmer_shop(record)
    intruder = {"another agent": lambda: agent_at(StationFactory()), "the farmer's buyer neighbour": BuyerFactory,
                "another farmer": FarmerFactory}[who]()
    signed_in(api_client, intruder)
    response = api_client.post(f"/api/v1/products/?on_behalf_of={record.farmer_id}", product_payload(shop))
    assert response.status_code == 403 and response.json()["detail"]
    assert not Product.objects.exists()


def test_on_behalf_of_is_refused_outside_the_sellers_endpoints(api_client, world):
    station, agent = world
    record = registered(agent, station)
    signed_in(api_client, agent)
    for method, path in (("get", ACTIVITY), ("get", "/api/v1/me/"), ("post", "/api/v1/cart/items/"),
                         ("get", f"/api/v1/shops/{_farmer_shop(record).slug}/members/")):
        response = getattr(api_client, method)(f"{path}?on_behalf_of={record.farmer_id}")
        assert response.status_code == 403, path
    assert not ActivityEntry.objects.exclude(view_name__startswith="stations:").exists()


def test_withdrawal_takes_effect_at_once_and_only_the_farmer_can_withdraw(api_client, world):
    station, agent = world
    record = registered(agent, station)
    shop = _farmer_shop(record)
    signed_in(api_client, agent)
    assert api_client.post(f"{FARMERS}{record.farmer_id}/withdraw/").status_code == 403
    url = f"/api/v1/products/?on_behalf_of={record.farmer_id}"
    assert api_client.post(url, product_payload(shop)).status_code == 201

    signed_in(api_client, record.farmer)
    response = api_client.post(f"{FARMERS}{record.farmer_id}/withdraw/")
    assert response.status_code == 200 and response.json()["consent"] == "withdrawn"

    signed_in(api_client, agent)
    response = api_client.post(url, product_payload(shop, title="又一个"))
    assert response.status_code == 403 and "withdrawn" in response.json()["detail"]
    signed_in(api_client, FarmerFactory())
    assert api_client.post(f"{FARMERS}{record.farmer_id}/withdraw/").status_code == 404


# --- The farmer's activity -----------------------------------------------------------------------------------------

def test_the_farmer_sees_every_action_taken_for_them_with_the_actor(api_client, world, django_assert_max_num_queries):
    station, agent = world
    record = registered(agent, station)
    shop = _farmer_shop(record)
    signed_in(api_client, agent)
    for n in range(3):
        api_client.post(f"/api/v1/products/?on_behalf_of={record.farmer_id}", product_payload(shop, title=f"苹果{n}"))
    # A read made for the farmer changes nothing and is not listed.
    api_client.get(f"/api/v1/products/?on_behalf_of={record.farmer_id}&mine=true")

    signed_in(api_client, record.farmer)
    with django_assert_max_num_queries(6):
        body = api_client.get(ACTIVITY).json()
    rows = body["results"]
    assert body["count"] == 5  # registered, consent on paper, three products
    assert [r["action"] for r in rows] == ["Listed a product"] * 3 + ["Recorded your consent",
                                                                      "Registered you at the station"]
    assert [r["object"] for r in rows[:3]] == ["苹果2", "苹果1", "苹果0"]
    assert {r["actor"]["id"] for r in rows} == {agent.pk}
    assert all(r["actor"]["name"] == str(agent) for r in rows)

    # Nobody else sees it.
    signed_in(api_client, agent)
    assert api_client.get(ACTIVITY).json()["count"] == 0
