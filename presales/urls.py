from django.urls import path

from . import views

app_name = "presales"

urlpatterns = [
    path("presales/", views.presale_list, name="presales"),
    path("presales/<int:pk>/", views.presale_detail, name="presale"),
    path("presales/orders/", views.preorder_list, name="preorders"),
    path("presales/orders/<int:pk>/", views.preorder_detail, name="preorder"),
    path("presales/orders/<int:pk>/cancel/", views.preorder_cancel, name="preorder_cancel"),
    # Card authorisation of a pre-order or a group place (by the order's number).
    path("presales/hold/<str:number>/", views.hold_page, name="hold"),
    path("presales/hold/<str:number>/card/", views.hold_card, name="hold_card"),
    path("presales/hold/<str:number>/status/", views.hold_status, name="hold_status"),
    path("groups/", views.group_list, name="groups"),
    path("groups/mine/", views.my_groups, name="my_groups"),
    path("groups/offers/<int:pk>/start/", views.group_start, name="group_start"),
    path("groups/<str:code>/", views.group_detail, name="group"),
    path("groups/<str:code>/leave/", views.group_leave, name="group_leave"),
    path("seller/presales/", views.seller_presales, name="seller_presales"),
    path("seller/presales/new/", views.seller_presale_create, name="seller_presale_create"),
    path("seller/presales/<int:pk>/", views.seller_presale, name="seller_presale"),
    path("seller/presales/<int:pk>/cancel/", views.seller_presale_cancel, name="seller_presale_cancel"),
    path("seller/presales/orders/<int:pk>/cancel/", views.seller_preorder_cancel, name="seller_preorder_cancel"),
    path("seller/group-offers/", views.seller_deals, name="seller_deals"),
    path("seller/group-offers/new/", views.seller_deal_create, name="seller_deal_create"),
    path("seller/group-offers/<int:pk>/", views.seller_deal, name="seller_deal"),
]
