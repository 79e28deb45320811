# Buyer-facing catalogue: home sections, categories, search, product and shop pages.
from django.urls import path

from . import views

urlpatterns: list = [
    path("c/<slug:slug>/", views.category, name="category"),
    path("search/", views.search_page, name="search"),
    path("p/<int:pk>/", views.product, name="product"),
    path("s/<slug:slug>/", views.shop, name="shop"),
]
