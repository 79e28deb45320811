"""Shop and catalogue pages: the buyer's catalogue and the seller's pages live in their own modules."""
from .urls_catalogue import urlpatterns as catalogue_patterns
from .urls_seller import urlpatterns as seller_patterns

app_name = "shops"

urlpatterns = [*catalogue_patterns, *seller_patterns]
