"""Produce sold by weight: estimate and most at checkout, weights at packing, the final total captured in part."""
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.tests.factories import AgentFactory, BuyerFactory
from core.errors import ConflictError
from logistics import services as logistics_services
from notifications.models import Notification
from orders import services
from orders.models import Order, OrderLine, Payment, ShopOrder
from orders.payments import gateway, intents
from shops.models import Product
from shops.tests.factories import HarvestLotFactory, ProductFactory, ShopFactory

from .factories import fill_cart, place

pytestmark = pytest.mark.django_db


def weighed_product(shop=None, *, kg_price="12.00", piece_kg="2.000", stock=50) -> Product:
    """Melons sold by weight: ¥12 per kg, about 2 kg each, so ¥24.00 estimated per melon."""
    product = ProductFactory(shop=shop or ShopFactory(), unit=Product.Unit.PIECE, pricing=Product.Pricing.WEIGHT,
                             kg_price=Decimal(kg_price), unit_weight_kg=Decimal(piece_kg),
                             price=Decimal(kg_price) * Decimal(piece_kg), stock=stock)
    HarvestLotFactory(product=product, quantity=100)
    return product


def accepted(order: Order) -> ShopOrder:
    part = order.shop_orders.select_related("shop").get()
    return services.accept_shop_order(shop_order=part, actor=part.shop.owner)


def pack(part: ShopOrder, weights: dict, **kwargs) -> ShopOrder:
    lots = {line.pk: line.product.lots.first() for line in part.lines.select_related("product")}
    return logistics_services.pack_shop_order(shop_order=part, actor=part.shop.owner, lots=lots, weights=weights,
                                              **kwargs)


# --- Checkout ---------------------------------------------------------------------------------------------------------

def test_checkout_records_the_estimate_and_the_most_of_a_weighed_line(settings):
    settings.WEIGHED_BUFFER = Decimal("0.10")
    order = place(lines=[(weighed_product(), 3)])  # 3 melons x ¥24.00 = ¥72.00 estimated
    line = OrderLine.objects.get()
    assert (line.price_per_kg, line.estimated_total, line.max_total, line.line_total, line.weight_kg) == (
        Decimal("12.00"), Decimal("72.00"), Decimal("79.20"), Decimal("72.00"), None)
    assert order.max_total == order.total + Decimal("7.20")
    assert order.is_weighed and line.final_total is None


def test_an_order_without_weighed_produce_has_no_most():
    order = place()
    assert order.max_total is None and order.authorised_total == order.total
    assert OrderLine.objects.filter(price_per_kg__isnull=False).count() == 0


def test_the_cart_shows_the_estimate_and_the_most(api_client, settings):
    settings.WEIGHED_BUFFER = Decimal("0.25")
    buyer = BuyerFactory()
    fill_cart(buyer, (weighed_product(), 2))
    api_client.force_authenticate(buyer)
    row = api_client.get("/api/v1/cart/").json()["shops"][0]["items"][0]
    assert (row["pricing"], row["price_per_kg"], row["estimated_total"], row["max_total"]) == (
        "weight", "12.00", "48.00", "60.00")


def test_a_product_sold_by_weight_is_priced_from_its_price_per_kg(api_client):
    shop = ShopFactory()
    api_client.force_authenticate(shop.owner)
    category = ProductFactory(shop=shop).category
    response = api_client.post("/api/v1/products/", {
        "shop": shop.slug, "title": "西瓜", "category": category.pk, "unit": "piece", "unit_weight_kg": "4.500",
        "pricing": "weight", "price_per_kg": "3.20", "stock": 10}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["pricing"], body["price_per_kg"], body["estimated_weight_kg"], body["price"]) == (
        "weight", "3.20", "4.500", "14.40")
    missing = api_client.post("/api/v1/products/", {
        "shop": shop.slug, "title": "南瓜", "category": category.pk, "unit": "piece", "unit_weight_kg": "3",
        "pricing": "weight", "stock": 10}, format="json")
    assert missing.status_code == 400 and "price_per_kg" in missing.json()


# --- Weighing at packing ----------------------------------------------------------------------------------------------

