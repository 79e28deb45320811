from django.urls import path

from . import views

app_name = "traceability"

urlpatterns: list = [
    path("t/<str:code>", views.lot_page, name="lot"),
]
