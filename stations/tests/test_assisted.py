"""Buying at the village station for a villager: the API and the pages place an order paid in cash at the station,
the villager's account is made once per number, permissions, stock, and the pickup with the delivery code."""
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import is_password_usable
from django.urls import reverse
from django.utils import translation

from accounts.models import Address, User
from accounts.tests.factories import BuyerFactory, FarmerFactory
from ledger.services import drawer_balance
from logistics import services as logistics_services
from logistics.models import Parcel
from logistics.tests.factories import StationFactory, agent_at
from orders import services as order_services
from orders.models import Order, Payment, ShopOrder
from shops.models import Product
from shops.search import build_document
from shops.tests.factories import HarvestLotFactory, ProductFactory, ShopFactory, VillageFactory
from stations import assisted

pytestmark = pytest.mark.django_db

PHONE = "13905350177"
ORDERS_URL = "/api/v1/agent/orders/"


# --- The world: the agent's station, and a farm that another station sends out -----------------------------------

def farm_product(farm_station, **kwargs) -> Product:
    """A product of a farm in a village `farm_station` serves, with a harvest lot to pack from."""
    shop = ShopFactory(village=farm_station.villages.first())
    product = ProductFactory(shop=shop, **{"price": Decimal("30.00"), "stock": 10, **kwargs})
    HarvestLotFactory(product=product, quantity=100)
    return product


@pytest.fixture
def home():
    return StationFactory(name="国路夼村服务站", address="村委会东侧",
                          villages=[VillageFactory(name="国路夼村", city="烟台市", county="栖霞市", province="山东省")])


@pytest.fixture
def agent(home):
    return agent_at(home)


@pytest.fixture
def farm_station():
    return StationFactory(name="龙井村服务站", villages=[VillageFactory(name="龙井村", city="杭州市", county="西湖区",
                                                                       province="浙江省")])


@pytest.fixture
def product(farm_station):
    return farm_product(farm_station)


def order_for_villager(agent, product, *, quantity: int = 2, phone: str = PHONE, name: str = "王秀英") -> Order:
    return assisted.place_order_for_villager(agent=agent, buyer_phone=phone, buyer_name=name,
                                             lines=[{"product": product.pk, "quantity": quantity}])


def delivered_to_station(order: Order, farm_station) -> Parcel:
    """The farm packs and hands the part over at its station; that station's agent ships it and the carrier
    delivers it to the pickup station (all through the real services)."""
    part = order.shop_orders.select_related("shop__owner").get()
    owner = part.shop.owner
    order_services.accept_shop_order(shop_order=part, actor=owner)
    logistics_services.pack_shop_order(shop_order=part, actor=owner,
                                       lots={line.pk: line.product.lots.first() for line in part.lines.all()})
    parcel = logistics_services.hand_over_shop_order(shop_order=part, actor=owner)
    sender = agent_at(farm_station)
    logistics_services.receive_parcel(actor=sender, code=parcel.code)
    shipment = logistics_services.create_shipment(actor=sender, destination=order.city, carrier="县城班车")
    logistics_services.add_parcels_to_shipment(shipment=shipment, actor=sender, codes=[parcel.code])
    logistics_services.record_shipment_event(shipment=shipment, actor=sender, kind="departed")
    logistics_services.record_shipment_event(shipment=shipment, actor=sender, kind="delivered",
                                             location=order.address_line)
    return Parcel.objects.get(pk=parcel.pk)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10 ** 6:06d}"


# --- Placing the order -------------------------------------------------------------------------------------------