def test_packing_with_the_real_weight_prices_the_line_and_tells_the_buyer():
    order = place(lines=[(weighed_product(), 3)])  # cash on delivery: goes to the farm at once
    part = accepted(order)
    line = part.lines.get()
    pack(part, {line.pk: "5.5"})  # 5.5 kg x ¥12 = ¥66.00 (estimate ¥72.00)
    line.refresh_from_db()
    part.refresh_from_db()
    order.refresh_from_db()
    assert (line.weight_kg, line.line_total, line.final_total) == (Decimal("5.500"), Decimal("66.00"),
                                                                   Decimal("66.00"))
    assert part.items_total == Decimal("66.00") and part.total == Decimal("66.00") + part.shipping_fee
    assert order.total == part.total and part.status == ShopOrder.Status.PACKED
    note = Notification.objects.filter(recipient=order.buyer, kind="order_weighed").first()
    assert "5.5 kg" in note.body and "66.00" in note.body


def test_overweight_is_capped_at_the_line_most():
    order = place(lines=[(weighed_product(), 3)])
    part = accepted(order)
    line = part.lines.get()
    pack(part, {line.pk: "9"})  # 9 kg x ¥12 = ¥108, above the most ¥79.20: the farm absorbs the rest
    line.refresh_from_db()
    assert (line.weight_kg, line.line_total) == (Decimal("9.000"), line.max_total)


@pytest.mark.parametrize("weight", ["0", "-1", "601", "abc"])
def test_a_bad_weight_is_refused_and_nothing_is_saved(weight):
    order = place(lines=[(weighed_product(), 3)])  # estimated 6 kg: above 600 kg is absurd
    part = accepted(order)
    line = part.lines.get()
    with pytest.raises(ValidationError) as exc:
        pack(part, {line.pk: weight})
    assert f"weight_{line.pk}" in exc.value.message_dict
    line.refresh_from_db()
    part.refresh_from_db()
    assert (line.weight_kg, line.lot_id, line.line_total, part.status) == (
        None, None, Decimal("72.00"), ShopOrder.Status.ACCEPTED)


def test_a_weighed_line_needs_its_weight_and_another_line_takes_none():
    shop = ShopFactory()
    melon, apples = weighed_product(shop), ProductFactory(shop=shop, stock=10)
    HarvestLotFactory(product=apples, quantity=10)
    part = accepted(place(lines=[(melon, 1), (apples, 1)]))
    lines = {line.product_id: line for line in part.lines.all()}
    with pytest.raises(ValidationError) as exc:
        pack(part, {lines[apples.pk].pk: "5"})
    assert set(exc.value.message_dict) == {f"weight_{lines[melon.pk].pk}", f"weight_{lines[apples.pk].pk}"}
    assert ShopOrder.objects.get().status == ShopOrder.Status.ACCEPTED


def test_pack_api_takes_weights_and_answers_400_for_bad_ones(api_client):
    shop = ShopFactory()
    melon, apples = weighed_product(shop), ProductFactory(shop=shop, stock=10)
    HarvestLotFactory(product=apples, quantity=10)
    part = accepted(place(lines=[(melon, 2), (apples, 1)]))
    lines = {line.product_id: line for line in part.lines.all()}
    melon_line, apple_line = lines[melon.pk], lines[apples.pk]
    api_client.force_authenticate(shop.owner)
    url = f"/api/v1/seller/orders/{part.pk}/pack/"

    def body(melon_weight, apple_weight=None):
        apple = {"line": apple_line.pk, "lot": str(apples.lots.first().pk)}
        if apple_weight is not None:
            apple["weight_kg"] = apple_weight
        return {"lines": [{"line": melon_line.pk, "lot": melon.lots.first().code, "weight_kg": melon_weight}, apple]}

    for bad in (body("0"), body("-2"), body("500"), body("4", apple_weight="5")):
        response = api_client.post(url, bad, format="json")
        assert response.status_code == 400, response.json()
    assert api_client.post(url, body("not a number"), format="json").status_code == 400
    assert OrderLine.objects.filter(weight_kg__isnull=False).count() == 0
    assert ShopOrder.objects.get().status == ShopOrder.Status.ACCEPTED

    response = api_client.post(url, body("3.8"), format="json")
    assert response.status_code == 200, response.json()
    row = next(r for r in response.json()["lines"] if r["id"] == melon_line.pk)
    assert (row["pricing"], row["weight_kg"], row["final_total"], row["estimated_total"], row["max_total"]) == (
        "weight", "3.800", "45.60", "48.00", "52.80")


