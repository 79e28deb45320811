"""The agent acting for farmers without smartphones on the HTML pages: registration, consent, "act for" on the
farmer's seller pages (the session swaps the user there only), the banner, and the farmer's own page."""
import pytest
from django.utils import timezone, translation

from accounts.tests.factories import FarmerFactory
from logistics.tests.factories import StationFactory, agent_at
from orders.tests.factories import place
from shops.models import HarvestLot
from shops.tests.factories import ProductFactory, ShopFactory, VillageFactory
from stations import services
from stations.acting import SESSION_KEY
from stations.models import ActivityEntry, AssistedFarmer

from .behalf import code_in, jpeg, registered, sent_sms, station_with_agent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sms_to_a_file(settings, tmp_path):
    settings.SMS_BACKEND = "notifications.channels.FileSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")


@pytest.fixture
def world(client):
    station, agent = station_with_agent()
    client.force_login(agent)
    return station, agent


def lot_form(product):
    return {"grower": product.shop.owner_id, "plot": "东坡", "harvested_on": str(timezone.localdate()),
            "quantity": 12, "notes": ""}


def test_agent_registers_confirms_by_code_acts_and_every_write_is_recorded(
        client, world, settings, django_capture_on_commit_callbacks):
    station, agent = world
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/agent/farmers/new/", {
            "name": "李桂英", "phone": "13905350102", "village": station.villages.first().pk,
            "id_photo": jpeg("id.jpg"), "consent_method": "sms"})
    record = AssistedFarmer.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/agent/farmers/{record.farmer_id}/"
    assert record.id_photo and record.consent == "pending"
    # Not yet: no consent.
    assert b"Act for" not in client.get(response["Location"]).content
    assert client.post(f"/agent/farmers/{record.farmer_id}/act/").status_code == 302
    assert SESSION_KEY not in client.session

    code = code_in(sent_sms(settings)[0]["text"])
    confirmed = client.post(response["Location"], {"code": code})
    assert confirmed.status_code == 302
    record.refresh_from_db()
    assert record.consent == "given" and record.consent_method == "sms"

    product = ProductFactory(shop=ShopFactory(owner=record.farmer, village=record.village))
    assert client.post(f"/agent/farmers/{record.farmer_id}/act/").status_code == 302
    seller = client.get("/seller/")
    assert product.shop.name in seller.content.decode()
    assert "Acting for 李桂英" in seller.content.decode()

    created = client.post(f"/seller/products/{product.pk}/lots/new/", lot_form(product))
    assert created.status_code == 302, created.content.decode()[:2000]
    lot = HarvestLot.objects.get()
    assert lot.product == product and lot.grower == record.farmer
    entry = ActivityEntry.objects.get(view_name="shops:seller_lot_create")
    assert (entry.owner, entry.actor, entry.method) == (record.farmer, agent, "POST")
    # A form sent back with errors changed nothing and is not recorded.
    assert client.post(f"/seller/products/{product.pk}/lots/new/", {"quantity": "x"}).status_code == 200
    assert ActivityEntry.objects.filter(view_name="shops:seller_lot_create").count() == 1

    # Outside the seller pages the agent is themself (their station page), the banner still shows.
    own = client.get("/agent/")
    assert own.status_code == 200 and "Acting for 李桂英" in own.content.decode()
    stopped = client.post("/agent/acting/stop/")
    assert stopped.status_code == 302 and SESSION_KEY not in client.session
    assert client.get(f"/seller/products/{product.pk}/lots/new/").status_code == 404


def test_a_refused_write_that_redirects_is_not_recorded(client, world):
    station, agent = world
    record = registered(agent, station)
    product = ProductFactory(shop=ShopFactory(owner=record.farmer, village=record.village), stock=10)
    part = place(payment_method="cod", lines=[(product, 1)]).shop_orders.get()
    assert client.post(f"/agent/farmers/{record.farmer_id}/act/").status_code == 302
    accepted = client.post(f"/seller/orders/{part.pk}/accept/")
    assert accepted.status_code == 302
    assert ActivityEntry.objects.filter(view_name="orders:seller_order_accept").count() == 1
    again = client.post(f"/seller/orders/{part.pk}/accept/")  # already accepted: refused, with a message
    assert again.status_code == 302
    assert ActivityEntry.objects.filter(view_name="orders:seller_order_accept").count() == 1


