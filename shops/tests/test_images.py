import io
import os
import re
import struct
import time
import zlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template import engines
from PIL import ExifTags, Image

from conftest import require_service
from shops import cache as shop_cache
from shops import images
from shops.demo_photos import demo_photo
from shops.models import Product, ProductImage
from shops.selectors import ordered_images
from shops.tasks import ThumbnailsFailed, make_thumbnails

from .factories import ProductFactory, ShopMemberFactory

pytestmark = pytest.mark.django_db

RED, BLUE = (220, 20, 20), (20, 20, 220)


# --- Building test files ----------------------------------------------------------------

def encode(image: Image.Image, image_format: str = "JPEG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def jpeg_upload(size=(800, 600), colour=(120, 160, 60), **options) -> SimpleUploadedFile:
    return upload(encode(Image.new("RGB", size, colour), "JPEG", **options))


def photo_upload(size=(1200, 900), seed=1) -> SimpleUploadedFile:
    """A textured, photo-like JPEG (it compresses like a camera photo, unlike a flat colour)."""
    return upload(demo_photo("Fuji apples", seed, size=size).read())


def gps_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Pocket 12"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (37.0, 18.0, 42.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 49.0, 7.25)
    return exif


def png_bomb(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width x height black pixels: a few KB on disk, huge once decoded."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    packer = zlib.compressobj(9)
    compressed = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", compressed) + chunk(b"IEND", b""))


def errors_of(exc_info, field="image") -> str:
    return " ".join(exc_info.value.message_dict[field])


def stored(photo: ProductImage) -> Image.Image:
    with default_storage.open(photo.image.name, "rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        image.load()
    return image


def status_and_thumbnails(photo: ProductImage) -> tuple[str, dict]:
    # Not refresh_from_db(): that re-reads the original file for its dimensions.
    return tuple(ProductImage.objects.filter(pk=photo.pk).values_list("status", "thumbnails").get())


def add(product, data=None, **kwargs) -> ProductImage:
    return images.add_product_image(product=product, actor=product.shop.owner,
                                    upload=data or jpeg_upload(), **kwargs)


def media_files() -> list[str]:
    root = default_storage.location
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


# --- validate_upload --------------------------------------------------------------------

@pytest.mark.parametrize(("image_format", "name", "mode"), [("JPEG", "a.jpg", "RGB"), ("PNG", "a.png", "RGBA"),
                                                            ("WEBP", "a.webp", "RGB")])
def test_accepts_jpeg_png_and_webp(image_format, name, mode):
    images.validate_upload(upload(encode(Image.new(mode, (300, 200)), image_format), name))


def test_file_over_15_mb_is_refused_even_when_it_is_a_valid_image():
    # An uncompressed PNG of 2400x2300 RGB: a real, readable image of about 16.6 MB.
    data = encode(Image.new("RGB", (2400, 2300), (90, 140, 60)), "PNG", compress_level=0)
    assert len(data) > 15 * 1024 * 1024
    with pytest.raises(ValidationError) as exc:
        images.validate_upload(upload(data, "big.png", "image/png"))
    assert "15 MB" in errors_of(exc)


def test_text_file_named_jpg_is_refused():
    fake = upload(b"Not a photo at all, just some text pretending.\n" * 20, "apples.jpg", "image/jpeg")
    with pytest.raises(ValidationError) as exc:
        images.validate_upload(fake)
    assert "not a photo" in errors_of(exc)


def test_truncated_jpeg_is_refused():
    data = encode(Image.new("RGB", (800, 600), (10, 200, 30)), quality=95)
    with pytest.raises(ValidationError) as exc:
        images.validate_upload(upload(data[: len(data) // 2]))
    assert "not a photo" in errors_of(exc)


def test_other_formats_are_refused():
    gif = upload(encode(Image.new("P", (300, 300)), "GIF"), "still.gif", "image/gif")
    with pytest.raises(ValidationError) as exc:
        images.validate_upload(gif)
    assert "JPEG, PNG, WebP or HEIC" in errors_of(exc)


@pytest.mark.parametrize("side", [30_000, 10_000],
                         ids=["over twice the limit (Pillow error)", "just over the limit (Pillow warning)"])
def test_png_decompression_bomb_is_refused(side):
    data = png_bomb(side, side)
    assert len(data) < 200_000 and side * side > Image.MAX_IMAGE_PIXELS
    with pytest.raises(ValidationError) as exc:
        images.validate_upload(upload(data, "bomb.png", "image/png"))
    assert "too many pixels" in errors_of(exc)


def test_image_with_a_short_side_under_200_px_is_refused():
    with pytest.raises(ValidationError) as exc:
        images.validate_upload(jpeg_upload(size=(1200, 199)))
    assert "at least 200 pixels" in errors_of(exc)
    images.validate_upload(jpeg_upload(size=(1200, 200)))


def test_error_names_the_requested_field_and_file_is_rewound():
    fake = upload(b"hello", "licence.jpg")
    with pytest.raises(ValidationError) as exc:
        images.validate_upload(fake, field="licence_photo")
    assert list(exc.value.message_dict) == ["licence_photo"]
    good = jpeg_upload()
    images.validate_upload(good)
    assert good.tell() == 0


def test_heic_is_accepted_and_stored_as_jpeg():
    heic = encode(Image.new("RGB", (640, 480), RED), "HEIF", quality=90, exif=gps_exif().tobytes())
    images.validate_upload(upload(heic, "IMG_0001.HEIC", "image/heic"))
    photo = add(ProductFactory(), upload(heic, "IMG_0001.HEIC", "image/heic"))
    result = stored(photo)
    assert photo.image.name.endswith(".jpg") and result.format == "JPEG"
    assert (result.size, (photo.width, photo.height)) == ((640, 480), (640, 480))
    assert all(abs(a - b) < 25 for a, b in zip(result.getpixel((320, 240)), RED, strict=True))
    assert not result.getexif()


# --- The stored original ------------------------------------------------------------------

def test_gps_and_all_exif_and_xmp_are_removed():
    data = encode(Image.new("RGB", (800, 600), (200, 150, 40)), exif=gps_exif(),
                  xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><exif:GPSLatitude>37,18.7N</exif:GPSLatitude></x:xmpmeta>')
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input does carry GPS
    photo = add(ProductFactory(), upload(data))
    result = stored(photo)
    with default_storage.open(photo.image.name, "rb") as handle:
        raw = handle.read()
    assert not result.getexif()
    assert not result.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert "exif" not in result.info and "xmp" not in result.info
    assert b"PhoneMaker" not in raw and b"GPSLatitude" not in raw and b"Exif\x00\x00" not in raw


def test_exif_orientation_is_applied_so_the_photo_is_upright():
    # Stored sideways: red on the left, blue on the right; orientation 6 says "turn 90 degrees clockwise".
    sideways = Image.new("RGB", (400, 300), BLUE)
    sideways.paste(Image.new("RGB", (200, 300), RED), (0, 0))
    photo = add(ProductFactory(), upload(encode(sideways, exif=gps_exif(orientation=6), quality=95)))
    result = stored(photo)
    assert result.size == (300, 400) and (photo.width, photo.height) == (300, 400)
    assert result.getpixel((150, 60))[0] > 180  # red now on top
    assert result.getpixel((150, 340))[2] > 180  # blue at the bottom
    assert ExifTags.Base.Orientation not in result.getexif()


def test_original_is_capped_at_2560_px():
    photo = add(ProductFactory(), jpeg_upload(size=(3200, 2400)))
    assert stored(photo).size == (2560, 1920) == (photo.width, photo.height)


def test_transparent_png_is_kept_as_png():
    photo = add(ProductFactory(), upload(encode(Image.new("RGBA", (400, 400), (0, 0, 0, 0)), "PNG"), "cut.png"))
    result = stored(photo)
    assert photo.image.name.endswith(".png") and result.mode == "RGBA"


def test_refused_upload_saves_nothing():
    product = ProductFactory()
    with pytest.raises(ValidationError):
        add(product, upload(png_bomb(10_000, 10_000), "bomb.png"))
    assert not product.images.exists()
    assert media_files() == []


# --- Permissions and cover rules -------------------------------------------------------------

def test_another_farmer_cannot_add_or_change_photos():
    product = ProductFactory()
    outsider = ProductFactory().shop.owner
    with pytest.raises(PermissionDenied):
        images.add_product_image(product=product, actor=outsider, upload=jpeg_upload())
    assert not product.images.exists() and media_files() == []
    photo = add(product)
    for service, extra in ((images.delete_image, {}), (images.set_cover_image, {}),
                           (images.move_image, {"position": 0})):
        with pytest.raises(PermissionDenied):
            service(image=photo, actor=outsider, **extra)
    assert ProductImage.objects.filter(pk=photo.pk).exists()


def test_a_plain_cooperative_member_cannot_add_photos_but_a_manager_can():
    membership = ShopMemberFactory()
    product = ProductFactory(shop=membership.shop)
    with pytest.raises(PermissionDenied):
        images.add_product_image(product=product, actor=membership.user, upload=jpeg_upload())
    membership.role = "manager"
    membership.save()
    assert images.add_product_image(product=product, actor=membership.user, upload=jpeg_upload()).is_cover


def test_first_photo_is_the_cover_and_positions_follow_on():
    product = ProductFactory()
    first, second, third = add(product), add(product), add(product)
    assert [(p.is_cover, p.position) for p in (first, second, third)] == [(True, 0), (False, 1), (False, 2)]


def test_make_cover_moves_the_cover_to_the_new_photo():
    product = ProductFactory()
    first = add(product)
    second = add(product, make_cover=True)
    assert list(product.images.filter(is_cover=True)) == [second]
    first.refresh_from_db()
    assert not first.is_cover


def test_set_cover_image_keeps_one_cover():
    product = ProductFactory()
    first, second = add(product), add(product)
    images.set_cover_image(image=second, actor=product.shop.owner)
    assert list(product.images.filter(is_cover=True).values_list("pk", flat=True)) == [second.pk]
    images.set_cover_image(image=second, actor=product.shop.owner)  # again: no change, no error
    assert product.images.filter(is_cover=True).count() == 1
    assert first.pk in product.images.filter(is_cover=False).values_list("pk", flat=True)


def test_deleting_the_cover_promotes_the_next_photo_and_removes_files(django_capture_on_commit_callbacks):
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=True):
        first, second, third = add(product), add(product), add(product)
    first.refresh_from_db()
    files = [first.image.name, *first.thumbnails.values(), *first.avif.values()]
    assert all(default_storage.exists(name) for name in files)
    assert len(files) == 1 + 4 * (2 if images.AVIF_ENABLED else 1)  # 160, 320, 640 and 800 px
    with django_capture_on_commit_callbacks(execute=True):
        images.delete_image(image=first, actor=product.shop.owner)
    assert not any(default_storage.exists(name) for name in files)
    remaining = list(product.images.order_by("position"))
    assert [(p.pk, p.is_cover, p.position) for p in remaining] == [(second.pk, True, 0), (third.pk, False, 1)]


def test_deleting_another_photo_keeps_the_cover():
    product = ProductFactory()
    first, second = add(product), add(product)
    images.delete_image(image=second, actor=product.shop.owner)
    assert list(product.images.values_list("pk", "is_cover")) == [(first.pk, True)]


def test_move_image_reorders_and_refuses_a_negative_position():
    product = ProductFactory()
    a, b, c = add(product), add(product), add(product)
    images.move_image(image=c, actor=product.shop.owner, position=0)
    assert list(product.images.order_by("position").values_list("pk", flat=True)) == [c.pk, a.pk, b.pk]
    images.move_image(image=c, actor=product.shop.owner, position=99)  # past the end: last
    assert list(product.images.order_by("position").values_list("pk", flat=True)) == [a.pk, b.pk, c.pk]
    with pytest.raises(ValidationError) as exc:
        images.move_image(image=a, actor=product.shop.owner, position=-1)
    assert "position" in exc.value.message_dict


def scope_versions(product) -> dict:
    scopes = [shop_cache.GLOBAL, shop_cache.LISTING, shop_cache.product_scope(product.pk)]
    return shop_cache.catalogue.current_many(scopes)


def test_adding_a_photo_refreshes_its_product_after_commit_and_nothing_else(django_capture_on_commit_callbacks):
    product = ProductFactory()
    before = scope_versions(product)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        add(product)
    assert scope_versions(product) == before  # nothing visible changes before commit
    for callback in callbacks:
        callback()
    after = scope_versions(product)
    product_scope = shop_cache.product_scope(product.pk)
    assert after[product_scope] > before[product_scope]
    # A photo moves no listing and no other product: the rest of the catalogue's pages stay cached.
    assert after[shop_cache.GLOBAL] == before[shop_cache.GLOBAL]
    assert after[shop_cache.LISTING] == before[shop_cache.LISTING]


def test_a_new_photo_shows_on_its_pages_while_other_products_pages_stay_cached(
        monkeypatch, django_capture_on_commit_callbacks):
    from django.test import Client

    from core import pagecache

    monkeypatch.setattr(pagecache, "CLOCK_MARGIN_US", 0)  # renders follow the change within the clock margin
    product = ProductFactory()
    other = ProductFactory(category=product.category)
    client = Client()
    urls = [product.get_absolute_url(), other.get_absolute_url(), product.category.get_absolute_url()]
    for url in urls:
        client.get(url)
        assert client.get(url)["X-Catalogue-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        photo = add(product)
    stem = photo.image.name.rsplit(".", 1)[0]
    for url in (urls[0], urls[2]):  # its page and the list showing its tile
        page = client.get(url)
        assert page["X-Catalogue-Cache"] == "miss" and stem in page.content.decode()
    assert client.get(urls[1])["X-Catalogue-Cache"] == "hit"


@pytest.mark.parametrize("change", ["cover", "move", "delete", "failed"])
def test_each_photo_change_refreshes_its_product_only(change, django_capture_on_commit_callbacks):
    product, other = ProductFactory(), ProductFactory()
    first, second = add(product), add(product)
    before, other_before = scope_versions(product), scope_versions(other)
    with django_capture_on_commit_callbacks(execute=True):
        if change == "cover":
            images.set_cover_image(image=second, actor=product.shop.owner)
        elif change == "move":
            images.move_image(image=second, actor=product.shop.owner, position=0)
        elif change == "delete":
            images.delete_image(image=first, actor=product.shop.owner)
        else:
            images.mark_thumbnails_failed(first.pk)
    product_scope = shop_cache.product_scope(product.pk)
    assert scope_versions(product)[product_scope] > before[product_scope]
    assert scope_versions(other) == other_before


def test_a_failure_marked_twice_refreshes_nothing_the_second_time(django_capture_on_commit_callbacks):
    photo = add(ProductFactory())
    images.mark_thumbnails_failed(photo.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        images.mark_thumbnails_failed(photo.pk)
        images.mark_thumbnails_failed(987654)  # a photo deleted meanwhile
    assert callbacks == []


# --- Thumbnails -------------------------------------------------------------------------------

def test_upload_schedules_thumbnails_after_commit(django_capture_on_commit_callbacks):
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=True):
        photo = add(product, photo_upload(size=(2000, 1500)))
        assert ProductImage.objects.get(pk=photo.pk).status == ProductImage.Status.PROCESSING
    photo.refresh_from_db()
    assert photo.status == ProductImage.Status.READY
    assert sorted(photo.thumbnails, key=int) == ["160", "320", "640", "960", "1280"]
    stem = photo.image.name.rsplit(".", 1)[0]
    for width, name in photo.thumbnails.items():
        assert re.fullmatch(rf"{stem}-{width}-[0-9a-f]{{8}}\.webp", name)  # next to the original
        with default_storage.open(name, "rb") as handle:
            thumb = Image.open(io.BytesIO(handle.read()))
        assert thumb.format == "WEBP" and thumb.width == int(width)
        assert thumb.height == round(1500 * int(width) / 2000)


def test_320_thumbnail_of_a_photo_like_image_is_under_25_kb():
    photo = add(ProductFactory(), photo_upload(size=(1200, 900), seed=7))
    images.build_thumbnails(photo.pk)
    photo.refresh_from_db()
    size = default_storage.size(photo.thumbnails["320"])
    # Over 4 KB shows the test image is textured like a photo (a flat one would pass trivially).
    assert 4_000 < size < 25 * 1024


def test_thumbnails_are_never_wider_than_the_original():
    photo = add(ProductFactory(), jpeg_upload(size=(500, 400)))
    images.build_thumbnails(photo.pk)
    photo.refresh_from_db()
    assert photo.thumbnails.keys() == {"160", "320", "500"}
    with default_storage.open(photo.thumbnails["500"], "rb") as handle:
        assert Image.open(handle).size == (500, 400)


def test_thumbnail_task_is_idempotent():
    photo = add(ProductFactory())
    assert make_thumbnails.delay(photo.pk).get() == "ready"
    photo.refresh_from_db()
    first, files = dict(photo.thumbnails), media_files()
    assert make_thumbnails.delay(photo.pk).get() == "ready"
    # A redelivered task that finds the photo not yet marked ready rewrites the same files.
    ProductImage.objects.filter(pk=photo.pk).update(status=ProductImage.Status.PROCESSING)
    assert make_thumbnails.delay(photo.pk).get() == "ready"
    photo.refresh_from_db()
    assert photo.thumbnails == first and media_files() == files
    assert len(files) == 1 + 4 * (2 if images.AVIF_ENABLED else 1)


def test_thumbnail_task_for_a_deleted_photo_is_a_no_op():
    assert make_thumbnails.delay(987654).get() is None


def test_thumbnail_task_run_in_process_marks_a_failure_at_once():
    photo = add(ProductFactory())
    default_storage.delete(photo.image.name)  # the original is gone: the task cannot succeed
    result = make_thumbnails.apply(args=[photo.pk], throw=False)
    assert result.failed() and isinstance(result.result, ThumbnailsFailed)
    assert status_and_thumbnails(photo) == (ProductImage.Status.FAILED, {})


def test_thumbnails_ready_refresh_their_product_only(django_capture_on_commit_callbacks):
    photo = add(ProductFactory())
    before = scope_versions(photo.product)
    with django_capture_on_commit_callbacks(execute=True):
        images.build_thumbnails(photo.pk)
    after, product_scope = scope_versions(photo.product), shop_cache.product_scope(photo.product_id)
    assert after[product_scope] > before[product_scope]
    assert after[shop_cache.GLOBAL] == before[shop_cache.GLOBAL]


# --- The picture include --------------------------------------------------------------------

PICTURE = engines["django"].from_string(
    '{% include "shops/includes/picture.html" with image=product.images.all.0 sizes="50vw" alt=product.title %}')


def test_picture_renders_srcset_with_dimensions_and_no_query(django_assert_num_queries):
    product = ProductFactory(title="Fuji apples")
    photo = add(product, photo_upload(size=(2000, 1500)))
    images.build_thumbnails(photo.pk)
    loaded = Product.objects.prefetch_related(ordered_images()).get(pk=product.pk)
    with django_assert_num_queries(0):
        html = PICTURE.render({"product": loaded})
    photo.refresh_from_db()
    for width, name in photo.thumbnails.items():
        assert f"/media/{name} {width}w" in html
    for attribute in ('class="thumb"', 'width="2000"', 'height="1500"', 'loading="lazy"', 'decoding="async"',
                      'sizes="50vw"', 'alt="Fuji apples"', f'src="/media/{photo.thumbnails["640"]}"'):
        assert attribute in html
    assert "placeholder" not in html


def test_picture_shows_a_placeholder_while_processing_and_without_photo(django_assert_num_queries):
    product = ProductFactory(title="Fuji apples")
    add(product)
    loaded = Product.objects.prefetch_related(ordered_images()).get(pk=product.pk)
    with django_assert_num_queries(0):
        html = PICTURE.render({"product": loaded})
    assert 'class="thumb placeholder"' in html and 'aria-label="Fuji apples"' in html and "<img" not in html
    html = engines["django"].from_string('{% include "shops/includes/picture.html" with image=None %}').render({})
    assert 'class="thumb placeholder"' in html and 'aria-hidden="true"' in html


# --- A real worker ----------------------------------------------------------------------------

@pytest.fixture
def worker_media(settings, monkeypatch):
    """PostgreSQL first (the worker must see our committed rows), and the worker process reads and
    writes the same media folder as this test."""
    require_service("PostgreSQL (set DATABASE_URL)", connection.vendor == "postgresql")
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))


def wait_while_processing(photo: ProductImage, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while (status := status_and_thumbnails(photo)[0]) == ProductImage.Status.PROCESSING:
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    return status


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_thumbnails_made_by_a_real_celery_worker(worker_media, celery_worker_process):
    product = ProductFactory()
    photo = add(product, photo_upload(size=(1600, 1200)))  # commits, then queues the task on Redis
    assert wait_while_processing(photo) == ProductImage.Status.READY
    photo.refresh_from_db()
    assert sorted(photo.thumbnails, key=int) == [str(w) for w in ProductImage.THUMBNAIL_WIDTHS]
    assert all(default_storage.exists(name) for name in photo.thumbnails.values())
    assert celery_worker_process.poll() is None


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_real_worker_marks_the_photo_failed_on_its_last_retry(worker_media, celery_worker_process):
    # A row whose original is missing, created without queueing the usual first try.
    photo = ProductImage.objects.create(product=ProductFactory(), image="products/0/missing.jpg", width=800,
                                        height=600, is_cover=True)
    # Delivered as the last allowed try, as after four failed ones: no more retries, marked failed.
    make_thumbnails.apply_async(args=[photo.pk], retries=make_thumbnails.max_retries)
    assert wait_while_processing(photo) == ProductImage.Status.FAILED
