from django.urls import path

from . import views

app_name = "demand"

urlpatterns = [
    path("demand/", views.board, name="board"),
    path("demand/new/", views.post_create, name="post_create"),
    path("demand/<int:pk>/", views.post_detail, name="post"),
    path("demand/<int:pk>/close/", views.post_close, name="post_close"),
    path("seller/insights/", views.insights_index, name="insights_index"),
    path("seller/insights/<slug:slug>/", views.insights, name="insights"),
]
