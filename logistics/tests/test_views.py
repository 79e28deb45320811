"""The pages: seller packing and label, the agent's station, the buyer's order page, tracking, reviews."""
import re

import pytest
from django.conf import settings
from django.contrib.messages import get_messages

from logistics import services
from logistics.models import Parcel, Review, Shipment
from orders.models import ShopOrder

from .factories import departed, handed_over, mistype, pack, ready_part, received

pytestmark = pytest.mark.django_db


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Seller ---


def test_seller_packs_on_the_page_hands_over_and_gets_the_label(client, station):
    part = ready_part(station, lines=2)
    client.force_login(part.shop.owner)
    detail = client.get(f"/seller/orders/{part.pk}/")
    assert f'/seller/orders/{part.pk}/pack/' in detail.content.decode()
    page = client.get(f"/seller/orders/{part.pk}/pack/")
    assert page.status_code == 200
    lines = list(part.lines.select_related("product").order_by("id"))
    empty = client.post(f"/seller/orders/{part.pk}/pack/", {})
    assert empty.status_code == 200 and empty.context["form"].errors
    data = {f"line_{line.pk}": str(line.product.lots.get().pk) for line in lines}
    assert client.post(f"/seller/orders/{part.pk}/pack/", data).status_code == 302
    assert ShopOrder.objects.get(pk=part.pk).status == "packed"
    handed = client.post(f"/seller/orders/{part.pk}/hand-over/")
    parcel = Parcel.objects.get()
    assert handed.status_code == 302 and handed["Location"] == f"/parcels/{parcel.code}/label/"
    label = client.get(handed["Location"])
    html = label.content.decode()
    assert label.status_code == 200
    assert parcel.code in html and parcel.destination_city in html and "css/label.css" in html
    # The label's page size, in the stylesheet the page links (no inline style under the CSP).
    assert "@page{size:100mm 150mm" in (settings.BASE_DIR / "static/css/label.css").read_text()
    assert html.count('<svg') == 1 + len(lines)  # the parcel's QR and one per lot
    assert all(line.product.lots.get().code in html for line in lines)
    order = part.order
    for secret in (order.recipient, order.phone, order.address_line, parcel.delivery_code):
        assert secret not in html


def test_the_label_qr_codes_carry_the_tracking_and_trace_links(client, station, settings):
    settings.SITE_URL = "https://farmgate.example"
    parcel = handed_over(station)
    client.force_login(parcel.shop_order.shop.owner)
    context = client.get(f"/parcels/{parcel.code}/label/").context
    assert context["track_url"] == f"https://farmgate.example/track/{parcel.code}"
    assert [item["url"] for item in context["lots"]] == [f"https://farmgate.example/t/{lot.code}"
                                                         for lot in parcel.lots.all()]


def test_the_label_is_not_for_strangers(client, station):
    parcel = handed_over(station)
    client.force_login(ready_part(station).shop.owner)  # another farm in the same village
    assert client.get(f"/parcels/{parcel.code}/label/").status_code == 404


def test_hand_over_without_a_station_shows_the_reason(client, station):
    part = pack(ready_part(station))
    station.villages.clear()
    client.force_login(part.shop.owner)
    response = client.post(f"/seller/orders/{part.pk}/hand-over/", follow=True)
    assert any("no service station" in m for m in messages_of(response))
    assert ShopOrder.objects.get().status == "packed"


# --- Agent ---


def test_agent_receives_by_typing_and_a_mistyped_code_shows_a_clear_error(client, station, agent):
    parcel = handed_over(station)
    client.force_login(agent)
    home = client.get("/agent/")
    assert home.status_code == 200 and parcel.code in home.content.decode()
    bad = client.post("/agent/", {"code": mistype(parcel.code)})
    assert bad.status_code == 400 and "not a valid parcel code" in bad.content.decode()
    ok = client.post("/agent/", {"code": parcel.code.lower()}, follow=True)
    assert any(parcel.code in m for m in messages_of(ok))
    assert Parcel.objects.get().status == "received"
    again = client.post("/agent/", {"code": parcel.code})
    assert again.status_code == 400 and "already received" in again.content.decode()


def test_agent_pages_are_for_agents(client, station):
    parcel = handed_over(station)
    client.force_login(parcel.shop_order.shop.owner)
    assert client.get("/agent/").status_code == 403
    assert client.get(f"/agent/parcels/{parcel.code}/").status_code == 403
    client.logout()
    assert client.get("/agent/").status_code == 302


