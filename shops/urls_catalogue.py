# Buyer-facing catalogue: home sections, categories, search, product and shop pages.
urlpatterns: list = []
