"""Agent lists and tracking take a fixed number of queries whatever the number of rows."""
import pytest

from logistics import services

from .factories import departed, handed_over, ready_part

pytestmark = pytest.mark.django_db


def fill(station, agent, n: int):
    """n parcels expected, n on the way (with several lots and cash on delivery mixed in), n shipments."""
    for i in range(n):
        handed_over(station, lines=2, payment_method="cod" if i % 2 else "stripe")
        departed(station, agent, payment_method="cod" if i % 2 else "stripe")


@pytest.mark.parametrize("view", ["expected", "on_the_way", ""])
def test_agent_parcel_list_api(api_client, station, agent, django_assert_max_num_queries, view):
    api_client.force_authenticate(agent)
    fill(station, agent, 1)
    with django_assert_max_num_queries(7):
        assert api_client.get(f"/api/v1/agent/parcels/?view={view}").status_code == 200
    fill(station, agent, 6)
    with django_assert_max_num_queries(7):
        response = api_client.get(f"/api/v1/agent/parcels/?view={view}")
    assert response.json()["count"] >= 7


def test_shipment_list_api(api_client, station, agent, django_assert_max_num_queries):
    api_client.force_authenticate(agent)
    fill(station, agent, 1)
    with django_assert_max_num_queries(5):
        api_client.get("/api/v1/shipments/")
    fill(station, agent, 6)
    with django_assert_max_num_queries(5):
        assert api_client.get("/api/v1/shipments/").json()["count"] == 7


@pytest.mark.parametrize("view", ["expected", "on_the_way", "received_today", "waiting"])
def test_agent_home_page(client, station, agent, django_assert_max_num_queries, view):
    client.force_login(agent)
    fill(station, agent, 1)
    with django_assert_max_num_queries(12):
        assert client.get(f"/agent/?view={view}").status_code == 200
    fill(station, agent, 6)
    with django_assert_max_num_queries(12):
        assert client.get(f"/agent/?view={view}").status_code == 200


def test_agent_shipments_page(client, station, agent, django_assert_max_num_queries):
    client.force_login(agent)
    fill(station, agent, 1)
    with django_assert_max_num_queries(10):
        client.get("/agent/shipments/")
    fill(station, agent, 6)
    with django_assert_max_num_queries(10):
        assert len(client.get("/agent/shipments/").context["shipments"]) == 7


def test_tracking_api_and_page(client, api_client, station, agent, django_assert_max_num_queries):
    shipment, (parcel,) = departed(station, agent)
    with django_assert_max_num_queries(2):
        api_client.get(f"/api/v1/track/{parcel.code}/")
    with django_assert_max_num_queries(3):
        client.get(f"/track/{parcel.code}")
    for _ in range(10):
        services.record_shipment_event(shipment=shipment, actor=agent, kind="exception", problem="delayed")
    with django_assert_max_num_queries(2):
        assert len(api_client.get(f"/api/v1/track/{parcel.code}/").json()["events"]) == 14
    with django_assert_max_num_queries(3):
        client.get(f"/track/{parcel.code}")


def test_buyer_order_page_keeps_its_count_with_parcels(client, station, agent, django_assert_max_num_queries):
    buyer = ready_part(station).order.buyer
    client.force_login(buyer)
    shipment, (parcel,) = departed(station, agent, buyer=buyer)
    number = parcel.shop_order.order.number
    with django_assert_max_num_queries(10):
        assert parcel.delivery_code in client.get(f"/orders/{number}/").content.decode()
