from django.urls import path

from . import views

app_name = "monitoring"

urlpatterns = [
    path("monitoring/sensors/", views.sensor_list, name="sensors"),
    path("monitoring/sensors/new/", views.sensor_create, name="sensor_create"),
    path("monitoring/sensors/<int:pk>/", views.sensor_detail, name="sensor"),
    path("monitoring/sensors/<int:pk>/revoke/", views.sensor_revoke, name="sensor_revoke"),
    path("monitoring/sensors/<int:pk>/rotate/", views.sensor_rotate, name="sensor_rotate"),
    path("monitoring/alerts/", views.alert_list, name="alerts"),
]
