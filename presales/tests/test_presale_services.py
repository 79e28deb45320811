"""Pre-sales without a payment service: the farm's rules, capacity, cash pre-orders, cancellations."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.tests.factories import FarmerFactory
from core.errors import ConflictError
from notifications.models import Notification
from orders import services as order_services
from orders.models import Order, OrderLine, ShopOrder
from presales import services
from presales.models import PreOrder, PreSale
from shops.models import Product
from shops.tests.factories import ProductFactory

from .factories import buyer_with_address, make_presale, preorder

pytestmark = pytest.mark.django_db


def future(days: int):
    return timezone.localdate() + timedelta(days=days)


class TestCreatePreSale:
    def create(self, **overrides):
        product = overrides.pop("product", None) or ProductFactory()
        values = {"actor": product.shop.owner, "product": product, "harvest_start": future(20),
                  "harvest_end": future(40), "capacity": 100, "price": "45.50", **overrides}
        return services.create_presale(**values)

    def test_a_farm_offers_a_coming_harvest(self):
        presale = self.create()
        assert (presale.capacity, presale.units_sold, presale.price, presale.is_open) == (100, 0, Decimal("45.50"),
                                                                                          True)
        assert presale.units_left == 100 and presale.taking_orders

    @pytest.mark.parametrize(("overrides", "field"), [
        ({"harvest_start": future(-3), "harvest_end": future(5)}, "harvest_start"),
        ({"harvest_start": timezone.localdate(), "harvest_end": future(5)}, "harvest_start"),
        ({"harvest_start": future(10), "harvest_end": future(9)}, "harvest_end"),
        ({"harvest_start": future(400), "harvest_end": future(410)}, "harvest_start"),
        ({"harvest_start": future(10), "harvest_end": future(300)}, "harvest_end"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": "lots"}, "capacity"),
        ({"price": "0"}, "price"),
        ({"price": "12.345"}, "price"),
        ({"price": "NaN"}, "price"),
    ])
    def test_bad_input_names_the_field_and_saves_nothing(self, overrides, field):
        with pytest.raises(ValidationError) as caught:
            self.create(**overrides)
        assert field in caught.value.message_dict
        assert not PreSale.objects.exists()

    def test_only_the_shops_managers_may_offer_its_products(self):
        with pytest.raises(PermissionDenied):
            self.create(actor=FarmerFactory())
        assert not PreSale.objects.exists()

    def test_capacity_cannot_drop_below_what_is_sold(self):
        presale = make_presale(capacity=10)
        preorder(presale, quantity=4)
        with pytest.raises(ValidationError) as caught:
            services.update_presale(presale=presale, actor=presale.product.shop.owner, capacity=3)
        assert "capacity" in caught.value.message_dict
        presale.refresh_from_db()
        assert presale.capacity == 10


class TestCashPreOrder:
    def test_order_at_the_presale_price_without_touching_stock(self):
        presale = make_presale(price=Decimal("50.00"), stock=7)
        pre = preorder(presale, quantity=3)
        order = pre.order
        line = OrderLine.objects.get(shop_order__order=order)
        assert (line.unit_price, line.quantity, line.line_total) == (Decimal("50.00"), 3, Decimal("150.00"))
        assert order.items_total == Decimal("150.00") and order.total == order.items_total + order.shipping_total
        assert order.payment_method == Order.PaymentMethod.COD and order.reserved_until is None
        assert order.shop_orders.get().status == ShopOrder.Status.NEW
        assert pre.status == PreOrder.Status.CASH
        presale.refresh_from_db()
        assert presale.units_sold == 3
        assert Product.objects.get(pk=presale.product_id).stock == 7  # the harvest is not in stock yet
        kinds = set(Notification.objects.values_list("kind", flat=True))
        assert {"presale_order_placed", "presale_order_new"} <= kinds

    def test_the_last_units_cannot_be_sold_twice(self):
        presale = make_presale(capacity=5)
        preorder(presale, quantity=4)
        orders_before = Order.objects.count()
        with pytest.raises(ConflictError) as caught:
            preorder(presale, quantity=2)
        assert caught.value.code == "sold_out" and "1" in caught.value.message
        presale.refresh_from_db()
        assert presale.units_sold == 4 and Order.objects.count() == orders_before
        assert PreOrder.objects.count() == 1

    def test_below_the_minimum_order_is_a_field_error(self):
        presale = make_presale(min_order=3)
        with pytest.raises(ValidationError) as caught:
            preorder(presale, quantity=2)
        assert "quantity" in caught.value.message_dict
        assert not Order.objects.exists()

    def test_another_buyers_address_is_refused(self):
        presale = make_presale()
        buyer, _ = buyer_with_address()
        _, someone_elses = buyer_with_address()
        with pytest.raises(ValidationError) as caught:
            services.place_preorder(buyer=buyer, presale=presale, address=someone_elses, quantity=1, payment="cod")
        assert "address" in caught.value.message_dict

    def test_card_payment_needs_stripe(self, settings):
        settings.STRIPE_SECRET_KEY = ""
        with pytest.raises(ValidationError) as caught:
            preorder(make_presale(), payment=PreOrder.Payment.CARD)
        assert "payment" in caught.value.message_dict
        assert not Order.objects.exists()

    def test_a_closed_or_cancelled_presale_takes_no_orders(self):
        presale = make_presale()
        services.update_presale(presale=presale, actor=presale.product.shop.owner, is_open=False)
        with pytest.raises(ConflictError):
            preorder(presale)
        other = make_presale()
        services.cancel_presale(presale=other, actor=other.product.shop.owner, reason="冰雹 Hail")
        with pytest.raises(ConflictError) as caught:
            preorder(other)
        assert "Hail" in caught.value.message
        assert not Order.objects.exists()


class TestCancelling:
    def test_the_buyer_cancels_and_the_units_come_back(self):
        presale = make_presale(capacity=5, stock=7)
        pre = preorder(presale, quantity=2)
        services.cancel_preorder(preorder=pre, actor=pre.buyer)
        pre.refresh_from_db()
        presale.refresh_from_db()
        assert pre.status == PreOrder.Status.CANCELLED
        assert pre.order.status == Order.Status.CANCELLED
        assert pre.order.shop_orders.get().status == ShopOrder.Status.CANCELLED
        assert presale.units_sold == 0
        assert Product.objects.get(pk=presale.product_id).stock == 7  # nothing was taken, nothing is returned

    def test_orders_own_cancel_flows_are_refused_for_a_preorder(self):
        presale = make_presale(capacity=5, stock=7)
        pre = preorder(presale, quantity=2)
        with pytest.raises(ConflictError) as caught:
            order_services.cancel_order(order=pre.order, actor=pre.buyer)
        assert caught.value.code == "presale_order"
        part = pre.order.shop_orders.get()
        with pytest.raises(ConflictError):
            order_services.cancel_shop_order(shop_order=part, actor=presale.product.shop.owner, reason="没货")
        part.refresh_from_db()
        presale.refresh_from_db()
        assert part.status == ShopOrder.Status.NEW and presale.units_sold == 2
        assert Product.objects.get(pk=presale.product_id).stock == 7

    def test_the_farm_cancels_one_preorder_with_a_reason(self):
        presale = make_presale()
        pre = preorder(presale)
        with pytest.raises(ValidationError):
            services.seller_cancel_preorder(preorder=pre, actor=presale.product.shop.owner, reason=" ")
        with pytest.raises(PermissionDenied):
            services.seller_cancel_preorder(preorder=pre, actor=FarmerFactory(), reason="no")
        services.seller_cancel_preorder(preorder=pre, actor=presale.product.shop.owner, reason="地块被淹 Flooded")
        pre.refresh_from_db()
        assert pre.status == PreOrder.Status.CANCELLED and "Flooded" in pre.order.cancel_reason

    def test_harvest_failed_releases_every_buyer_and_tells_them(self, django_capture_on_commit_callbacks):
        presale = make_presale(capacity=10)
        first, second = preorder(presale, quantity=2), preorder(presale, quantity=3)
        with django_capture_on_commit_callbacks(execute=True):
            services.cancel_presale(presale=presale, actor=presale.product.shop.owner, reason="冰雹 Hail")
        presale.refresh_from_db()
        assert presale.is_cancelled and not presale.is_open and presale.units_sold == 0
        for pre in (first, second):
            pre.refresh_from_db()
            assert pre.status == PreOrder.Status.CANCELLED
            assert pre.order.status == Order.Status.CANCELLED
            note = Notification.objects.get(recipient=pre.buyer, kind="presale_order_cancelled",
                                            channel=Notification.Channel.INBOX)
            assert "Hail" in note.body

    def test_cancel_presale_twice_changes_nothing_more(self, django_capture_on_commit_callbacks):
        presale = make_presale()
        preorder(presale)
        with django_capture_on_commit_callbacks(execute=True):
            services.cancel_presale(presale=presale, actor=presale.product.shop.owner, reason="Hail")
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            services.cancel_presale(presale=presale, actor=presale.product.shop.owner, reason="Again")
        assert not callbacks
        presale.refresh_from_db()
        assert presale.cancel_reason == "Hail"
