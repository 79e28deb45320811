"""Logistics endpoints under /api/v1/. Included after orders' api_urls: the seller and buyer paths here
(pack, hand-over, confirm-delivery) are ones orders' routers do not match, so they reach these views."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("stations", api.StationViewSet, basename="station")
router.register("shipments", api.ShipmentViewSet, basename="shipment")
router.register("reviews", api.ReviewViewSet, basename="review")

urlpatterns = [
    path("seller/orders/<int:pk>/pack/", api.PackView.as_view(), name="api-seller-order-pack"),
    path("seller/orders/<int:pk>/hand-over/", api.HandOverView.as_view(), name="api-seller-order-hand-over"),
    path("orders/<int:pk>/parcels/", api.BuyerParcelList.as_view(), name="api-order-parcels"),
    path("orders/<int:pk>/confirm-delivery/", api.ConfirmDeliveryView.as_view(), name="api-order-confirm-delivery"),
    path("agent/parcels/", api.AgentParcelList.as_view(), name="api-agent-parcels"),
    path("agent/parcels/<str:code>/", api.AgentParcelDetail.as_view(), name="api-agent-parcel"),
    path("agent/parcels/<str:code>/receive/", api.ReceiveView.as_view(), name="api-agent-parcel-receive"),
    path("agent/parcels/<str:code>/deliver/", api.DeliverView.as_view(), name="api-agent-parcel-deliver"),
    path("agent/parcels/<str:code>/cash/", api.CashView.as_view(), name="api-agent-parcel-cash"),
    path("track/<str:code>/", api.TrackView.as_view(), name="api-track"),
    *router.urls,
]
