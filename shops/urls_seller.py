# Seller pages under /seller/: shops, products, photos, lots and input logs.
urlpatterns: list = []