def test_the_agent_cannot_act_without_consent_after_withdrawal_or_outside_the_station(client, world):
    station, agent = world
    pending = registered(agent, station, consent=False)
    withdrawn = registered(agent, station)
    services.withdraw_consent(record=withdrawn, farmer=withdrawn.farmer)
    for record in (pending, withdrawn):
        assert client.post(f"/agent/farmers/{record.farmer_id}/act/").status_code == 302
        assert SESSION_KEY not in client.session
    elsewhere, other_agent = station_with_agent()
    foreign = registered(other_agent, elsewhere)
    assert client.get(f"/agent/farmers/{foreign.farmer_id}/").status_code == 404
    assert client.post(f"/agent/farmers/{foreign.farmer_id}/act/").status_code == 404

    # A session key planted by hand changes nothing either: consent is checked on every request.
    product = ProductFactory(shop=ShopFactory(owner=foreign.farmer, village=foreign.village))
    session = client.session
    session[SESSION_KEY] = foreign.farmer_id
    session.save()
    assert client.post(f"/seller/products/{product.pk}/lots/new/", lot_form(product)).status_code == 404
    assert not HarvestLot.objects.exists()


def test_withdrawal_stops_an_agent_already_acting_at_their_next_request(client, world):
    station, agent = world
    record = registered(agent, station)
    product = ProductFactory(shop=ShopFactory(owner=record.farmer, village=record.village))
    client.post(f"/agent/farmers/{record.farmer_id}/act/")
    assert client.get(f"/seller/products/{product.pk}/lots/new/").status_code == 200

    services.withdraw_consent(record=record, farmer=record.farmer)
    response = client.post(f"/seller/products/{product.pk}/lots/new/", lot_form(product), follow=True)
    assert response.status_code == 404 and not HarvestLot.objects.exists()
    assert SESSION_KEY not in client.session


def test_a_station_that_stops_serving_the_village_cannot_act(client, world):
    station, agent = world
    record = registered(agent, station)
    station.villages.set([VillageFactory()])
    client.post(f"/agent/farmers/{record.farmer_id}/act/")
    assert SESSION_KEY not in client.session


def test_another_agent_and_farmers_cannot_use_the_agent_pages(client):
    station, agent = station_with_agent()
    record = registered(agent, station)
    client.force_login(agent_at(StationFactory()))
    assert client.get(f"/agent/farmers/{record.farmer_id}/").status_code == 404
    client.force_login(FarmerFactory())
    assert client.get("/agent/farmers/").status_code == 403
    assert client.post(f"/agent/farmers/{record.farmer_id}/act/").status_code == 403


def test_the_members_and_money_pages_are_never_opened_for_the_farmer(client, world):
    station, agent = world
    record = registered(agent, station)
    shop = ShopFactory(owner=record.farmer, village=record.village)
    client.post(f"/agent/farmers/{record.farmer_id}/act/")
    assert client.get(f"/seller/shops/{shop.slug}/").status_code == 200
    assert client.get(f"/seller/shops/{shop.slug}/members/").status_code == 404
    assert client.get(f"/seller/money/{shop.slug}/payout-account/").status_code in (403, 404)


@pytest.mark.parametrize("phone, message", [
    ("12345", "Enter a mobile number"),
    ("13905350101", "already exists"),
])
def test_a_bad_or_taken_phone_is_a_form_error(client, world, phone, message):
    station, agent = world
    FarmerFactory(phone="13905350101")
    response = client.post("/agent/farmers/new/", {
        "name": "王德福", "phone": phone, "village": station.villages.first().pk, "id_photo": jpeg(),
        "consent_method": "paper", "consent_paper": jpeg("form.jpg")})
    assert response.status_code == 200 and message in response.content.decode()
    assert not AssistedFarmer.objects.exists()


