from django.urls import path  # noqa: F401

app_name = "stations"

urlpatterns: list = [
    # pages, added by this app's views
]
