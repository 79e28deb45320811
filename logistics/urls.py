from django.urls import path

from . import views

app_name = "logistics"

urlpatterns: list = [
    # Sellers: pack, hand over, print the label, answer reviews (beside orders' /seller/orders/<pk>/ pages).
    path("seller/orders/<int:pk>/pack/", views.seller_pack, name="seller_pack"),
    path("seller/orders/<int:pk>/hand-over/", views.seller_hand_over, name="seller_hand_over"),
    path("seller/reviews/", views.seller_reviews, name="seller_reviews"),
    path("seller/reviews/<int:pk>/reply/", views.review_reply, name="review_reply"),
    path("parcels/<str:code>/label/", views.parcel_label, name="label"),
    # The station agent.
    path("agent/", views.agent_home, name="agent"),
    path("agent/parcels/<str:code>/", views.agent_parcel, name="agent_parcel"),
    path("agent/parcels/<str:code>/deliver/", views.agent_deliver, name="agent_deliver"),
    path("agent/parcels/<str:code>/cash/", views.agent_cash, name="agent_cash"),
    path("agent/shipments/", views.agent_shipments, name="agent_shipments"),
    path("agent/shipments/<int:pk>/", views.agent_shipment, name="agent_shipment"),
    path("agent/shipments/<int:pk>/parcels/", views.agent_shipment_add, name="agent_shipment_add"),
    path("agent/shipments/<int:pk>/remove/", views.agent_shipment_remove, name="agent_shipment_remove"),
    path("agent/shipments/<int:pk>/depart/", views.agent_shipment_depart, name="agent_shipment_depart"),
    path("agent/shipments/<int:pk>/events/", views.agent_shipment_event, name="agent_shipment_event"),
    # Buyers: confirm receipt, rate the farm.
    path("delivery/<int:pk>/confirm/", views.confirm_delivery, name="confirm_delivery"),
    path("reviews/new/<int:pk>/", views.review_create, name="review_create"),
    path("reviews/shop/<slug:slug>/", views.shop_reviews, name="shop_reviews"),
    # Anyone with a parcel code.
    path("track/", views.track, name="track"),
    path("track/<str:code>", views.track_parcel, name="track_parcel"),
    path("track/<str:code>/", views.track_parcel),
]
