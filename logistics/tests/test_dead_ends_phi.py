"""The pre-harvest interval rule, once, seen from every page: product page, add to cart, checkout, packing."""
import datetime

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from accounts.tests.factories import AddressFactory, BuyerFactory
from orders.models import CartItem, Order, ShopOrder
from orders.tests.factories import fill_cart
from shops import stock
from shops.models import HarvestLot, InputApplication
from shops.tests.factories import HarvestLotFactory, ProductFactory

from .factories import ready_part

pytestmark = pytest.mark.django_db


def spray(lot: HarvestLot, *, days_ago: int, interval: int) -> datetime.date:
    """A pesticide sprayed `days_ago` with an interval; returns the day the interval ends."""
    applied = timezone.localdate() - datetime.timedelta(days=days_ago)
    InputApplication.objects.create(lot=lot, kind=InputApplication.Kind.PESTICIDE, product_name="吡虫啉",
                                    applied_on=applied, dose="10 g/亩", pre_harvest_interval_days=interval)
    HarvestLot.objects.filter(pk=lot.pk).update(phi_violation=True)
    return applied + datetime.timedelta(days=interval)


def short(day: datetime.date) -> str:
    return date_format(day, "SHORT_DATE_FORMAT")


def test_the_rule_holds_a_lot_until_its_interval_ends_and_no_longer():
    lot = HarvestLotFactory(harvested_on=timezone.localdate())
    until = spray(lot, days_ago=3, interval=10)
    fertilised = HarvestLotFactory(product=lot.product)
    InputApplication.objects.create(lot=fertilised, kind=InputApplication.Kind.FERTILISER, product_name="有机肥",
                                    applied_on=timezone.localdate(), dose="1 kg", pre_harvest_interval_days=30)
    holds = stock.lot_holds([lot.product_id])[lot.product_id]
    assert [(h.code, h.until) for h in holds.held] == [(lot.code, until)] and holds.cleared == 1
    assert list(stock.cleared_lots(HarvestLot.objects.all())) == [fertilised]
    # The day the interval ends, the lot is offered again.
    assert not stock.lot_holds([lot.product_id], today=until)[lot.product_id].held
    assert stock.lot_holds([lot.product_id], today=until - datetime.timedelta(days=1))[lot.product_id].held


def test_a_product_whose_only_lots_are_held_is_not_offered_and_cannot_be_bought(client):
    product = ProductFactory(stock=20)
    lot = HarvestLotFactory(product=product, harvested_on=timezone.localdate())
    until = spray(lot, days_ago=1, interval=14)
    page = client.get(product.get_absolute_url()).content.decode()
    assert lot.code not in page
    assert f"cannot be bought until {short(until)}" in page
    assert 'action="/cart/add/"' not in page
    assert product not in stock.orderable()

    added = client.post("/cart/add/", {"product": product.pk, "quantity": 1}, follow=True)
    assert "pre-harvest interval" in added.content.decode()
    assert not CartItem.objects.filter(product=product).exists()


def test_checkout_refuses_a_product_that_became_held_in_the_cart(client):
    buyer = BuyerFactory()
    address = AddressFactory(user=buyer)
    product = ProductFactory(stock=20)
    lot = HarvestLotFactory(product=product, harvested_on=timezone.localdate())
    fill_cart(buyer, (product, 2))
    until = spray(lot, days_ago=2, interval=7)
    client.force_login(buyer)
    cart = client.get("/cart/").content.decode()
    assert f"cannot be bought until {short(until)}" in cart
    placed = client.post("/checkout/", {"address": str(address.pk), "payment_method": "cod"})
    assert placed.status_code == 200
    assert "pre-harvest interval" in placed.content.decode()
    assert not Order.objects.exists()


def test_a_product_with_one_cleared_lot_stays_on_sale_and_offers_only_that_lot(client):
    product = ProductFactory(stock=20)
    held = HarvestLotFactory(product=product, harvested_on=timezone.localdate())
    spray(held, days_ago=1, interval=14)
    cleared = HarvestLotFactory(product=product)
    page = client.get(product.get_absolute_url()).content.decode()
    assert cleared.code in page and held.code not in page and 'action="/cart/add/"' in page
    assert product in stock.orderable()


def test_pack_form_names_the_held_lot_with_its_date_and_what_to_do(client, station):
    part = ready_part(station)
    line = part.lines.get()
    lot = line.product.lots.get()
    until = spray(lot, days_ago=2, interval=10)  # sprayed after the order was paid
    client.force_login(part.shop.owner)
    page = client.get(f"/seller/orders/{part.pk}/pack/")
    text = page.content.decode()
    assert f"Lot {lot.code} is inside its pre-harvest interval until {short(until)}." in text
    assert "Record a harvest lot" in text and f"/seller/products/{line.product_id}/lots/new/" in text
    assert f'value="{lot.pk}"' not in text and "Choose a lot" not in text  # no empty choice to puzzle over
    refused = client.post(f"/seller/orders/{part.pk}/pack/", {f"line_{line.pk}": str(lot.pk)})
    assert refused.status_code == 200
    assert ShopOrder.objects.get(pk=part.pk).status == ShopOrder.Status.ACCEPTED
    # The service says the same when a lot is named directly (the API packs through it).
    from django.core.exceptions import ValidationError

    from logistics import services
    with pytest.raises(ValidationError) as exc:
        services.pack_shop_order(shop_order=part, actor=part.shop.owner, lots={line.pk: lot})
    assert f"inside its pre-harvest interval until {short(until)}" in exc.value.message_dict[f"line_{line.pk}"][0]
    # A new lot recorded: the form offers it and the order packs.
    fresh = HarvestLotFactory(product=line.product, quantity=50)
    assert client.post(f"/seller/orders/{part.pk}/pack/", {f"line_{line.pk}": str(fresh.pk)}).status_code == 302
    assert ShopOrder.objects.get(pk=part.pk).status == ShopOrder.Status.PACKED
