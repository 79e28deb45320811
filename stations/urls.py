from django.urls import path

from . import assisted_views, views

app_name = "stations"

urlpatterns: list = [
    # pages, added by this app's views
    # The agent's farmers without smartphones: register, consent, act for them.
    path("agent/farmers/", views.farmer_list, name="farmers"),
    path("agent/farmers/new/", views.farmer_register, name="farmer_register"),
    path("agent/farmers/<int:farmer_id>/", views.farmer_detail, name="farmer"),
    path("agent/farmers/<int:farmer_id>/act/", views.act_for, name="act_for"),
    path("agent/acting/stop/", views.stop_acting, name="stop_acting"),
    # Orders the agent places for villagers, paid in cash and picked up at the station.
    path("agent/villager-orders/", assisted_views.villager_orders, name="villager_orders"),
    path("agent/villager-orders/new/", assisted_views.villager_order_new, name="villager_order_new"),
    path("agent/villager-orders/<str:number>/", assisted_views.villager_order, name="villager_order"),
    path("agent/villager-orders/<str:number>/pickup/", assisted_views.villager_pickup, name="villager_pickup"),
    path("agent/villager-orders/<str:number>/cash/", assisted_views.villager_cash, name="villager_cash"),
    # The farmer: what was done on their behalf, withdrawing consent, a first password.
    path("me/on-my-behalf/", views.on_my_behalf, name="on_my_behalf"),
    path("me/on-my-behalf/withdraw/", views.withdraw, name="withdraw"),
    path("me/password/", views.set_password, name="set_password"),
]