def test_paper_consent_needs_the_photo(client, world):
    station, agent = world
    response = client.post("/agent/farmers/new/", {
        "name": "王德福", "phone": "13905350101", "village": station.villages.first().pk, "id_photo": jpeg(),
        "consent_method": "paper"})
    assert response.status_code == 200 and "signed consent form" in response.content.decode()


def test_the_farmer_claims_the_account_sees_what_was_done_and_withdraws(client, world, settings,
                                                                        django_capture_on_commit_callbacks):
    station, agent = world
    record = registered(agent, station, phone="13905350101")
    product = ProductFactory(shop=ShopFactory(owner=record.farmer, village=record.village))
    client.post(f"/agent/farmers/{record.farmer_id}/act/")
    client.post(f"/seller/products/{product.pk}/lots/new/", lot_form(product))
    client.logout()

    # The farmer signs in with a code sent to their number, then sets a password.
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/accounts/login/code/", {"contact": "13905350101"})
    code = code_in(sent_sms(settings)[-1]["text"])
    assert client.post("/accounts/login/code/enter/", {"code": code}).status_code == 302
    assert "Done on my behalf" in client.get("/accounts/profile/").content.decode()
    page = client.get("/me/on-my-behalf/").content.decode()
    for text in ("Recorded a harvest lot", "Recorded your consent", "Registered you at the station", str(agent),
                 "Set a password", "Withdraw my consent"):
        assert text in page
    set_password = client.post("/me/password/", {"new_password1": "apple-orchard-77", "new_password2":
                                                  "apple-orchard-77"})
    assert set_password.status_code == 302
    record.farmer.refresh_from_db()
    assert record.farmer.check_password("apple-orchard-77")

    assert client.post("/me/on-my-behalf/withdraw/").status_code == 302
    record.refresh_from_db()
    assert record.consent == "withdrawn"
    assert "You withdrew your consent" in client.get("/me/on-my-behalf/").content.decode()


def test_the_pages_speak_chinese(client, world, django_assert_max_num_queries):
    station, agent = world
    for _n in range(3):
        registered(agent, station)
    client.cookies["django_language"] = "zh-hans"
    with translation.override("zh-hans"), django_assert_max_num_queries(12):
        listing = client.get("/agent/farmers/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "服务站的农户" in listing and "已同意" in listing
    record = AssistedFarmer.objects.first()
    detail = client.get(f"/agent/farmers/{record.farmer_id}/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "代办记录" in detail


def test_staff_open_the_private_photos_only_through_the_admin(client, world):
    from logistics.tests.factories import staff

    station, agent = world
    record = registered(agent, station)
    url = f"/admin/stations/assistedfarmer/{record.pk}/photo/id/"
    assert client.get(url).status_code == 302  # the agent is sent to the admin sign-in
    with pytest.raises(ValueError):
        record.id_photo.url  # noqa: B018 - private storage has no public address
    client.force_login(staff_user := staff())
    staff_user.is_superuser = True
    staff_user.save(update_fields=["is_superuser"])
    page = client.get(f"/admin/stations/assistedfarmer/{record.pk}/change/")
    assert page.status_code == 200 and url in page.content.decode()
    photo = client.get(url)
    assert photo.status_code == 200 and "no-store" in photo["Cache-Control"]
    assert client.get("/admin/stations/activityentry/").status_code == 200


def test_the_farmer_page_takes_a_fixed_number_of_queries(client, world, django_assert_max_num_queries):
    station, agent = world
    record = registered(agent, station)
    for n in range(5):
        services.record_activity(owner=record.farmer, actor=agent, method="POST", path=f"/seller/{n}/",
                                 view_name="shops:seller_product_create", label=f"苹果{n}")
    with django_assert_max_num_queries(14):
        page = client.get(f"/agent/farmers/{record.farmer_id}/")
    assert page.content.decode().count("Listed a product") == 5