def test_agent_builds_a_shipment_on_the_pages_and_delivers_with_the_code(client, station, agent):
    parcels = [received(station, agent) for _ in range(2)]
    client.force_login(agent)
    created = client.post("/agent/shipments/", {"destination": "杭州市", "carrier": "中通快递"})
    shipment = Shipment.objects.get()
    assert created["Location"] == f"/agent/shipments/{shipment.pk}/"
    page = client.get(created["Location"])
    assert all(p.code in page.content.decode() for p in parcels)
    assert client.post(f"/agent/shipments/{shipment.pk}/parcels/", {"parcels": [parcels[0].code],
                                                                    "code": parcels[1].code}).status_code == 302
    assert client.post(f"/agent/shipments/{shipment.pk}/depart/").status_code == 302
    assert set(Parcel.objects.values_list("status", flat=True)) == {"in_transit"}
    bad = client.post(f"/agent/shipments/{shipment.pk}/events/", {"kind": "exception"})
    assert bad.status_code == 400 and bad.context["event_form"].errors["problem"]
    assert client.post(f"/agent/shipments/{shipment.pk}/events/", {"kind": "out_for_delivery"}).status_code == 302
    parcel = parcels[0]
    detail = client.get(f"/agent/parcels/{parcel.code}/")
    assert parcel.shop_order.order.address_line in detail.content.decode()  # the courier needs the address
    wrong = client.post(f"/agent/parcels/{parcel.code}/deliver/", {"code": "000000" if parcel.delivery_code !=
                                                                    "000000" else "111111"})
    assert wrong.status_code == 400 and "tries left" in wrong.content.decode()
    assert client.post(f"/agent/parcels/{parcel.code}/deliver/", {"code": parcel.delivery_code}).status_code == 302
    assert ShopOrder.objects.get(pk=parcel.shop_order_id).status == "completed"


def test_cash_is_ticked_on_the_delivery_form(client, station, agent):
    shipment, (parcel,) = departed(station, agent, payment_method="cod")
    client.force_login(agent)
    page = client.get(f"/agent/parcels/{parcel.code}/")
    assert "cash_collected" in page.content.decode()
    refused = client.post(f"/agent/parcels/{parcel.code}/deliver/", {"code": parcel.delivery_code})
    assert refused.status_code == 400 and "cash" in refused.content.decode()
    done = client.post(f"/agent/parcels/{parcel.code}/deliver/", {"code": parcel.delivery_code,
                                                                  "cash_collected": "on"})
    assert done.status_code == 302
    assert parcel.shop_order.order.payments.get().collected_by == agent


# --- Buyer ---


def test_the_buyer_sees_the_code_confirms_receipt_and_rates_the_farm(client, station, agent):
    shipment, (parcel,) = departed(station, agent)
    buyer = parcel.shop_order.order.buyer
    client.force_login(buyer)
    order_page = client.get(f"/orders/{parcel.shop_order.order.number}/")
    html = order_page.content.decode()
    assert parcel.delivery_code in html and f"/track/{parcel.code}" in html
    confirm = re.search(r'action="(/delivery/\d+/confirm/)"', html).group(1)
    assert client.post(confirm, {"code": parcel.delivery_code}).status_code == 302
    assert ShopOrder.objects.get().status == "completed"
    after = client.get(f"/orders/{parcel.shop_order.order.number}/").content.decode()
    assert parcel.delivery_code not in after and f"/reviews/new/{parcel.shop_order_id}/" in after
    assert client.get(f"/reviews/new/{parcel.shop_order_id}/").status_code == 200
    bad = client.post(f"/reviews/new/{parcel.shop_order_id}/", {"rating": "9"})
    assert bad.status_code == 400 and not Review.objects.exists()
    assert client.post(f"/reviews/new/{parcel.shop_order_id}/", {"rating": "4", "text": "很甜"}).status_code == 302
    assert Review.objects.get().rating == 4
    assert "★★★★☆" in client.get(f"/orders/{parcel.shop_order.order.number}/").content.decode()


def test_a_stranger_cannot_confirm_or_review(client, station, agent):
    shipment, (parcel,) = departed(station, agent)
    client.force_login(ready_part(station).order.buyer)
    assert client.post(f"/delivery/{parcel.shop_order_id}/confirm/", {"code": parcel.delivery_code}).status_code == 404
    assert client.get(f"/reviews/new/{parcel.shop_order_id}/").status_code == 404


# --- Public tracking ---


def test_tracking_page_and_its_form(client, station, agent):
    shipment, (parcel,) = departed(station, agent)
    services.record_shipment_event(shipment=shipment, actor=agent, kind="arrived", location="上海转运中心")
    page = client.get(f"/track/{parcel.code}")
    html = page.content.decode()
    assert page.status_code == 200 and "上海转运中心" in html and "Arrived at hub" in html
    assert client.get(f"/track/?code={parcel.code.lower()}")["Location"] == f"/track/{parcel.code}"
    assert client.get(f"/track/{parcel.code.lower()}")["Location"] == f"/track/{parcel.code}"
    mistyped = client.get(f"/track/?code={mistype(parcel.code)}")
    assert mistyped.status_code == 400 and "not a valid parcel code" in mistyped.content.decode()
    assert client.get(f"/track/{mistype(parcel.code)}").status_code == 404
    assert client.get("/track/<script>").status_code == 404
