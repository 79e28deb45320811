"""orders.services.create_order, the one way an Order is made (checkout and presales), and the rule that an
order held by its origin (a pre-order, an unfilled group's place) is not cancelled by orders' own flows."""
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import AddressFactory, BuyerFactory
from core import codes
from core.errors import ConflictError
from orders import services
from orders.models import Order, ShopOrder
from shops import stock
from shops.models import Product
from shops.tests.factories import ProductFactory

from .factories import place

pytestmark = pytest.mark.django_db

SS = ShopOrder.Status


def new_order(*, origin=Order.Origin.CHECKOUT, payment_method=Order.PaymentMethod.COD, lines=None) -> Order:
    buyer = BuyerFactory()
    lines = lines or [(ProductFactory(stock=10), 2, Decimal("12.50"))]
    return services.create_order(buyer=buyer, address=AddressFactory(user=buyer), payment_method=payment_method,
                                 lines=lines, origin=origin)


class TestCreateOrder:
    def test_one_part_per_shop_with_its_lines_at_the_given_prices(self):
        apples, pears = ProductFactory(stock=10), ProductFactory(stock=10)
        plums = ProductFactory(shop=apples.shop, stock=10)
        order = new_order(lines=[(apples, 2, Decimal("12.50")), (pears, 1, Decimal("30.00")),
                                 (plums, 3, Decimal("5.00"))])
        parts = {so.shop_id: so for so in order.shop_orders.all()}
        assert set(parts) == {apples.shop_id, pears.shop_id}
        assert parts[apples.shop_id].items_total == Decimal("40.00")
        assert parts[apples.shop_id].lines.count() == 2
        assert order.items_total == Decimal("70.00")
        assert order.total == order.items_total + order.shipping_total
        assert order.status == Order.Status.PENDING_PAYMENT

    def test_takes_no_stock(self):
        product = ProductFactory(stock=10)
        new_order(lines=[(product, 4, product.price)])
        assert Product.objects.get(pk=product.pk).stock == 10

    def test_numbers_are_dated_readable_and_carry_a_check_character(self):
        number = new_order().number
        assert re.fullmatch(r"\d{6}[0-9A-Z]{6}", number)
        assert number.startswith(timezone.localdate().strftime("%y%m%d"))
        assert codes.is_valid(number[6:])

    def test_a_number_already_taken_is_drawn_again(self, monkeypatch):
        taken = new_order().number
        drawn = iter([taken, "261206ABCDE0"])
        monkeypatch.setattr(services, "_new_order_number", lambda: next(drawn))
        assert new_order().number == "261206ABCDE0"

    def test_five_taken_numbers_in_a_row_are_a_conflict(self, monkeypatch):
        taken = new_order().number
        monkeypatch.setattr(services, "_new_order_number", lambda: taken)
        with pytest.raises(ConflictError) as caught:
            new_order()
        assert caught.value.code == "order_number"
        assert Order.objects.count() == 1

    @pytest.mark.parametrize(("method", "part_status"), [(Order.PaymentMethod.STRIPE, SS.AWAITING_PAYMENT),
                                                          (Order.PaymentMethod.COD, SS.NEW)])
    def test_online_parts_wait_for_payment_cash_parts_go_to_the_shop(self, method, part_status):
        order = new_order(payment_method=method)
        assert order.shop_orders.get().status == part_status

    def test_a_checkout_is_not_held(self):
        order = place()
        assert (order.origin, order.held_by_origin) == (Order.Origin.CHECKOUT, False)

    @pytest.mark.parametrize("origin", [Order.Origin.PRESALE, Order.Origin.GROUP])
    def test_orders_made_by_presales_are_held_by_their_origin(self, origin):
        order = new_order(origin=origin)
        order.refresh_from_db()
        assert (order.origin, order.held_by_origin) == (origin, True)

    def test_an_unknown_origin_or_no_line_is_a_programming_error(self):
        with pytest.raises(ValueError):
            new_order(origin="market")
        with pytest.raises(ValueError):
            services.create_order(buyer=BuyerFactory(), address=AddressFactory(), payment_method="cod", lines=[])


