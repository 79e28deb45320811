"""Photo variants (widths, AVIF, placeholder), the <picture> markup, regenerating old photos, media cache headers."""
import base64
import io
import re

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.template import Context, Template
from django.test import RequestFactory
from PIL import Image

from shops import images
from shops.demo_photos import demo_photo
from shops.models import ProductImage
from shops.templatetags.pictures import TILE_SIZES
from shops.tiles import TileGrid

from .factories import ProductFactory

pytestmark = pytest.mark.django_db

needs_avif = pytest.mark.skipif(not images.AVIF_ENABLED, reason="this Pillow cannot write AVIF")


def add(product, size=(1200, 900), seed=1) -> ProductImage:
    photo = images.add_product_image(product=product, actor=product.shop.owner,
                                     upload=demo_photo("Fuji apples", seed, size=size))
    images.build_thumbnails(photo.pk)  # what the task does after commit
    photo.refresh_from_db()
    return photo


def open_stored(name: str) -> Image.Image:
    with default_storage.open(name, "rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return image


@needs_avif
def test_each_width_is_made_as_avif_and_webp_and_avif_is_smaller():
    photo = add(ProductFactory(), size=(1200, 900))
    assert list(photo.thumbnails) == list(photo.avif) == ["160", "320", "640", "960", "1200"]
    for width in ("160", "320", "960"):
        avif, webp = open_stored(photo.avif[width]), open_stored(photo.thumbnails[width])
        assert (avif.format, webp.format) == ("AVIF", "WEBP")
        assert avif.size == webp.size == (int(width), round(900 * int(width) / 1200))
        assert default_storage.size(photo.avif[width]) < default_storage.size(photo.thumbnails[width])
    # A tile's file: small enough that 16 tiles fit a phone's page budget.
    assert default_storage.size(photo.avif["320"]) < 8 * 1024


def test_the_placeholder_is_a_tiny_inline_webp_of_the_photo():
    photo = add(ProductFactory(), size=(800, 600))
    prefix = "data:image/webp;base64,"
    assert photo.placeholder.startswith(prefix) and len(photo.placeholder) < 300
    tiny = Image.open(io.BytesIO(base64.b64decode(photo.placeholder[len(prefix):])))
    assert tiny.format == "WEBP" and tiny.size == (16, 12)


def test_variant_names_carry_a_digest_so_they_can_be_cached_for_ever():
    photo = add(ProductFactory(), size=(800, 600))
    stem = photo.image.name.rsplit(".", 1)[0]
    for width, name in [*photo.thumbnails.items(), *photo.avif.items()]:
        assert re.fullmatch(rf"{re.escape(stem)}-{width}-[0-9a-f]{{8}}\.(webp|avif)", name)


def test_photo_variants_command_makes_what_older_photos_lack_and_leaves_complete_ones():
    old = add(ProductFactory(), size=(800, 600), seed=2)
    # A photo from before the 160 px width, AVIF and placeholders: only its 320 and 640 px WebP.
    ProductImage.objects.filter(pk=old.pk).update(
        thumbnails={k: v for k, v in old.thumbnails.items() if k in ("320", "640")}, avif={}, placeholder="")
    complete = add(ProductFactory(), size=(800, 600), seed=3)
    assert images.photos_missing_variants() == [old.pk]

    out = io.StringIO()
    call_command("photo_variants", "--dry-run", stdout=out)
    assert "1 photo(s) need new variants" in out.getvalue()
    call_command("photo_variants", stdout=out)

    old.refresh_from_db()
    assert list(old.thumbnails) == ["160", "320", "640", "800"] and old.placeholder
    assert bool(old.avif) == images.AVIF_ENABLED
    assert images.photos_missing_variants() == []
    assert ProductImage.objects.get(pk=complete.pk).thumbnails == complete.thumbnails


def test_deleting_a_photo_removes_its_avif_files_too(django_capture_on_commit_callbacks):
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=True):
        photo = add(product, size=(800, 600))
    files = [*photo.thumbnails.values(), *photo.avif.values()]
    with django_capture_on_commit_callbacks(execute=True):
        images.delete_image(image=photo, actor=product.shop.owner)
    assert files and not any(default_storage.exists(name) for name in files)


