"""Product photos: upload checks, clean originals, WebP and AVIF thumbnails (demo photos: demo_photos.py).

An upload is trusted only after Pillow has decoded it: the size, the real format, the pixel count
and the short side are checked, never the name or the content type. The stored original is
re-encoded (upright, without EXIF/GPS/XMP, at most 2560 px, HEIC turned into JPEG), so nothing a
phone wrote into the file reaches buyers. Thumbnails (each width as WebP, and AVIF where Pillow writes it, plus a
tiny inline placeholder) are made after commit by a Celery task; `manage.py photo_variants` queues the task for
photos made before a variant existed.
"""
import base64
import hashlib
import io
import logging
import warnings

from celery import current_app
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, features
from pillow_heif import register_heif_opener

from . import selectors
from .cache import product_changed
from .models import Product, ProductImage

register_heif_opener()  # lets Image.open read HEIC/HEIF (iPhone photos)

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 15 * 1024 * 1024
MIN_SHORT_SIDE = 200
MAX_STORED_SIDE = 2560
# Pillow's format names. MPO is the multi-picture JPEG that many phone cameras write.
ALLOWED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "HEIF"})
JPEG_QUALITY = 88
# The 320 px thumbnail must stay under 25 KB for phones on weak rural networks. Measured at 75:
# about 10.5 KB for a textured 1200x900 demo photo, about 20 KB for a very detailed real photo
# (quality 80 pushed that one over 25 KB).
WEBP_QUALITY = 75
WEBP_METHOD = 6  # slowest, smallest encoder setting; thumbnails are made once, in the background
# AVIF is a third smaller than WebP at the same look (a 320 px tile: about 7 KB against 10.5 KB); made only
# where Pillow was built with it, pages fall back to WebP otherwise.
AVIF_ENABLED = bool(features.check("avif"))
# Large photos (one on screen at a time, most of a product page's bytes) at 40: fine texture a little softer,
# 960 px about 32 KB instead of 55 KB. Tiles at 45 (a 320 px tile about 6 KB), where detail shows more.
# Speed 6: 4 is 15% smaller but four times slower.
AVIF_QUALITY_SMALL = 45
AVIF_QUALITY_LARGE = 40
AVIF_LARGE_FROM = 640
AVIF_SPEED = 6
PLACEHOLDER_WIDTH = 16
PLACEHOLDER_QUALITY = 40
TILE_BACKGROUND = (232, 228, 216)  # .thumb's background in site.css


# --- Checking an upload ---------------------------------------------------------------

def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _not_a_photo() -> str:
    return _("This file is not a photo we can read; please choose a JPEG, PNG, WebP or HEIC image.")


def _upload_size(upload) -> int:
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
    return size