class TestHeldOrdersAreCancelledByTheirOrigin:
    @pytest.mark.parametrize(("origin", "code"), [(Order.Origin.PRESALE, "presale_order"),
                                                  (Order.Origin.GROUP, "group_order")])
    def test_the_buyer_cannot_cancel_it_here(self, origin, code):
        order = new_order(origin=origin)
        with pytest.raises(ConflictError) as caught:
            services.cancel_order(order=order, actor=order.buyer)
        assert caught.value.code == code
        order.refresh_from_db()
        assert order.status == Order.Status.PENDING_PAYMENT
        assert order.shop_orders.get().status == SS.NEW

    @pytest.mark.parametrize(("origin", "code"), [(Order.Origin.PRESALE, "presale_order"),
                                                  (Order.Origin.GROUP, "group_order")])
    def test_the_shop_cannot_cancel_it_here(self, origin, code):
        order = new_order(origin=origin)
        part = order.shop_orders.select_related("shop").get()
        with pytest.raises(ConflictError) as caught:
            services.cancel_shop_order(shop_order=part, actor=part.shop.owner, reason="Frost")
        assert caught.value.code == code
        assert ShopOrder.objects.get(pk=part.pk).status == SS.NEW

    def test_expiry_does_not_cancel_it(self, settings):
        settings.STRIPE_SECRET_KEY = "sk_test_not_called"
        order = new_order(origin=Order.Origin.GROUP, payment_method=Order.PaymentMethod.STRIPE)
        with pytest.raises(ConflictError) as caught:
            services.expire_order(order=order)
        assert caught.value.code == "group_order"
        assert Order.objects.get(pk=order.pk).status == Order.Status.PENDING_PAYMENT

    def test_the_other_refusals_come_first(self):
        """As before: a part that can no longer be cancelled is refused for that, whatever made its order."""
        order = new_order(origin=Order.Origin.PRESALE)
        part = order.shop_orders.select_related("shop").get()
        ShopOrder.objects.filter(pk=part.pk).update(status=SS.HANDED_OVER)
        with pytest.raises(ConflictError) as caught:
            services.cancel_shop_order(shop_order=part, actor=part.shop.owner, reason="Frost")
        assert caught.value.code == "illegal_transition"

    def test_once_its_origin_lets_go_it_cancels_like_any_order(self):
        product = ProductFactory(stock=10)
        order = new_order(origin=Order.Origin.GROUP, lines=[(product, 3, product.price)])
        stock.reserve({product.pk: 3}, in_cart=False)  # as a group place takes its units
        services.end_origin_hold(order=order)
        services.end_origin_hold(order=order)  # idempotent
        services.cancel_order(order=order, actor=order.buyer)
        order.refresh_from_db()
        assert (order.held_by_origin, order.status) == (False, Order.Status.CANCELLED)
        assert Product.objects.get(pk=product.pk).stock == 10


class TestForTheOriginApp:
    """The public functions presales releases its own orders with, instead of saving orders' rows."""

    def test_cancelling_the_parts_of_a_held_order_goes_through_the_state_table(self):
        order = new_order(origin=Order.Origin.PRESALE)
        services.cancel_parts_of_held_order(shop_orders=list(order.shop_orders.all()), reason="harvest failed")
        part = order.shop_orders.get()
        assert part.status == SS.CANCELLED and part.cancel_reason == "harvest failed" and part.cancelled_at
        closed = services.close_order(order=order, reason="harvest failed")
        assert closed.status == Order.Status.CANCELLED and closed.cancel_reason == "harvest failed"

    def test_a_delivered_part_is_not_cancelled(self):
        order = new_order(origin=Order.Origin.PRESALE)
        part = order.shop_orders.get()
        ShopOrder.objects.filter(pk=part.pk).update(status=SS.DELIVERED)
        with pytest.raises(ConflictError):
            services.cancel_parts_of_held_order(shop_orders=[ShopOrder.objects.get(pk=part.pk)], reason="x")

    def test_parts_waiting_for_payment_go_to_their_shops(self):
        order = new_order(origin=Order.Origin.GROUP, payment_method=Order.PaymentMethod.STRIPE)
        moved = services.release_parts_to_shops(shop_orders=list(order.shop_orders.all()))
        assert [so.status for so in moved] == [SS.NEW]
        assert services.release_parts_to_shops(shop_orders=list(order.shop_orders.all())) == []

    def test_a_payment_window_opens_once(self):
        order = new_order(origin=Order.Origin.GROUP, payment_method=Order.PaymentMethod.STRIPE)
        assert order.reserved_until is None or services.open_payment_window(order=order) is False
        Order.objects.filter(pk=order.pk).update(reserved_until=None)
        order.refresh_from_db()
        assert services.open_payment_window(order=order) is True
        assert order.reserved_until > timezone.now()
        assert services.open_payment_window(order=order) is False
