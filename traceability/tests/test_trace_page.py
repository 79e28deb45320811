"""The trace page's custody timeline, cold chain and chain badge; its JSON twin; what neither ever shows;
its fixed query count; the QR codes and the identifiers that resolve to it."""
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from accounts.tests.factories import AddressFactory, BuyerFactory, UserFactory
from logistics import services as logistics
from orders import services as order_services
from orders.models import Order
from orders.tests.factories import place
from traceability import services
from traceability.models import TraceEvent

from .helpers import journey, readings, shipment_sensor

pytestmark = pytest.mark.django_db
K = TraceEvent.Kind
PAGE_QUERIES = 5  # lot (+ product, farm, village, grower), inputs, records, sensors, readings (unless cached)


@pytest.fixture
def buyer():
    buyer = BuyerFactory(display_name="陈买家", email="chen.buyer@example.com", phone="13811112222",
                         username="chenbuyer")
    AddressFactory(user=buyer, name="陈小姐收", phone="13933334444", province="上海市", city="上海市",
                   district="徐汇区", line="漕溪北路 88 号 12 楼", postal_code="200030", is_default=True)
    return buyer


@pytest.fixture
def delivered(station, agent, buyer):
    return journey(station, agent, buyer=buyer, sensor_readings=30)


def test_the_custody_chain_is_a_timeline_with_places_and_the_verified_badge(client, delivered):
    response = client.get(f"/t/{delivered.lot.code}")
    assert response.status_code == 200
    html = response.content.decode()
    check = response.context["check"]
    assert check.ok and check.count == TraceEvent.objects.filter(lot=delivered.lot).count() == 11
    assert f"✓ Trace records intact ({check.count} records)" in html
    labels = [str(label) for label in (K.HARVEST.label, K.INPUT.label, K.PACKED.label, K.RECEIVED.label,
                                       K.STORED.label, K.LOADED.label, K.SHIPPED.label, K.ARRIVED.label,
                                       K.OUT_FOR_DELIVERY.label, K.DELIVERED.label)]
    positions = [html.index(escape(label)) for label in labels]
    assert positions == sorted(positions)  # in the order they happened
    station = delivered.parcel.station
    for text in (station.name, "上海转运中心", "Carrier: 顺丰速运", "吡虫啉 (Pesticide), applied on",
                 "Temperature:", "parcel 1"):
        assert text in html, text
    assert check.head in html  # the fingerprint of the latest record


def test_cold_chain_is_a_server_rendered_svg_chart_of_the_shipment_sensor(client, delivered):
    response = client.get(f"/t/{delivered.lot.code}")
    (chart,) = response.context["charts"]
    assert chart["series"].sensor == delivered.sensor
    assert sum(p.count for p in chart["series"].points) == 30
    html = response.content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in html
    assert f"shipment {delivered.shipment.code}" in html
    # The only script is the shell's service-worker registration: the page itself needs none.
    assert [tag for tag in re.findall(r"<script[^>]*>", html) if "sw-register.js" not in tag] == []


def test_the_chart_follows_new_readings_although_its_points_are_cached(client, delivered):
    url = f"/t/{delivered.lot.code}"
    assert sum(p.count for p in client.get(url).context["charts"][0]["series"].points) == 30
    readings(delivered.sensor, 5, start=delivered.sensor.readings.order_by("-time").first().time
             + timedelta(minutes=1), end=timezone.now() + timedelta(minutes=10))
    assert sum(p.count for p in client.get(url).context["charts"][0]["series"].points) == 35


def test_a_lot_not_yet_shipped_says_so_and_has_no_chart(client, station, agent):
    lot = journey(station, agent, until="packed").lot
    response = client.get(f"/t/{lot.code}")
    assert response.context["charts"] == []
    assert "No temperature was recorded for the shipments of this lot." in response.content.decode()


def test_an_inspection_shows_its_verdict_and_certification(client, delivered):
    staff = UserFactory(is_staff=True, role="staff")
    services.record_inspection(lot=delivered.lot, actor=staff, passed=True, certification="green_food",
                               note="证书核对无误")
    html = client.get(f"/t/{delivered.lot.code}").content.decode()
    assert "Passed · Green food certified · 证书核对无误" in html


def test_a_buyer_can_narrow_the_page_to_their_parcel(client, station, agent, delivered):
    other = journey(station, agent, until="received")
    # A second buyer's parcel packed from the same lot.
    lot = delivered.lot
    order = place(lines=[(lot.product, 2)], payment_method=Order.PaymentMethod.STRIPE)
    order_services.mark_order_paid(order=order)
    shop = lot.product.shop
    part = order_services.accept_shop_order(shop_order=order.shop_orders.get(), actor=shop.owner)
    logistics.pack_shop_order(shop_order=part, actor=shop.owner, lots={part.lines.get().pk: lot})
    second = logistics.hand_over_shop_order(shop_order=part, actor=shop.owner)

    whole = client.get(f"/t/{delivered.lot.code}")
    numbers = {e.parcel_number for e in whole.context["trace"].entries if e.parcel_number}
    assert numbers == {1, 2}
    assert delivered.parcel.code not in whole.content.decode() and second.code not in whole.content.decode()

    mine = client.get(f"/t/{delivered.lot.code}?parcel={second.code.lower()}")
    parcels = {e.record.parcel_id for e in mine.context["trace"].entries}
    assert parcels == {None, second.pk}
    assert f"Showing the lot and parcel {second.code} only." in mine.content.decode()
    # A parcel of another lot does not narrow anything.
    theirs = client.get(f"/t/{delivered.lot.code}?parcel={other.parcel.code}")
    assert theirs.context["trace"].parcel_code is None


