from django.urls import path, re_path

from . import views

app_name = "traceability"

urlpatterns: list = [
    path("t/<str:code>", views.lot_page, name="lot"),
    path("t/<str:code>/qr.svg", views.lot_qr_svg, name="qr_svg"),
    path("t/<str:code>/qr.png", views.lot_qr_png, name="qr_png"),
    # GS1 Digital Link: /01/<GTIN-14>/10/<lot>, further key qualifiers or attributes ignored.
    re_path(r"^01/(?P<gtin>[0-9]+)/10/(?P<lot_code>[^/]+)(?:/.*)?$", views.digital_link, name="digital_link"),
    # Identifiers used in trace records (EPCIS), resolvable.
    path("obj/lot/<str:code>", views.lot_object, name="lot_object"),
    path("obj/parcel/<str:code>", views.parcel_object, name="parcel_object"),
    path("obj/sensor/<int:pk>", views.sensor_object, name="sensor_object"),
    path("loc/farm/<slug:slug>", views.farm_location, name="farm_location"),
    path("loc/station/<int:pk>", views.station_location, name="station_location"),
]