def test_the_pack_page_asks_for_the_weight_and_shows_a_bad_one(client):
    part = accepted(place(lines=[(weighed_product(), 1)]))
    line = part.lines.select_related("product").get()
    client.force_login(part.shop.owner)
    url = f"/seller/orders/{part.pk}/pack/"
    page = client.get(url)
    assert page.status_code == 200 and f'name="weight_{line.pk}"' in page.content.decode()
    response = client.post(url, {f"line_{line.pk}": str(line.product.lots.first().pk), f"weight_{line.pk}": "0"})
    assert response.status_code == 200
    assert "more than 0 kg" in response.content.decode()
    assert ShopOrder.objects.get().status == ShopOrder.Status.ACCEPTED


def test_cash_on_delivery_collects_the_weighed_total_and_not_before_weighing():
    order = place(lines=[(weighed_product(), 3)])
    part = accepted(order)
    agent = AgentFactory()
    with pytest.raises(ConflictError):
        services.record_cash_payment(order=order, agent=agent)
    pack(part, {part.lines.get().pk: "5.5"})
    payment = services.record_cash_payment(order=order, agent=agent)
    order.refresh_from_db()
    assert payment.amount == order.total == Decimal("66.00") + part.shipping_fee
    assert order.status == Order.Status.PAID


# --- Card: authorised for the most, captured for the weighed total (localstripe) --------------------------------------

def authorised_order(lines) -> Order:
    """A weighed card order whose card the buyer authorised at the pay page."""
    order = place(lines=lines, payment_method=Order.PaymentMethod.STRIPE)
    details = intents.start_payment(order=order)
    intents.apply_intent(intent=gateway.confirm_intent(details["payment_intent"], payment_method="pm_card_visa"))
    order.refresh_from_db()
    return order


def test_a_weighed_card_order_is_authorised_for_its_most_and_goes_to_the_farm(localstripe):
    order = authorised_order([(weighed_product(), 3)])
    intent = gateway.stripe_client().v1.payment_intents.retrieve(order.payments.get().intent_id)
    assert (intent.amount, intent.capture_method, intent.status) == (
        int(order.max_total * 100), "manual", "requires_capture")
    assert order.status == Order.Status.PENDING_PAYMENT and order.reserved_until is None
    assert order.shop_orders.get().status == ShopOrder.Status.NEW
    assert Notification.objects.filter(recipient=order.buyer, kind="order_authorised").exists()
    assert services.expire_unpaid_orders(now=timezone.now() + timedelta(days=1)) == 0


def test_packing_the_weights_captures_the_final_total_and_releases_the_rest(
        localstripe, django_capture_on_commit_callbacks):
    order = authorised_order([(weighed_product(), 3)])
    part = accepted(order)
    with django_capture_on_commit_callbacks(execute=True):
        pack(part, {part.lines.get().pk: "5.5"})
    order.refresh_from_db()
    payment = order.payments.get()
    assert order.status == Order.Status.PAID and order.total == Decimal("66.00") + part.shipping_fee
    assert (payment.status, payment.amount) == (Payment.Status.SUCCEEDED, order.total)
    intent = gateway.stripe_client().v1.payment_intents.retrieve(payment.intent_id).to_dict()
    charge = intent["latest_charge"]
    charge = charge if isinstance(charge, dict) else gateway.stripe_client().v1.charges.retrieve(charge).to_dict()
    # localstripe records a partial capture as the whole charge captured and the rest refunded at once.
    assert intent["status"] == "succeeded" and charge["captured"]
    assert charge["amount"] - charge["amount_refunded"] == int(order.total * 100) < int(order.max_total * 100)
    with pytest.raises(ConflictError):  # the money is taken: the weights stay
        pack(part, {part.lines.get().pk: "6"})


def test_overweight_captures_no_more_than_the_authorised_most(localstripe, django_capture_on_commit_callbacks):
    order = authorised_order([(weighed_product(), 3)])
    part = accepted(order)
    with django_capture_on_commit_callbacks(execute=True):
        pack(part, {part.lines.get().pk: "12"})
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.total == order.max_total
    assert order.payments.get().amount == order.max_total


