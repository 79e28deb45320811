"""Shop and catalogue pages: the buyer's catalogue and the seller's pages live in their own modules."""
from django.urls import path

from . import upload_views
from .urls_catalogue import urlpatterns as catalogue_patterns
from .urls_seller import urlpatterns as seller_patterns

app_name = "shops"

urlpatterns = [
    *catalogue_patterns, *seller_patterns,
    # Photos sent in resumable chunks (shops/uploads.py), then attached to a photo form by id.
    path("uploads/", upload_views.upload_start, name="upload_start"),
    path("uploads/<str:token>/", upload_views.upload_chunk, name="upload_chunk"),
]
