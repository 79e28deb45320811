"""place_order: one Order, one ShopOrder per shop, snapshots, fees, stock reserved or nothing saved."""
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.tests.factories import AddressFactory, BuyerFactory
from core import codes
from core.errors import ConflictError
from orders import services
from orders.models import Order, OrderLine, ShopOrder
from shops.models import Product
from shops.tests.factories import ProductFactory, ShopFactory, VillageFactory

from .factories import fill_cart, place

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyer():
    return BuyerFactory()


@pytest.fixture
def address(buyer):
    return AddressFactory(user=buyer, province="江苏省", city="南京市")  # neighbour of 山东


def test_checkout_makes_one_order_with_a_part_per_shop_and_snapshots(buyer, address):
    apples = ProductFactory(price=Decimal("68.00"), stock=10, unit_weight_kg=Decimal("5.000"))
    pears = ProductFactory(shop=apples.shop, price=Decimal("20.00"), stock=10, unit_weight_kg=Decimal("2.500"))
    tea = ProductFactory(price=Decimal("120.00"), stock=5, unit_weight_kg=Decimal("0.250"), cold_chain=True,
                         shop=ShopFactory(village=VillageFactory(province="云南省")))
    fill_cart(buyer, (apples, 2), (pears, 1), (tea, 1))
    order = services.place_order(buyer=buyer, address=address, payment_method=Order.PaymentMethod.COD)

    parts = {so.shop_id: so for so in order.shop_orders.all()}
    assert set(parts) == {apples.shop_id, tea.shop_id}
    farm, tea_farm = parts[apples.shop_id], parts[tea.shop_id]
    # Neighbouring province: 10.00 + 2.00/kg x 12.5 kg.
    assert (farm.items_total, farm.weight_kg, farm.shipping_fee, farm.total) == (
        Decimal("156.00"), Decimal("12.5"), Decimal("35.00"), Decimal("191.00"))
    # Far and cold: 15.00 + 4.00 x 0.25 + 25.00 surcharge.
    assert (tea_farm.shipping_fee, tea_farm.cold_chain) == (Decimal("41.00"), True)
    assert (order.items_total, order.shipping_total, order.total) == (
        Decimal("276.00"), Decimal("76.00"), Decimal("352.00"))
    line = OrderLine.objects.get(product=apples)
    assert (line.title, line.unit, line.unit_weight_kg, line.unit_price, line.quantity, line.line_total) == (
        apples.title, "box", Decimal("5.000"), Decimal("68.00"), 2, Decimal("136.00"))
    assert (order.recipient, order.province, order.city, order.address_line) == (
        address.name, "江苏省", "南京市", address.line)
    assert [p.stock for p in Product.objects.order_by("pk")] == [8, 9, 4]
    assert not buyer.cart.items.exists()


def test_snapshot_keeps_the_price_paid_when_the_product_changes_later(buyer, address):
    product = ProductFactory(price=Decimal("30.00"))
    fill_cart(buyer, (product, 1))
    order = services.place_order(buyer=buyer, address=address, payment_method="cod")
    Product.objects.filter(pk=product.pk).update(price=Decimal("99.00"), title="renamed")
    line = OrderLine.objects.get(shop_order__order=order)
    assert (line.unit_price, line.title) == (Decimal("30.00"), product.title)


def test_cash_on_delivery_goes_to_the_shops_at_once_without_expiry(buyer, address):
    order = place(buyer=buyer, address=address, payment_method="cod", shops=2)
    assert (order.status, order.reserved_until) == (Order.Status.PENDING_PAYMENT, None)
    assert set(order.shop_orders.values_list("status", flat=True)) == {ShopOrder.Status.NEW}