def test_no_buyer_data_on_the_page_the_json_or_the_epcis_exports(client, api_client, delivered, buyer):
    order = delivered.part.order
    private = [buyer.display_name, buyer.email, buyer.phone, buyer.username, order.number,
               delivered.parcel.delivery_code, "13912345678", "张三"]
    for address in buyer.addresses.all():
        private += [address.name, address.phone, address.line]
    bodies = {
        "page": client.get(f"/t/{delivered.lot.code}").content.decode(),
        "json": api_client.get(f"/api/v1/trace/{delivered.lot.code}/").content.decode(),
        "lot epcis": api_client.get(f"/api/v1/trace/{delivered.lot.code}/epcis/").content.decode(),
        "parcel epcis": api_client.get(f"/api/v1/trace/parcel/{delivered.parcel.code}/epcis/").content.decode(),
    }
    for name, body in bodies.items():
        assert len(body) > 1000, name
        for value in private:
            assert value and value not in body, (name, value)
    # The grower is named on the page (from the lot, live) but never written into the immutable records.
    grower = delivered.lot.grower.display_name
    assert grower in bodies["page"] and grower not in bodies["lot epcis"]


def test_problem_notes_typed_by_agents_are_not_copied_into_records(station, agent):
    troubled = journey(station, agent, until="departed", problem="damaged")
    problem = TraceEvent.objects.get(lot=troubled.lot, kind=K.PROBLEM)
    assert problem.document["fg:problem"] == "damaged" and problem.disposition == "damaged"
    assert "13912345678" not in str(problem.document)


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_page_and_json_cost_the_same_queries_for_5_and_for_50_records(client, api_client, station, agent,
                                                                      django_assert_max_num_queries):
    staff = UserFactory(is_staff=True, role="staff")
    # Harvest, packed, received, loaded, shipped; its truck has a sensor too, so both pages draw a chart.
    small = journey(station, agent, until="departed", cold_chain=False, inputs=False, sensor_readings=3)
    assert TraceEvent.objects.filter(lot=small.lot).count() == 5
    big = journey(station, agent, sensor_readings=0)
    readings(big.sensor, 2000)
    readings(shipment_sensor(agent, big.shipment), 2000)
    for n in range(50 - TraceEvent.objects.filter(lot=big.lot).count()):
        services.record_inspection(lot=big.lot, actor=staff, passed=True, note=f"抽检 {n}")
    assert TraceEvent.objects.filter(lot=big.lot).count() == 50
    for url in ("/t/{}", "/api/v1/trace/{}/", "/api/v1/trace/{}/epcis/"):
        counts = [_queries(client, url.format(lot.code)) for lot in (small.lot, big.lot)]
        assert counts[0] == counts[1], (url, counts)
    with django_assert_max_num_queries(PAGE_QUERIES):
        client.get(f"/t/{big.lot.code}")
    with django_assert_max_num_queries(PAGE_QUERIES):
        api_client.get(f"/api/v1/trace/{big.lot.code}/")


def test_qr_codes_are_served_as_svg_and_png(client, delivered):
    svg = client.get(f"/t/{delivered.lot.code}/qr.svg")
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.content and delivered.lot.trace_url.encode() in svg.content  # in its <title>
    png = client.get(f"/t/{delivered.lot.code.lower()}/qr.png")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert "max-age=86400" in png["Cache-Control"]
    assert client.get("/t/L0000000/qr.png").status_code == 404


def test_a_product_with_a_gtin_gets_a_digital_link_that_resolves_to_the_trace_page(client, station, agent):
    journey_ = journey(station, agent, until="packed", gtin="6923571000016")
    lot = journey_.lot
    link = f"/01/06923571000016/10/{lot.code}"
    svg = client.get(f"/t/{lot.code}/qr.svg").content.decode()
    assert f"{settings.SITE_URL}{link}" in svg  # the QR code carries the Digital Link
    response = client.get(link)
    assert response.status_code == 302 and response["Location"] == f"/t/{lot.code}"
    assert client.get(f"{link}/21/12345?linkType=all").status_code == 302  # further qualifiers are ignored
    assert client.get(f"/01/00000000000017/10/{lot.code}").status_code == 404  # another GTIN
    assert client.get(f"/01/6923571000016/10/{lot.code}").status_code == 404  # not 14 digits


def test_record_identifiers_resolve(client, delivered):
    lot, parcel = delivered.lot, delivered.parcel
    assert client.get(f"/obj/lot/{lot.code}")["Location"] == f"/t/{lot.code}"
    assert client.get(f"/obj/parcel/{parcel.code}")["Location"] == f"/track/{parcel.code}"
    shop = lot.product.shop
    assert client.get(f"/loc/farm/{shop.slug}")["Location"] == shop.get_absolute_url()
    station = client.get(f"/loc/station/{parcel.station_id}").json()
    assert station["name"] == parcel.station.name
    sensor = client.get(f"/obj/sensor/{delivered.sensor.pk}").json()
    assert sensor["unit"] == "°C" and "key" not in str(sensor).lower()
    for missing in ("/obj/lot/L0000000", "/obj/parcel/P0000", "/loc/farm/nowhere", "/loc/station/999999"):
        assert client.get(missing).status_code == 404, missing


def test_the_page_in_chinese(client, delivered):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    html = client.get(f"/t/{delivered.lot.code}").content.decode()
    assert '<html lang="zh-hans">' in html
