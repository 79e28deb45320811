"""The API paths of API.md reach the logistics views although orders' routers are included first."""
import pytest
from django.urls import resolve

from logistics import api


@pytest.mark.parametrize("path, view", [
    ("/api/v1/seller/orders/12/pack/", api.PackView),
    ("/api/v1/seller/orders/12/hand-over/", api.HandOverView),
    ("/api/v1/orders/12/confirm-delivery/", api.ConfirmDeliveryView),
    ("/api/v1/agent/parcels/", api.AgentParcelList),
    ("/api/v1/agent/parcels/P4K7Q9M2XA/receive/", api.ReceiveView),
    ("/api/v1/track/P4K7Q9M2XA/", api.TrackView),
    ("/api/v1/stations/", api.StationViewSet),
    ("/api/v1/stations/3/agents/", api.StationViewSet),
    ("/api/v1/shipments/", api.ShipmentViewSet),
    ("/api/v1/shipments/3/events/", api.ShipmentViewSet),
])
def test_api_paths_resolve_to_logistics(path, view):
    match = resolve(path)
    assert getattr(match.func, "cls", None) is view


def test_orders_own_paths_are_untouched():
    assert resolve("/api/v1/seller/orders/12/accept/").func.cls.__module__ == "orders.api"
    assert resolve("/api/v1/orders/12/cancel/").func.cls.__module__ == "orders.api"


@pytest.mark.parametrize("path, name", [
    ("/seller/orders/12/pack/", "logistics:seller_pack"),
    ("/seller/orders/12/hand-over/", "logistics:seller_hand_over"),
    ("/track/P4K7Q9M2XA", "logistics:track_parcel"),
    ("/agent/", "logistics:agent"),
    ("/delivery/12/confirm/", "logistics:confirm_delivery"),
])
def test_pages_resolve(path, name):
    assert resolve(path).view_name == name


@pytest.mark.django_db
def test_the_schema_documents_the_endpoints(client):
    schema = client.get("/api/schema/?format=json").json()
    for path in ("/api/v1/seller/orders/{id}/pack/", "/api/v1/seller/orders/{id}/hand-over/",
                 "/api/v1/orders/{id}/confirm-delivery/", "/api/v1/agent/parcels/",
                 "/api/v1/agent/parcels/{code}/receive/", "/api/v1/shipments/", "/api/v1/shipments/{id}/events/",
                 "/api/v1/stations/{id}/agents/", "/api/v1/track/{code}/", "/api/v1/reviews/"):
        assert path in schema["paths"], path
