"""Public media served by the app itself (SERVE_MEDIA: development, or one machine with no proxy in front), with
the cache headers the load balancer gives them in production (deploy/nginx.conf).

Product photos and their variants never change under their names (random codes; variants carry a digest of
their bytes), so browsers keep them a year without asking again; other files a day.
"""
from django.conf import settings
from django.views.static import serve

IMMUTABLE_PREFIXES = ("products/",)
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=86400"


def serve_media(request, path: str, document_root=None):
    """A file under MEDIA_ROOT (read at each request, so a test's media folder is served too)."""
    response = serve(request, path, document_root=document_root or settings.MEDIA_ROOT)
    if response.status_code == 200:
        response["Cache-Control"] = IMMUTABLE if path.startswith(IMMUTABLE_PREFIXES) else SHORT
    return response
