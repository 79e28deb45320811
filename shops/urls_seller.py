# Seller pages under /seller/: shops, products, photos, lots and input logs.
from django.urls import path

from . import seller_views as views

urlpatterns: list = [
    path("seller/", views.shop_list, name="seller_shops"),
    path("seller/open-shop/", views.shop_create, name="seller_shop_create"),
    path("seller/shops/<slug:slug>/", views.shop_detail, name="seller_shop"),
    path("seller/shops/<slug:slug>/edit/", views.shop_edit, name="seller_shop_edit"),
    path("seller/shops/<slug:slug>/verification/", views.verification, name="seller_verification"),
    path("seller/shops/<slug:slug>/members/", views.members, name="seller_members"),
    path("seller/shops/<slug:slug>/members/<int:pk>/remove/", views.member_remove, name="seller_member_remove"),
    path("seller/shops/<slug:slug>/products/", views.product_list, name="seller_products"),
    path("seller/shops/<slug:slug>/products/new/", views.product_create, name="seller_product_create"),
    path("seller/products/<int:pk>/", views.product_edit, name="seller_product_edit"),
    path("seller/products/<int:pk>/price-stock/", views.product_price_stock, name="seller_product_price_stock"),
    path("seller/products/<int:pk>/withdraw/", views.product_withdraw, name="seller_product_withdraw"),
    path("seller/products/<int:pk>/photos/", views.photos_add, name="seller_photos_add"),
    path("seller/photos/<int:pk>/cover/", views.photo_cover, name="seller_photo_cover"),
    path("seller/photos/<int:pk>/delete/", views.photo_delete, name="seller_photo_delete"),
    path("seller/products/<int:pk>/lots/", views.lot_list, name="seller_lots"),
    path("seller/products/<int:pk>/lots/new/", views.lot_create, name="seller_lot_create"),
    path("seller/lots/<int:pk>/", views.lot_detail, name="seller_lot"),
]