def open_checked(upload, *, field: str, max_side: int | None = None) -> Image.Image:
    """Decode the upload fully and return the image, or raise ValidationError({field: [...]}).

    `max_side` lets a JPEG decode at a reduced scale when only that many pixels are kept.
    """
    if _upload_size(upload) > MAX_UPLOAD_BYTES:
        raise _invalid(field, _("The photo is larger than %(size)s MB; please choose a smaller one.")
                       % {"size": MAX_UPLOAD_BYTES // (1024 * 1024)})
    too_many_pixels = _("This image has too many pixels to be processed safely; please send a smaller photo.")
    try:
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; refuse that range too.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            upload.seek(0)
            with Image.open(upload) as probe:
                image_format = probe.format
                if image_format not in ALLOWED_FORMATS:
                    raise _invalid(field, _("Photos must be JPEG, PNG, WebP or HEIC images."))
                probe.verify()  # checksums and structure, without decoding the pixels
            upload.seek(0)
            image = Image.open(upload)
            width, height = image.size
            limit = Image.MAX_IMAGE_PIXELS
            if limit and width * height > limit:
                raise _invalid(field, too_many_pixels)
            if min(width, height) < MIN_SHORT_SIDE:
                raise _invalid(field, _("The photo is too small: its shorter side must be at least %(min)s "
                                        "pixels.") % {"min": MIN_SHORT_SIDE})
            if max_side and image_format in ("JPEG", "MPO") and max(width, height) > max_side:
                image.draft(image.mode, (max_side, max_side))
            image.load()  # a truncated or corrupt body fails here, not later in a task
            return image
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _invalid(field, too_many_pixels)
    except Exception:  # any parser failure on untrusted bytes means "not a photo", never a 500
        raise _invalid(field, _not_a_photo())
    finally:
        upload.seek(0)


def validate_upload(upload, *, field: str = "image") -> None:
    """Refuse anything that is not a real JPEG, PNG, WebP or HEIC photo of a sensible size."""
    open_checked(upload, field=field).close()


# --- Clean originals ------------------------------------------------------------------

def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)


def clean_original(image: Image.Image) -> tuple[ContentFile, str, tuple[int, int]]:
    """The photo upright, at most MAX_STORED_SIDE px, with no metadata but the colour profile.

    Opaque photos become JPEG (HEIC included), transparent ones PNG.
    Returns (content, extension, (width, height)).
    """
    icc_profile = image.info.get("icc_profile") if image.mode != "CMYK" else None
    upright = ImageOps.exif_transpose(image)
    if _has_alpha(upright):
        upright, image_format, ext = upright.convert("RGBA"), "PNG", "png"
    else:
        upright = upright.convert("L" if upright.mode in ("1", "L") else "RGB")
        image_format, ext = "JPEG", "jpg"
    upright.thumbnail((MAX_STORED_SIDE, MAX_STORED_SIDE), Image.Resampling.LANCZOS)
    # convert() and thumbnail() copy `info`, which still holds EXIF (GPS) and XMP: drop all of it.
    upright.info = {}
    options = {"icc_profile": icc_profile} if icc_profile else {}
    if image_format == "JPEG":
        options.update(quality=JPEG_QUALITY, optimize=True, progressive=True)
    else:
        options.update(optimize=True)
    buffer = io.BytesIO()
    upright.save(buffer, format=image_format, **options)
    return ContentFile(buffer.getvalue()), ext, upright.size


# --- Services -------------------------------------------------------------------------

def _require_manager(product: Product, actor) -> None:
    if not selectors.can_manage_shop(actor, product.shop):
        raise PermissionDenied(_("You do not manage this shop."))


def _lock_product(product_id: int) -> None:
    # Photo changes of one product are serialised, so two uploads never both become the cover.
    list(Product.objects.select_for_update().filter(pk=product_id).values_list("pk", flat=True))


def _renumber(photos: list[ProductImage]) -> None:
    changed = []
    for position, photo in enumerate(photos):
        if photo.position != position:
            photo.position = position
            changed.append(photo)
    if changed:
        ProductImage.objects.bulk_update(changed, ["position"])


def _schedule_thumbnails(image_id: int) -> None:
    # Named, not imported: shops.tasks calls this module (registered in every process by ShopsConfig.ready()).
    current_app.tasks["shops.make_thumbnails"].delay(image_id)


def _photos_changed(product_id: int) -> None:
    # After commit, so no reader caches the old photos under the new version. Photos show on the product's own
    # page and tile (and the API's lists): its scope alone, never the listings' membership or order.
    transaction.on_commit(lambda: product_changed(product_id=product_id))


def add_product_image(*, product: Product, actor, upload, alt_text: str = "",
                      make_cover: bool = False) -> ProductImage:
    """Check and store a product photo; thumbnails follow from a task once the row is committed."""
    _require_manager(product, actor)
    alt_text = (alt_text or "").strip()
    max_alt = ProductImage._meta.get_field("alt_text").max_length
    if len(alt_text) > max_alt:
        raise _invalid("alt_text", _("Keep the photo description to %(max)s characters or fewer.")
                       % {"max": max_alt})
    # Decoding and re-encoding take the most time, so they happen before any lock is taken.
    with open_checked(upload, field="image", max_side=MAX_STORED_SIDE) as image:
        try:
            content, ext, (width, height) = clean_original(image)
        except Exception:  # e.g. a malformed EXIF block: still the uploader's file, not a server error
            raise _invalid("image", _not_a_photo())
    with transaction.atomic():
        _lock_product(product.pk)
        photos = ProductImage.objects.filter(product=product)
        last = photos.aggregate(last=Max("position"))["last"]
        has_cover = photos.filter(is_cover=True).exists()
        if make_cover and has_cover:
            photos.filter(is_cover=True).update(is_cover=False)
        photo = ProductImage(product=product, alt_text=alt_text, position=0 if last is None else last + 1,
                             is_cover=make_cover or not has_cover, status=ProductImage.Status.PROCESSING)
        photo.image.save(f"photo.{ext}", content, save=False)
        photo.width, photo.height = width, height
        try:
            photo.save()
        except Exception:
            photo.image.storage.delete(photo.image.name)
            raise
        # robust: a broker outage (or an eager failure) must not undo or break the upload itself.
        transaction.on_commit(lambda: _schedule_thumbnails(photo.pk), robust=True)
        _photos_changed(product.pk)
    return photo


@transaction.atomic
def set_cover_image(*, image: ProductImage, actor) -> ProductImage:
    _require_manager(image.product, actor)
    _lock_product(image.product_id)
    ProductImage.objects.filter(product_id=image.product_id, is_cover=True).exclude(pk=image.pk).update(
        is_cover=False)
    ProductImage.objects.filter(pk=image.pk).update(is_cover=True)
    image.is_cover = True
    _photos_changed(image.product_id)
    return image


@transaction.atomic
def move_image(*, image: ProductImage, actor, position: int) -> ProductImage:
    """Put the photo at `position` (0 is first) among its product's photos; past the end means last."""
    _require_manager(image.product, actor)
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise _invalid("position", _("Choose a position of 0 or more."))
    _lock_product(image.product_id)
    photos = list(ProductImage.objects.filter(product_id=image.product_id).order_by("position", "id"))
    moving = next((p for p in photos if p.pk == image.pk), None)
    if moving is None:  # deleted meanwhile
        raise _invalid("position", _("This photo no longer exists."))
    photos.remove(moving)
    photos.insert(min(position, len(photos)), moving)
    _renumber(photos)
    image.position = moving.position
    _photos_changed(image.product_id)
    return image


def _delete_files(storage, names: list[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except OSError:
            logger.warning("Could not delete photo file %s", name)


@transaction.atomic
def delete_image(*, image: ProductImage, actor) -> None:
    """Delete a photo and its files; deleting the cover makes the next photo the cover."""
    _require_manager(image.product, actor)
    _lock_product(image.product_id)
    # Re-read under lock: a thumbnail task that just finished may have added files.
    current = ProductImage.objects.select_for_update().filter(pk=image.pk).first()
    if current is None:
        return
    storage = current.image.storage
    names = [current.image.name, *current.thumbnails.values(), *(current.avif or {}).values()]
    was_cover = current.is_cover
    current.delete()
    remaining = list(ProductImage.objects.filter(product_id=image.product_id).order_by("position", "id"))
    _renumber(remaining)
    if was_cover and remaining:
        ProductImage.objects.filter(pk=remaining[0].pk).update(is_cover=True)
    # Files go only once the row is gone for good; a rollback keeps both.
    transaction.on_commit(lambda: _delete_files(storage, names))
    _photos_changed(image.product_id)


# --- Thumbnails ---------------------------------------------------------------------

def thumbnail_widths(original_width: int) -> list[int]:
    """The standard widths that fit in the original, plus the original's own width when it is
    narrower than the largest one (a thumbnail is never wider than the photo it comes from)."""
    widths = [w for w in ProductImage.THUMBNAIL_WIDTHS if w <= original_width]
    if original_width < max(ProductImage.THUMBNAIL_WIDTHS) and original_width not in widths:
        widths.append(original_width)
    return widths


def _webp(image: Image.Image, icc_profile: bytes | None) -> bytes:
    buffer = io.BytesIO()
    # The colour profile is kept (a wide-gamut phone photo would look dull without it); nothing else.
    image.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD, icc_profile=icc_profile or b"")
    return buffer.getvalue()


def _avif(image: Image.Image, icc_profile: bytes | None) -> bytes:
    buffer = io.BytesIO()
    options = {"icc_profile": icc_profile} if icc_profile else {}
    quality = AVIF_QUALITY_LARGE if image.width >= AVIF_LARGE_FROM else AVIF_QUALITY_SMALL
    image.save(buffer, format="AVIF", quality=quality, speed=AVIF_SPEED, **options)
    return buffer.getvalue()


def _placeholder(image: Image.Image) -> str:
    """A data: URI of the photo at PLACEHOLDER_WIDTH px (about 100 bytes), stretched and blurred by the page's CSS
    until the photo arrives. Transparency is flattened on the tile colour, so nothing shows through later."""
    width = PLACEHOLDER_WIDTH
    height = max(1, round(image.height * width / image.width))
    tiny = image.resize((width, height), Image.Resampling.BOX, reducing_gap=2.0)
    if tiny.mode == "RGBA":
        tiny = Image.alpha_composite(Image.new("RGBA", tiny.size, (*TILE_BACKGROUND, 255)), tiny)
    buffer = io.BytesIO()
    tiny.convert("RGB").save(buffer, format="WEBP", quality=PLACEHOLDER_QUALITY)
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _variant_name(stem: str, width: int, data: bytes, ext: str) -> str:
    # The name carries a digest of the bytes, so a file never changes under its URL and may be cached for a
    # year (immutable); remade variants get new URLs.
    return f"{stem}-{width}-{hashlib.sha256(data).hexdigest()[:8]}.{ext}"


def variants_complete(photo: ProductImage) -> bool:
    """Every variant this server makes exists for the photo: its widths as WebP (and AVIF where Pillow writes it)
    and the placeholder. Read from the row only; the files are checked by build_thumbnails."""
    if photo.status != ProductImage.Status.READY or not photo.placeholder or not photo.width:
        return False
    widths = {str(w) for w in thumbnail_widths(photo.width)}
    if set(photo.thumbnails or {}) != widths:
        return False
    return set(photo.avif or {}) == widths if AVIF_ENABLED else True


def _save_variant(storage, name: str, data: bytes) -> str:
    if storage.exists(name):  # same digest, same bytes: a rerun leaves it
        return name
    return storage.save(name, ContentFile(data))


def build_thumbnails(image_id: int) -> ProductImage | None:
    """Write the variants of one photo next to its original and mark it ready: WebP (and AVIF where Pillow can
    write it) at each width of thumbnail_widths(), and the inline placeholder.

    Idempotent: a photo that already has all its variants and files is left alone, and a rerun makes the same
    names from the same bytes. A photo deleted meanwhile is a no-op (None).
    """
    with transaction.atomic():
        # The row lock keeps a redelivered task, or a delete, from interleaving with this one.
        photo = ProductImage.objects.select_for_update().filter(pk=image_id).first()
        if photo is None:
            return None
        storage = photo.image.storage
        old = [*(photo.thumbnails or {}).values(), *(photo.avif or {}).values()]
        if variants_complete(photo) and all(storage.exists(name) for name in old):
            return photo
        with storage.open(photo.image.name, "rb") as handle, Image.open(handle) as source:
            original_width, original_height = source.size
            widths = thumbnail_widths(original_width)
            largest = max(widths)
            if source.format == "JPEG":  # decode at half or quarter scale when that is enough
                source.draft(source.mode, (largest, max(1, round(original_height * largest / original_width))))
            source.load()
            icc_profile = source.info.get("icc_profile")
            source = source.convert("RGBA" if _has_alpha(source) else "RGB")
        stem = photo.image.name.rsplit(".", 1)[0]
        webp, avif = {}, {}
        for width in sorted(widths, reverse=True):
            height = max(1, round(original_height * width / original_width))
            # Each width from the one above it (at most 2x apart), not from the original: as sharp, much faster.
            source = source if source.size == (width, height) else source.resize(
                (width, height), Image.Resampling.LANCZOS, reducing_gap=3.0)
            data = _webp(source, icc_profile)
            webp[str(width)] = _save_variant(storage, _variant_name(stem, width, data, "webp"), data)
            if AVIF_ENABLED:
                data = _avif(source, icc_profile)
                avif[str(width)] = _save_variant(storage, _variant_name(stem, width, data, "avif"), data)
        made = {**webp, **avif}
        stale = [name for name in old if name not in made.values()]
        photo.thumbnails = dict(sorted(webp.items(), key=lambda item: int(item[0])))
        photo.avif = dict(sorted(avif.items(), key=lambda item: int(item[0])))
        photo.placeholder = _placeholder(source)
        photo.status = ProductImage.Status.READY
        photo.save(update_fields=["thumbnails", "avif", "placeholder", "status"])
        transaction.on_commit(lambda: _delete_files(storage, stale))
        _photos_changed(photo.product_id)
    return photo


def photos_missing_variants() -> list[int]:
    """Ids of the photos that lack a variant this server makes (made before a width or AVIF was added)."""
    rows = ProductImage.objects.exclude(status=ProductImage.Status.PROCESSING).only(
        "id", "status", "width", "thumbnails", "avif", "placeholder").order_by("id")
    return [photo.pk for photo in rows.iterator(chunk_size=500) if not variants_complete(photo)]


def schedule_missing_variants() -> list[int]:
    """Queue the thumbnail task for each photo missing a variant; returns their ids."""
    ids = photos_missing_variants()
    for image_id in ids:
        _schedule_thumbnails(image_id)
    return ids


def mark_thumbnails_failed(image_id: int) -> None:
    """After the last retry: the page keeps showing the placeholder instead of a broken image."""
    failed = ProductImage.objects.filter(pk=image_id).exclude(
        status__in=[ProductImage.Status.READY, ProductImage.Status.FAILED])  # already failed: nothing shows anew
    product_id = failed.values_list("product_id", flat=True).first()
    if product_id is not None and failed.update(status=ProductImage.Status.FAILED):
        _photos_changed(product_id)