def test_online_order_waits_for_payment_and_holds_stock_for_the_reservation(buyer, address, settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.ORDER_RESERVATION_MINUTES = 45
    before = timezone.now()
    order = place(buyer=buyer, address=address, payment_method="stripe")
    assert order.status == Order.Status.PENDING_PAYMENT
    assert set(order.shop_orders.values_list("status", flat=True)) == {ShopOrder.Status.AWAITING_PAYMENT}
    assert before + timedelta(minutes=45) <= order.reserved_until <= timezone.now() + timedelta(minutes=45)


def test_online_payment_is_refused_when_stripe_is_not_configured(buyer, address, settings):
    settings.STRIPE_SECRET_KEY = ""
    fill_cart(buyer, (ProductFactory(), 1))
    with pytest.raises(ValidationError) as exc:
        services.place_order(buyer=buyer, address=address, payment_method="stripe")
    assert "payment_method" in exc.value.message_dict
    assert not Order.objects.exists()


def test_order_number_is_unique_readable_and_check_charactered(buyer, address):
    numbers = {place(buyer=buyer, address=address).number for _ in range(5)}
    assert len(numbers) == 5
    for number in numbers:
        assert re.fullmatch(r"\d{6}[0-9A-Z]{6}", number)
        assert number.startswith(timezone.localdate().strftime("%y%m%d"))
        assert codes.is_valid(number[6:])


def test_not_enough_stock_is_a_conflict_naming_the_product_and_saves_nothing(buyer, address):
    plenty = ProductFactory(stock=50)
    scarce = ProductFactory(stock=5, title="烟台樱桃")
    fill_cart(buyer, (plenty, 3), (scarce, 4))
    Product.objects.filter(pk=scarce.pk).update(stock=2)  # someone else bought some meanwhile
    with pytest.raises(ConflictError) as exc:
        services.place_order(buyer=buyer, address=address, payment_method="cod")
    assert "烟台樱桃" in exc.value.message and "Only 2" in exc.value.message
    assert exc.value.code == "out_of_stock"
    assert not Order.objects.exists() and not ShopOrder.objects.exists()
    assert Product.objects.get(pk=plenty.pk).stock == 50  # its reservation rolled back
    assert buyer.cart.items.count() == 2


@pytest.mark.parametrize("change, words", [
    ({"is_active": False}, "no longer on sale"),
    ({"min_order": 10}, "minimum order"),
    ({"stock": 0}, "sold out"),
])
def test_a_product_that_changed_since_it_was_added_is_a_conflict(buyer, address, change, words):
    product = ProductFactory(stock=10, title="五常大米")
    fill_cart(buyer, (product, 3))
    Product.objects.filter(pk=product.pk).update(**change)
    with pytest.raises(ConflictError) as exc:
        services.place_order(buyer=buyer, address=address, payment_method="cod")
    assert "五常大米" in exc.value.message and words in exc.value.message
    assert not Order.objects.exists()


def test_a_closed_shop_is_a_conflict(buyer, address):
    product = ProductFactory()
    fill_cart(buyer, (product, 1))
    product.shop.is_open = False
    product.shop.save()
    with pytest.raises(ConflictError):
        services.place_order(buyer=buyer, address=address, payment_method="cod")


def test_empty_cart_and_someone_elses_address_are_bad_input(buyer, address):
    with pytest.raises(ValidationError) as exc:
        services.place_order(buyer=buyer, address=address, payment_method="cod")
    assert "cart" in exc.value.message_dict
    fill_cart(buyer, (ProductFactory(), 1))
    with pytest.raises(ValidationError) as exc:
        services.place_order(buyer=buyer, address=AddressFactory(), payment_method="cod")
    assert "address" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.place_order(buyer=buyer, address=address, payment_method="bitcoin")
    assert "payment_method" in exc.value.message_dict
    assert not Order.objects.exists()


def test_new_address_at_checkout_is_saved_only_with_the_order(buyer):
    product = ProductFactory(stock=1)
    fill_cart(buyer, (product, 1))
    Product.objects.filter(pk=product.pk).update(stock=0)
    fields = {"name": "王芳", "phone": "13800138000", "province": "北京市", "city": "北京市", "district": "朝阳区",
              "line": "建国路 1 号", "postal_code": "100020"}
    with pytest.raises(ConflictError):
        services.place_order_at_new_address(buyer=buyer, address_fields=fields, payment_method="cod")
    assert not buyer.addresses.exists()
    Product.objects.filter(pk=product.pk).update(stock=1)
    order = services.place_order_at_new_address(buyer=buyer, address_fields=fields, payment_method="cod")
    assert (order.province, buyer.addresses.get().line) == ("北京市", "建国路 1 号")


def test_checkout_tells_the_buyer_and_cash_orders_tell_each_shop(buyer, address):
    from notifications.models import Notification

    manager = BuyerFactory()
    product = ProductFactory()
    from shops.models import ShopMember

    ShopMember.objects.create(shop=product.shop, user=manager, role=ShopMember.Role.MANAGER)
    order = place(buyer=buyer, address=address, lines=[(product, 1)], payment_method="cod")
    buyer_note = Notification.objects.get(recipient=buyer, kind="order_placed", channel="inbox")
    assert order.number in buyer_note.subject and str(order.total) in buyer_note.body
    told = set(Notification.objects.filter(kind="shop_order_new", channel="inbox").values_list("recipient", flat=True))
    assert told == {product.shop.owner_id, manager.pk}
