from django.urls import path

from . import views

app_name = "orders"

urlpatterns: list = [
    path("cart/", views.cart, name="cart"),
    path("cart/add/", views.cart_add, name="cart_add"),
    path("cart/items/<int:pk>/", views.cart_update, name="cart_update"),
    path("cart/items/<int:pk>/remove/", views.cart_remove, name="cart_remove"),
    path("cart/merge/undo/", views.cart_merge_undo, name="cart_merge_undo"),
    path("cart/merge/keep/", views.cart_merge_keep, name="cart_merge_keep"),
    path("checkout/", views.checkout, name="checkout"),
    path("orders/", views.order_list, name="orders"),
    path("orders/<str:number>/", views.order_detail, name="order"),
    path("orders/<str:number>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<str:number>/buy-again/", views.order_buy_again, name="order_buy_again"),
    path("seller/orders/", views.seller_orders, name="seller_orders"),
    path("seller/orders/<int:pk>/", views.seller_order, name="seller_order"),
    path("seller/orders/<int:pk>/accept/", views.seller_order_accept, name="seller_order_accept"),
    path("seller/orders/<int:pk>/cancel/", views.seller_order_cancel, name="seller_order_cancel"),
]

# Card payment (orders/payment_views.py).
from . import payment_views  # noqa: E402

urlpatterns += [
    path("orders/<str:number>/pay/", payment_views.pay_page, name="pay"),
    path("orders/<str:number>/pay/card/", payment_views.pay_card, name="pay_card"),
    path("orders/<str:number>/pay/status/", payment_views.pay_status, name="pay_status"),
    path("orders/<str:number>/pay/cash/", payment_views.pay_cash, name="pay_cash"),
]

# Saved cards (orders/card_views.py).
from . import card_views  # noqa: E402

urlpatterns += [
    path("account/cards/", card_views.saved_cards, name="saved_cards"),
    path("account/cards/add/", card_views.saved_card_add, name="saved_card_add"),
    path("account/cards/status/", card_views.saved_card_status, name="saved_card_status"),
    path("account/cards/<int:pk>/remove/", card_views.saved_card_remove, name="saved_card_remove"),
]
