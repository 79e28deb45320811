from django.urls import path

from . import views

app_name = "subscriptions"

urlpatterns = [
    path("boxes/", views.box_list, name="boxes"),
    path("boxes/<int:pk>/", views.box_detail, name="box"),
    path("subscriptions/", views.my_subscriptions, name="mine"),
    path("subscriptions/<int:pk>/change/", views.subscription_change, name="change"),
    path("subscriptions/<int:pk>/<str:action>/", views.subscription_action, name="action"),
    path("seller/boxes/", views.seller_boxes, name="seller_boxes"),
    path("seller/boxes/new/", views.seller_box_create, name="seller_box_create"),
    path("seller/boxes/<int:pk>/edit/", views.seller_box_edit, name="seller_box_edit"),
]
