"""What the production profile serves (finding 9), checked in a fresh interpreter with DJANGO_ENV=production.

- /media/ (uploaded photos) is NOT served by the app unless SERVE_MEDIA=1: the load balancer or an S3-compatible
  store serves MEDIA_ROOT (README, "What the production profile serves");
- licence photos (PRIVATE_MEDIA_ROOT) are never served, whatever SERVE_MEDIA says;
- static files are served by WhiteNoise from STATIC_ROOT (hashed names, collectstatic once per release), not from
  the source folders.
"""
import json
import secrets

from .test_settings_profiles import run

PROBE = """
import json, pathlib, django
from django.conf import settings
django.setup()
from django.test import Client
media = pathlib.Path(settings.MEDIA_ROOT); media.mkdir(parents=True, exist_ok=True)
(media / "photo.txt").write_text("a photo")
private = pathlib.Path(settings.PRIVATE_MEDIA_ROOT); (private / "licences").mkdir(parents=True, exist_ok=True)
(private / "licences" / "id.txt").write_text("an ID card")
client = Client()
print(json.dumps({
    "media": client.get("/media/photo.txt").status_code,
    "private": client.get("/media/../private/licences/id.txt").status_code,
    "private_direct": client.get("/private_media/licences/id.txt").status_code,
    "whitenoise": "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE,
    "finders": settings.WHITENOISE_USE_FINDERS,
}))
"""


def probe(tmp_path, **env) -> dict:
    result = run(["-c", PROBE], DJANGO_ENV="production", SECRET_KEY=secrets.token_urlsafe(50),
                 ALLOWED_HOSTS="testserver", SECURE_SSL_REDIRECT="0", TESTING="1", LOG_LEVEL="ERROR",
                 DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", MEDIA_ROOT=str(tmp_path / "media"),
                 PRIVATE_MEDIA_ROOT=str(tmp_path / "private"), **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_does_not_serve_media_by_default(tmp_path):
    served = probe(tmp_path)
    assert served["media"] == 404
    assert served["private"] in (400, 404) and served["private_direct"] == 404
    assert served["whitenoise"] and served["finders"] is False  # static files only from STATIC_ROOT


def test_production_serves_media_with_serve_media(tmp_path):
    served = probe(tmp_path, SERVE_MEDIA="1")
    assert served["media"] == 200
    assert served["private"] in (400, 404) and served["private_direct"] == 404  # no way out of MEDIA_ROOT


def test_the_embedded_site_serves_media(tmp_path):
    result = run(["-c", "import django; from django.conf import settings; django.setup(); "
                        "print(settings.SERVE_MEDIA)"])
    assert result.stdout.strip().splitlines()[-1] == "True"