def test_api_places_an_order_paid_in_cash_at_the_station_for_pickup_there(api_client, agent, home, product):
    api_client.force_authenticate(agent)
    response = api_client.post(ORDERS_URL, {"buyer_phone": "+86 139-0535-0177", "buyer_name": " 王秀英 ",
                                            "lines": [{"product": product.pk, "quantity": 3}]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    order = Order.objects.get()
    assert body["number"] == order.number and body["id"] == order.pk
    assert (body["status"], body["payment_method"], body["awaits_cash"]) == ("pending_payment", "cod", True)
    assert body["total"] == body["cash_due"] == str(order.total) and order.total > Decimal("90.00")
    assert body["address"] == {"name": "王秀英", "phone": PHONE, "province": "山东省", "city": "烟台市",
                               "district": "栖霞市", "line": "国路夼村服务站 · 村委会东侧", "postal_code": ""}
    assert [line["quantity"] for so in body["shop_orders"] for line in so["lines"]] == [3]
    assert body["shop_orders"][0]["status"] == "new"  # cash orders reach the farm at once
    villager = order.buyer
    assert (villager.phone, villager.display_name, villager.role) == (PHONE, "王秀英", User.Role.BUYER)
    assert not is_password_usable(villager.password)
    assert villager.addresses.get().line == "国路夼村服务站 · 村委会东侧"
    assert assisted.pickup_station_of(order) == home


def test_the_page_places_the_order_after_a_confirm_screen(client, agent, home, product, farm_station):
    client.force_login(agent)
    url = reverse("stations:villager_order_new")
    page = client.get(url)
    assert page.status_code == 200 and product.title in page.content.decode()
    picked = {"buyer_phone": PHONE, "buyer_name": "王秀英", f"qty_{product.pk}": "2"}

    tea = farm_product(farm_station, title="西湖龙井明前茶", search_document=build_document(title="西湖龙井明前茶"))
    searched = client.post(url, {**picked, "q": "龙井", "action": "search"})
    assert searched.status_code == 200
    assert [p.pk for p in searched.context["found"]] == [tea.pk]  # what was picked stays, under "Chosen"
    assert [p.pk for p, quantity in searched.context["chosen_rows"]] == [product.pk]
    confirm = client.post(url, {**picked, "action": "review"})
    assert confirm.status_code == 200 and not Order.objects.exists()
    quote = assisted.quote_lines(station=home, lines=[{"product": product.pk, "quantity": 2}])
    assert f"¥{quote.total}" in confirm.content.decode() and "value=\"place\"" in confirm.content.decode()

    token = confirm.context["token"]
    placed = client.post(url, {**picked, "action": "place", "token": token})
    order = Order.objects.get()
    assert placed.status_code == 302 and placed["Location"] == reverse("stations:villager_order", args=[order.number])
    tapped_twice = client.post(url, {**picked, "action": "place", "token": token})
    assert tapped_twice["Location"] == placed["Location"] and Order.objects.count() == 1
    assert (order.payment_method, order.total) == ("cod", quote.total)
    assert order.address_line == "国路夼村服务站 · 村委会东侧"
    shown = client.get(placed["Location"]).content.decode()
    assert order.number in shown and f"¥{order.total}" in shown and "What happens next" in shown


def test_the_page_shows_what_is_wrong_and_keeps_what_was_typed(client, agent, product):
    client.force_login(agent)
    url = reverse("stations:villager_order_new")
    response = client.post(url, {"buyer_phone": "12345", "buyer_name": "王秀英", f"qty_{product.pk}": "2",
                                 "action": "place"})
    assert response.status_code == 400
    assert "Enter a mobile number such as 13800138000." in response.content.decode()
    assert 'value="2"' in response.content.decode() and not Order.objects.exists()
    nothing = client.post(url, {"buyer_phone": PHONE, "buyer_name": "王秀英", "action": "review"})
    assert nothing.status_code == 400 and "Choose at least one product." in nothing.content.decode()


def test_a_second_order_for_the_same_number_reuses_the_villager_and_the_address(api_client, agent, product):
    first = order_for_villager(agent, product)
    api_client.force_authenticate(agent)
    response = api_client.post(ORDERS_URL, {"buyer_phone": "8613905350177", "lines": [
        {"product": product.pk, "quantity": 1}]}, format="json")
    assert response.status_code == 201, response.content
    second = Order.objects.get(pk=response.json()["id"])
    assert second.buyer == first.buyer and User.objects.filter(phone=PHONE).count() == 1
    assert Address.objects.filter(user=first.buyer).count() == 1


def test_an_existing_buyer_with_that_number_is_used(agent, product):
    buyer = BuyerFactory(phone=PHONE)
    assert order_for_villager(agent, product, name="").buyer == buyer


def test_stock_is_reserved_through_the_stock_module(agent, product):
    order_for_villager(agent, product, quantity=4)
    product.refresh_from_db()
    assert product.stock == 6


def test_an_out_of_stock_line_is_a_409_and_nothing_is_created(api_client, agent, product, farm_station):
    other = farm_product(farm_station, stock=1)
    api_client.force_authenticate(agent)
    response = api_client.post(ORDERS_URL, {"buyer_phone": PHONE, "buyer_name": "王秀英", "lines": [
        {"product": product.pk, "quantity": 2}, {"product": other.pk, "quantity": 2}]}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "out_of_stock"
    assert other.title in response.json()["detail"]
    assert not Order.objects.exists() and not User.objects.filter(phone=PHONE).exists()
    assert not Address.objects.exists()
    assert [p.stock for p in Product.objects.order_by("pk")] == [10, 1]


def test_a_line_sold_out_between_the_check_and_the_reservation_leaves_nothing(agent, product, monkeypatch):
    # The reservation is what guarantees stock: if it fails, the order, villager and address roll back with it.
    from shops import stock

    def sold_out(needed, *, in_cart=True):
        Product.objects.filter(pk=product.pk).update(stock=0)
        return real(needed, in_cart=in_cart)

    real = stock.reserve
    monkeypatch.setattr(stock, "reserve", sold_out)
    with pytest.raises(assisted.ConflictError):
        order_for_villager(agent, product)
    assert not Order.objects.exists() and not User.objects.filter(phone=PHONE).exists()


@pytest.mark.parametrize(("payload", "field"), [
    ({"buyer_phone": "12345", "buyer_name": "王秀英", "lines": [{"product": 0, "quantity": 1}]}, "buyer_phone"),
    ({"buyer_phone": PHONE, "buyer_name": "", "lines": [{"product": "P", "quantity": 1}]}, "buyer_name"),
    ({"buyer_phone": PHONE, "buyer_name": "王秀英", "lines": [{"product": 999999, "quantity": 1}]}, "lines"),
    ({"buyer_phone": PHONE, "buyer_name": "王秀英", "lines": [{"product": "P", "quantity": 0}]}, "lines"),
    ({"buyer_phone": PHONE, "buyer_name": "王秀英", "lines": []}, "lines"),
    ({"buyer_phone": PHONE, "buyer_name": "王秀英", "lines": "apples"}, "lines"),
    ({"buyer_name": "王秀英", "lines": [{"product": "P", "quantity": 1}]}, "buyer_phone"),
])
def test_bad_input_is_a_400_with_field_errors(api_client, agent, home, product, payload, field):
    for line in payload["lines"] if isinstance(payload["lines"], list) else []:
        line["product"] = {"P": product.pk}.get(line["product"], line["product"])
    api_client.force_authenticate(agent)
    response = api_client.post(ORDERS_URL, payload, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Order.objects.exists()


def test_the_catalogue_offers_produce_a_station_sends_or_receives(home, product, farm_station):
    local = farm_product(home)
    nowhere = ProductFactory(stock=10)  # a village no station serves: it could not be sent
    sold_out = farm_product(farm_station, stock=0)
    offered = set(assisted.catalogue_for(home))
    assert {product, local} <= offered and not {nowhere, sold_out} & offered


def received_here(order: Order, home) -> Parcel:
    """A farm this station serves packs and hands the part over here, and the agent receives it: it never leaves."""
    part = order.shop_orders.select_related("shop__owner").get()
    owner = part.shop.owner
    order_services.accept_shop_order(shop_order=part, actor=owner)
    logistics_services.pack_shop_order(shop_order=part, actor=owner,
                                       lots={line.pk: line.product.lots.first() for line in part.lines.all()})
    parcel = logistics_services.hand_over_shop_order(shop_order=part, actor=owner)
    logistics_services.receive_parcel(actor=agent_at(home), code=parcel.code)
    return Parcel.objects.get(pk=parcel.pk)


def test_produce_of_the_stations_own_farm_is_picked_up_where_it_was_received(api_client, agent, home):
    order = order_for_villager(agent, farm_product(home))
    api_client.force_authenticate(agent)
    url = f"{ORDERS_URL}{order.pk}/pickup/"
    early = api_client.post(url, {"code": "123456", "cash_collected": True}, format="json")
    assert early.status_code == 409  # not handed over by the farm yet
    parcel = received_here(order, home)
    listed = api_client.get(f"{ORDERS_URL}{order.pk}/").json()["parcels"]
    assert listed == [{"code": parcel.code, "status": "received", "ready": True}]

    refused = api_client.post(url, {"code": wrong(parcel.delivery_code), "cash_collected": True}, format="json")
    assert refused.status_code == 400 and "code" in refused.json()
    order.refresh_from_db()
    assert order.status == "pending_payment" and not order.payments.exists()

    taken = api_client.post(url, {"code": parcel.delivery_code, "cash_collected": True}, format="json")
    assert taken.status_code == 200, taken.content
    order.refresh_from_db()
    parcel.refresh_from_db()
    assert order.status == "completed" and parcel.status == "delivered"
    assert drawer_balance(home) == order.total


def test_a_parcel_received_here_for_an_ordinary_order_is_not_handed_over_at_the_station(agent, home):
    buyer = BuyerFactory()
    product = farm_product(home)
    address = Address.objects.create(user=buyer, name="买家", phone="13800138000", province="北京市", city="北京市",
                                     district="朝阳区", line="建国路 1 号")
    order = order_services.create_order(buyer=buyer, address=address, payment_method=Order.PaymentMethod.COD,
                                        lines=[(product, 1, product.price)])
    parcel = received_here(order, home)
    with pytest.raises(Order.DoesNotExist):
        assisted.hand_over_to_villager(agent=agent, order=order, code=parcel.delivery_code, cash_collected=True)


# --- Permissions -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["buyer", "farmer", "staff"])
def test_only_an_agent_may_order_for_a_villager(api_client, client, product, who):
    user = {"buyer": BuyerFactory, "farmer": FarmerFactory,
            "staff": lambda: BuyerFactory(is_staff=True)}[who]()
    api_client.force_authenticate(user)
    response = api_client.post(ORDERS_URL, {"buyer_phone": PHONE, "buyer_name": "王秀英", "lines": [
        {"product": product.pk, "quantity": 1}]}, format="json")
    assert response.status_code == 403
    assert api_client.get(ORDERS_URL).status_code == 403
    client.force_login(user)
    assert client.get(reverse("stations:villager_order_new")).status_code == 403
    assert not Order.objects.exists()


def test_anonymous_is_refused(api_client, product):
    assert api_client.post(ORDERS_URL, {}, format="json").status_code == 401


def test_an_agent_cannot_see_another_stations_villager_orders(api_client, client, agent, product):
    order = order_for_villager(agent, product)
    stranger = agent_at(StationFactory())
    api_client.force_authenticate(stranger)
    assert api_client.get(ORDERS_URL).json()["count"] == 0
    assert api_client.get(f"{ORDERS_URL}{order.pk}/").status_code == 404
    assert api_client.post(f"{ORDERS_URL}{order.pk}/pickup/", {"code": "123456"}).status_code == 404
    assert api_client.post(f"{ORDERS_URL}{order.pk}/cash/").status_code == 404
    client.force_login(stranger)
    assert client.get(reverse("stations:villager_order", args=[order.number])).status_code == 404
    assert client.post(reverse("stations:villager_pickup", args=[order.number]), {"code": "1"}).status_code == 404
    assert order.number not in client.get(reverse("stations:villager_orders")).content.decode()

    api_client.force_authenticate(agent)
    listed = api_client.get(ORDERS_URL, {"phone": "0177"}).json()
    assert [row["number"] for row in listed["results"]] == [order.number]
    assert "delivery_code" not in str(listed)


@pytest.mark.parametrize("orders", [1, 4])
def test_the_list_and_the_order_page_take_a_fixed_number_of_queries(client, api_client, agent, product, orders,
                                                                      django_assert_max_num_queries):
    for n in range(orders):
        order_for_villager(agent, product, quantity=1, phone=f"1390535010{n}")
    api_client.force_authenticate(agent)
    with django_assert_max_num_queries(10):
        assert api_client.get(ORDERS_URL).json()["count"] == orders
    client.force_login(agent)
    number = Order.objects.first().number
    with django_assert_max_num_queries(12):
        assert client.get(reverse("stations:villager_orders")).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get(reverse("stations:villager_order", args=[number])).status_code == 200


# --- Pickup at the station ------------------------------------------------------------------------------------

def test_pickup_refuses_a_wrong_code_and_accepts_the_right_one(api_client, agent, home, product, farm_station):
    order = order_for_villager(agent, product)
    parcel = delivered_to_station(order, farm_station)
    url = f"{ORDERS_URL}{order.pk}/pickup/"
    api_client.force_authenticate(agent)

    refused = api_client.post(url, {"code": wrong(parcel.delivery_code), "cash_collected": True}, format="json")
    assert refused.status_code == 400 and "code" in refused.json()
    order.refresh_from_db()
    assert order.status == "pending_payment" and not order.payments.exists()
    assert ShopOrder.objects.get(order=order).status == "delivered"

    no_cash = api_client.post(url, {"code": parcel.delivery_code}, format="json")
    assert no_cash.status_code == 409 and no_cash.json()["code"] == "cash_not_collected"

    taken = api_client.post(url, {"code": parcel.delivery_code, "cash_collected": True}, format="json")
    assert taken.status_code == 200, taken.content
    order.refresh_from_db()
    assert order.status == "completed" and ShopOrder.objects.get(order=order).status == "completed"
    payment = order.payments.get()
    assert (payment.provider, payment.amount, payment.collected_by) == (Payment.Provider.CASH, order.total, agent)
    assert drawer_balance(home) == order.total  # the cash is in this station's drawer
    again = api_client.post(url, {"code": parcel.delivery_code, "cash_collected": True}, format="json")
    assert again.status_code == 409


def test_pickup_on_the_page_with_the_code(client, agent, product, farm_station):
    order = order_for_villager(agent, product)
    assisted.collect_cash(agent=agent, order=order)  # paid when ordering
    parcel = delivered_to_station(order, farm_station)
    client.force_login(agent)
    page = client.get(reverse("stations:villager_order", args=[order.number])).content.decode()
    assert "Hand over to the villager" in page and parcel.delivery_code not in page
    url = reverse("stations:villager_pickup", args=[order.number])
    refused = client.post(url, {"code": wrong(parcel.delivery_code)})
    assert refused.status_code == 400 and "This delivery code is wrong" in refused.content.decode()
    taken = client.post(url, {"code": parcel.delivery_code})
    assert taken.status_code == 302
    order.refresh_from_db()
    assert order.status == "completed"


def test_nothing_can_be_picked_up_before_it_reaches_the_station(api_client, agent, product):
    order = order_for_villager(agent, product)
    api_client.force_authenticate(agent)
    response = api_client.post(f"{ORDERS_URL}{order.pk}/pickup/", {"code": "123456", "cash_collected": True},
                               format="json")
    assert response.status_code == 409
    assert not Payment.objects.exists()


def test_the_villager_account_is_made_in_chinese_and_only_once(agent, product):
    with translation.override("en"):
        order = order_for_villager(agent, product)
        order_for_villager(agent, product, phone="139 0535 0177", name="别的名字")
    villager = order.buyer
    villager.refresh_from_db()
    assert villager.language == "zh-hans" and villager.display_name == "王秀英"
    assert User.objects.filter(phone__contains="13905350177").count() == 1


# --- Demo -------------------------------------------------------------------------------------------------------

def test_the_demo_agent_orders_for_a_demo_villager_once(home, product):
    import io

    from accounts.tests.factories import AgentFactory
    from logistics.models import Agent
    from stations import assisted_demo

    agent = AgentFactory(username="agent")
    Agent.objects.create(user=agent, station=home)
    HarvestLotFactory(product=product)
    out = io.StringIO()
    assisted_demo.load(out)
    assisted_demo.load(out)
    order = Order.objects.get()
    assert (order.buyer.phone, order.recipient) == (assisted_demo.VILLAGER_PHONE, assisted_demo.VILLAGER_NAME)
    assert assisted.pickup_station_of(order) == home and order.payment_method == "cod"
    assert "already" in out.getvalue()
