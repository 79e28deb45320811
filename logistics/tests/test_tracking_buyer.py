"""What the buyer sees of a parcel on the move: carrier and number, newest event first, pay-on-delivery wording,
parcel messages with a button instead of a raw URL, and "buy again"."""
import pytest

from notifications.models import Notification
from orders.models import CartItem, Order
from orders.tests.factories import place
from shops.tests.factories import ProductFactory

from .factories import departed

pytestmark = pytest.mark.django_db


def test_buyer_sees_carrier_and_tracking_number_and_newest_event_first(client, station, agent):
    shipment, (parcel,) = departed(station, agent)
    buyer = parcel.shop_order.order.buyer
    client.force_login(buyer)
    order_page = client.get(parcel.shop_order.order.get_absolute_url()).content.decode()
    assert "顺丰速运" in order_page and "SF1" in order_page
    assert f'href="/track/{parcel.code}"' in order_page

    track = client.get(f"/track/{parcel.code}")
    html = track.content.decode()
    assert "顺丰速运" in html and "SF1" in html
    times = [(e.occurred_at, e.pk) for e in track.context["events"]]
    assert len(times) >= 3 and times == sorted(times, reverse=True)
    assert track.context["events"][0].kind == "departed"


def test_parcel_messages_carry_a_button_not_a_url(client, station, agent):
    shipment, (parcel,) = departed(station, agent)
    buyer = parcel.shop_order.order.buyer
    row = Notification.objects.get(recipient=buyer, channel="inbox", kind="parcel_departed")
    assert "http" not in row.body and "/track/" not in row.body
    assert row.link == f"/track/{parcel.code}" and row.link_label == "Track the parcel"
    client.force_login(buyer)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/inbox/"})
    html = client.get("/inbox/").content.decode()
    assert ">查看包裹物流</a>" in html
    assert f"你来自 {parcel.shop_order.shop.name} 的包裹 {parcel.code} 已离开村服务站" in html


def test_cash_on_delivery_orders_say_pay_on_delivery(client):
    order = place(payment_method=Order.PaymentMethod.COD)
    client.force_login(order.buyer)
    for page in (client.get("/orders/"), client.get(order.get_absolute_url())):
        html = page.content.decode()
        assert "Pay on delivery" in html and "Waiting for payment" not in html
    owner = order.shop_orders.get().shop.owner
    client.force_login(owner)
    seller = client.get(f"/seller/orders/{order.shop_orders.get().pk}/").content.decode()
    assert "Pay on delivery" in seller and "Waiting for payment" not in seller


def test_buy_again_puts_back_what_is_on_sale_and_names_what_is_not(client):
    kept, withdrawn, short = ProductFactory(stock=50, title="土鸡蛋"), ProductFactory(stock=50, title="冬笋"), \
        ProductFactory(stock=50, title="山核桃")
    order = place(lines=[(kept, 2), (withdrawn, 1), (short, 5)])
    withdrawn.is_active = False
    withdrawn.save()
    short.stock = 3
    short.save()
    client.force_login(order.buyer)
    assert client.get(f"/orders/{order.number}/buy-again/").status_code == 405
    response = client.post(f"/orders/{order.number}/buy-again/", follow=True)
    html = response.content.decode()
    assert dict(CartItem.objects.filter(cart__user=order.buyer).values_list("product", "quantity")) == {kept.pk: 2}
    assert "Back in your cart: 土鸡蛋." in html
    assert "Not added: 冬笋. “冬笋” is no longer on sale." in html
    assert "Not added: 山核桃. Only 3" in html


def test_buy_again_on_another_buyers_order_is_404(client):
    order = place()
    other = place()
    client.force_login(other.buyer)
    assert client.post(f"/orders/{order.number}/buy-again/").status_code == 404
    assert not CartItem.objects.filter(cart__user=other.buyer).exists()
