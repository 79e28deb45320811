"""The exception path (damaged, delayed, lost, with a photo) and the cash-on-delivery path."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core.errors import ConflictError
from logistics import services
from logistics.models import Parcel, Shipment, TrackingEvent
from notifications.models import Notification
from orders.models import Order, Payment, ShopOrder

from .factories import departed

pytestmark = pytest.mark.django_db
P, S, SS, OS = Parcel.Status, Shipment.Status, ShopOrder.Status, Order.Status


def photo(name="damage.jpg", size=(640, 480)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (180, 90, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make: any EXIF must be gone from the stored photo
    image.save(buffer, format="JPEG", exif=exif)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def test_a_damaged_parcel_is_reported_with_a_photo_and_left_out_of_later_moves(station, agent):
    shipment, (hurt, fine) = departed(station, agent, count=2)
    events = services.record_shipment_event(shipment=shipment, actor=agent, kind="exception", problem="damaged",
                                            note="箱子压坏了 Box crushed", photo=photo(), parcel_codes=[hurt.code])
    assert len(events) == 1
    event = TrackingEvent.objects.get(kind="exception")
    assert (event.parcel_id, event.problem, event.note) == (hurt.pk, "damaged", "箱子压坏了 Box crushed")
    with Image.open(event.photo.path) as stored:
        assert not stored.getexif()
    assert Parcel.objects.get(pk=hurt.pk).status == P.EXCEPTION
    assert Notification.objects.filter(recipient=hurt.shop_order.order.buyer, kind="parcel_exception").exists()
    assert not Notification.objects.filter(recipient=fine.shop_order.order.buyer, kind="parcel_exception").exists()

    # The shipment moves on without the damaged parcel, which is then delivered on its own with its code.
    services.record_shipment_event(shipment=shipment, actor=agent, kind="delivered")
    assert (Parcel.objects.get(pk=fine.pk).status, Parcel.objects.get(pk=hurt.pk).status) == (P.DELIVERED,
                                                                                               P.EXCEPTION)
    services.deliver_parcel(parcel=hurt, actor=agent, code=hurt.delivery_code)
    assert Parcel.objects.get(pk=hurt.pk).status == P.DELIVERED
    assert ShopOrder.objects.get(pk=hurt.shop_order_id).status == SS.COMPLETED


def test_a_delayed_shipment_moves_on_with_all_its_parcels(station, agent):
    shipment, parcels = departed(station, agent, count=2)
    services.record_shipment_event(shipment=shipment, actor=agent, kind="exception", problem="delayed",
                                   location="G15 高速")
    assert Shipment.objects.get(pk=shipment.pk).status == S.EXCEPTION
    assert set(Parcel.objects.values_list("status", flat=True)) == {P.EXCEPTION}
    services.record_shipment_event(shipment=shipment, actor=agent, kind="arrived")
    assert set(Parcel.objects.values_list("status", flat=True)) == {P.ARRIVED}


def test_a_problem_needs_its_kind_and_a_real_photo(station, agent):
    shipment, _ = departed(station, agent)
    with pytest.raises(services.ValidationError) as exc:
        services.record_shipment_event(shipment=shipment, actor=agent, kind="exception")
    assert "problem" in exc.value.message_dict
    fake = SimpleUploadedFile("x.jpg", b"not an image at all", content_type="image/jpeg")
    with pytest.raises(services.ValidationError) as exc:
        services.record_shipment_event(shipment=shipment, actor=agent, kind="exception", problem="lost", photo=fake)
    assert "photo" in exc.value.message_dict
    assert not TrackingEvent.objects.filter(kind="exception").exists()


def test_exception_through_the_api_as_multipart(api_client, station, agent):
    shipment, (parcel,) = departed(station, agent)
    api_client.force_authenticate(agent)
    response = api_client.post(f"/api/v1/shipments/{shipment.pk}/events/",
                               {"kind": "exception", "problem": "lost", "note": "没找到", "photo": photo()},
                               format="multipart")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "exception"
    bad = api_client.post(f"/api/v1/shipments/{shipment.pk}/events/", {"kind": "teleported"})
    assert bad.status_code == 400 and "kind" in bad.json()


# --- Cash on delivery ---


def test_cash_on_delivery_is_collected_at_the_door_then_the_order_completes(station, agent):
    shipment, (parcel,) = departed(station, agent, payment_method="cod")
    order = parcel.shop_order.order
    assert order.status == OS.PENDING_PAYMENT
    services.record_shipment_event(shipment=shipment, actor=agent, kind="out_for_delivery")
    with pytest.raises(ConflictError) as exc:
        services.deliver_parcel(parcel=parcel, actor=agent, code=parcel.delivery_code)
    assert exc.value.code == "cash_not_collected" and str(order.total) in exc.value.message
    assert Parcel.objects.get(pk=parcel.pk).status == P.OUT_FOR_DELIVERY

    services.deliver_parcel(parcel=parcel, actor=agent, code=parcel.delivery_code, cash_collected=True)
    order.refresh_from_db()
    payment = order.payments.get()
    assert (payment.provider, payment.status, payment.amount, payment.collected_by) == (
        Payment.Provider.CASH, Payment.Status.SUCCEEDED, order.total, agent)
    assert order.status == OS.COMPLETED
    assert ShopOrder.objects.get(pk=parcel.shop_order_id).status == SS.COMPLETED
    assert list(Parcel.objects.get(pk=parcel.pk).events.values_list("kind", flat=True))[-2:] == [
        "cash_collected", "delivered"]


def test_cash_recorded_separately_is_recorded_once(api_client, station, agent):
    shipment, (parcel,) = departed(station, agent, payment_method="cod")
    api_client.force_authenticate(agent)
    listed = api_client.get("/api/v1/agent/parcels/?view=on_the_way").json()["results"][0]
    assert (listed["cash_on_delivery"], listed["cash_due"]) == (True, str(parcel.shop_order.order.total))
    for _ in range(2):
        assert api_client.post(f"/api/v1/agent/parcels/{parcel.code}/cash/").status_code == 200
    assert Payment.objects.filter(provider="cash").count() == 1
    assert TrackingEvent.objects.filter(kind="cash_collected").count() == 1
    assert Order.objects.get().status == OS.PAID
    assert api_client.get(f"/api/v1/agent/parcels/{parcel.code}/").json()["cash_due"] is None
    # Delivered after the cash: no tick needed any more.
    assert api_client.post(f"/api/v1/agent/parcels/{parcel.code}/deliver/",
                           {"code": parcel.delivery_code}).status_code == 200
    assert Order.objects.get().status == OS.COMPLETED


def test_cash_cannot_be_recorded_for_an_online_order(station, agent):
    shipment, (parcel,) = departed(station, agent)
    with pytest.raises(ConflictError):
        services.collect_cash(parcel=parcel, actor=agent)
