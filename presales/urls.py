app_name = "presales"

urlpatterns: list = []
