from django.urls import path

from . import api

urlpatterns: list = [
    path("trace/parcel/<str:code>/epcis/", api.ParcelEpcisView.as_view(), name="api-trace-parcel-epcis"),
    path("trace/<str:code>/", api.TraceView.as_view(), name="api-trace"),
    path("trace/<str:code>/epcis/", api.LotEpcisView.as_view(), name="api-trace-epcis"),
    path("trace/<str:code>/inspections/", api.InspectionView.as_view(), name="api-trace-inspections"),
]
