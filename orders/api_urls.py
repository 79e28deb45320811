from django.urls import path
from rest_framework.routers import SimpleRouter

from . import api

router = SimpleRouter()
router.register("cart/items", api.CartItemViewSet, basename="cart-item")
router.register("orders", api.OrderViewSet, basename="order")
router.register("seller/orders", api.SellerOrderViewSet, basename="seller-order")

urlpatterns: list = [
    path("cart/", api.CartView.as_view(), name="api-cart"),
    *router.urls,
]

# Card payment (orders/payment_views.py).
from . import payment_views  # noqa: E402

urlpatterns += [
    path("orders/<int:pk>/pay/", payment_views.PayOrderView.as_view(), name="api-order-pay"),
]

# Saved cards (orders/card_views.py).
from . import card_views  # noqa: E402

card_router = SimpleRouter()
card_router.register("payment-methods", card_views.PaymentMethodViewSet, basename="payment-method")
urlpatterns += card_router.urls