def test_the_capture_waits_for_every_farm_to_weigh(localstripe, django_capture_on_commit_callbacks):
    first, second = weighed_product(), weighed_product()
    order = authorised_order([(first, 1), (second, 1)])
    parts = [services.accept_shop_order(shop_order=so, actor=so.shop.owner)
             for so in order.shop_orders.select_related("shop").order_by("id")]
    with django_capture_on_commit_callbacks(execute=True):
        pack(parts[0], {parts[0].lines.get().pk: "2.1"})
    assert order.payments.get().status == Payment.Status.REQUIRES_CAPTURE
    # The other farm cancels its part: nothing is left to weigh, so the first part's total is captured.
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_shop_order(shop_order=parts[1], actor=parts[1].shop.owner, reason="冰雹")
    order.refresh_from_db()
    payment = order.payments.get()
    parts[0].refresh_from_db()
    assert order.status == Order.Status.PAID
    assert (payment.status, payment.amount) == (Payment.Status.SUCCEEDED, parts[0].total)


def test_an_authorisation_not_captured_in_6_days_is_renewed_or_the_order_expires(
        localstripe, settings, django_capture_on_commit_callbacks):
    settings.WEIGHED_CAPTURE_DAYS, settings.WEIGHED_REAUTHORISE_HOURS = 6, 24
    order = authorised_order([(weighed_product(), 3)])
    assert services.renew_weighed_authorisations() == 0  # too early
    later = timezone.now() + timedelta(days=6, hours=1)
    assert services.renew_weighed_authorisations(now=later) == 1
    order.refresh_from_db()
    assert order.payments.get().status == Payment.Status.CANCELLED
    assert order.reserved_until == later + timedelta(hours=24) and order.status == Order.Status.PENDING_PAYMENT
    assert Notification.objects.filter(recipient=order.buyer, kind="order_reauthorise").exists()
    assert services.renew_weighed_authorisations(now=later) == 0  # once
    # The buyer authorises again: the order waits for its weights once more.
    with django_capture_on_commit_callbacks(execute=True):
        details = intents.start_payment(order=order)
        intents.apply_intent(intent=gateway.confirm_intent(details["payment_intent"], payment_method="pm_card_visa"))
    order.refresh_from_db()
    assert order.reserved_until is None and order.payments.filter(status=Payment.Status.REQUIRES_CAPTURE).count() == 1


def test_an_order_not_authorised_again_expires_and_the_buyer_is_told(localstripe, settings):
    order = authorised_order([(weighed_product(stock=10), 3)])
    later = timezone.now() + timedelta(days=6, hours=1)
    services.renew_weighed_authorisations(now=later)
    assert services.expire_unpaid_orders(now=later + timedelta(hours=25)) == 1
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert Notification.objects.filter(recipient=order.buyer, kind="order_expired").exists()
    assert Product.objects.get().stock == 10


def test_the_seller_product_form_sells_by_weight(client):
    product = ProductFactory()
    client.force_login(product.shop.owner)
    url = f"/seller/products/{product.pk}/"
    data = {"title": product.title, "category": product.category_id, "unit": "piece", "unit_weight_kg": "2.5",
            "price": "", "stock": "10", "min_order": "1", "pricing": "weight", "kg_price": "", "is_active": "on"}
    response = client.post(url, data)
    assert response.status_code == 200 and "price per kg" in response.content.decode()
    response = client.post(url, {**data, "kg_price": "8.00"})
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.pricing, product.kg_price, product.price) == ("weight", Decimal("8.00"), Decimal("20.00"))


def test_the_sellers_order_page_shows_the_estimate_then_the_weight_and_final_price(client):
    order = place(lines=[(weighed_product(), 3)])  # about 6 kg, ¥72.00 estimated
    part = accepted(order)
    client.force_login(part.shop.owner)
    page = client.get(f"/seller/orders/{part.pk}/").content.decode()
    assert "about 6 kg" in page and "about ¥72.00" in page and "weighed" not in page
    line = part.lines.get()
    pack(part, {line.pk: "5.5"})  # 5.5 kg x ¥12 = ¥66.00
    page = client.get(f"/seller/orders/{part.pk}/").content.decode()
    assert "weighed 5.500 kg" in page and "¥66.00" in page and "(estimate ¥72.00)" in page
    buyer_page = client.get(f"/orders/{order.number}/")
    assert buyer_page.status_code in (302, 404)  # the farmer does not see the buyer's page
    client.force_login(order.buyer)
    assert "weighed 5.500 kg" in client.get(order.get_absolute_url()).content.decode()