# --- Markup ---------------------------------------------------------------------------------

def render(source: str, **context) -> str:
    request = RequestFactory().get("/")
    return Template("{% load catalogue pictures %}" + source).render(Context({"request": request, **context}))


@needs_avif
def test_a_tile_offers_every_width_in_avif_then_webp_with_sizes_in_css_px_per_breakpoint():
    product = ProductFactory()
    add(product, size=(800, 600))
    html = render("{% product_tiles products %}", products=TileGrid([product.pk]))
    avif = re.search(r'<source type="image/avif" srcset="([^"]+)" sizes="([^"]+)">', html)
    img = re.search(r'<img class="thumb" src="[^"]+" srcset="([^"]+)" sizes="([^"]+)" width="800" height="600"',
                    html)
    assert avif and img and html.index("<source") < html.index('<img class="thumb"')
    assert re.findall(r"-(\d+)-[0-9a-f]{8}\.avif (\d+)w", avif.group(1)) == [
        ("160", "160"), ("320", "320"), ("640", "640"), ("800", "800")]
    assert ".webp 320w" in img.group(1)
    assert avif.group(2) == img.group(2) == TILE_SIZES
    # On a 360 px phone a tile is drawn at 50vw - 1.4rem = 157.6 px: at DPR 2 the 320 px file is enough.
    assert TILE_SIZES.endswith("calc(50vw - 1.4rem)")


def test_only_the_first_row_of_the_first_grid_loads_at_once_the_rest_is_lazy():
    products = ProductFactory.create_batch(5)
    for n, product in enumerate(products):
        add(product, size=(640, 480), seed=n)
    html = render("{% product_tiles first %}{% product_tiles second %}", first=TileGrid([p.pk for p in products[:3]]),
                  second=TileGrid([p.pk for p in products[3:]]))
    tags = re.findall(r'<img class="thumb"[^>]*>', html)
    assert len(tags) == 5
    assert ['loading="lazy" decoding="async"' in tag for tag in tags] == [False, False, True, True, True]
    # The blurred placeholder sits in the same box, after the photo, so the photo is the first <img> of the tile.
    assert html.count('<img class="blur" src="data:image/webp;base64,') == 5


def test_a_page_with_a_product_photo_first_loads_only_that_photo_at_once():
    product, other = ProductFactory(), ProductFactory()
    cover, tile = add(product, size=(640, 480)), add(other, size=(640, 480), seed=2)
    html = render('{% picture cover "(min-width: 48rem) 30rem, calc(100vw - 2rem)" %}{% product_tiles more %}',
                  cover=cover, more=TileGrid([other.pk]))
    first, second = re.findall(r'<img class="thumb"[^>]*>', html)
    assert 'fetchpriority="high"' in first and "loading=" not in first
    assert 'loading="lazy"' in second and tile.thumbnails["320"] in second


def test_a_photo_still_being_processed_shows_the_light_placeholder():
    product = ProductFactory()
    photo = add(product, size=(640, 480))
    ProductImage.objects.filter(pk=photo.pk).update(status=ProductImage.Status.PROCESSING)
    photo.refresh_from_db()
    html = render("{% picture photo %}", photo=photo)
    assert 'class="thumb placeholder"' in html and "<picture>" not in html


# --- Served with long cache headers ----------------------------------------------------------

def test_product_photos_served_by_the_app_are_cached_for_a_year(client, settings):
    assert settings.SERVE_MEDIA
    photo = add(ProductFactory(), size=(640, 480))
    response = client.get(settings.MEDIA_URL + photo.thumbnails["320"])
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert client.get(settings.MEDIA_URL + "products/nothing.webp").status_code == 404
