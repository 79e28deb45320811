"""Photos sent in chunks, so a phone on a weak network resumes after a dropped connection instead of starting over.

The protocol (static/js/upload.js speaks it; views in upload_views.py):
  POST /uploads/        JSON {"size": bytes, "type": "image/jpeg", "name": "..."}
                        -> 201 {"id", "offset": 0, "size", "complete": false, "chunk_size"}
                        or, one round trip less on a slow network, the first part itself (as PUT below, from
                        byte 0) with `X-Upload-Type` and `X-Upload-Name` (URL-encoded) -> 201 {..., "offset"}
  PUT  /uploads/<id>/   the next bytes, with `Content-Range: bytes <start>-<end>/<size>`
                        -> 200 {"id", "offset", "size", "complete"}; 409 with the same body when <start> is not
                        the offset received so far (the client goes on from there)
  GET  /uploads/<id>/   -> 200 {"id", "offset", "size", "complete"}: where to resume after a failure
The photo form is then posted with a hidden `photo_uploads=<id>` instead of the file; its view claims the
assembled bytes (`claim_files`) and checks them like any upload (images.add_product_image).

Only the uploader reaches an upload (another user's id is a 404, as an unknown one), a photo is at most
UPLOAD_MAX_SIZE, a user has at most MAX_OPEN_UPLOADS under way, and what nobody claims within UPLOAD_TTL is
purged by the `shops.purge_expired_uploads` task.
"""
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from core import codes
from core.errors import ConflictError

from .models import PhotoUpload, PhotoUploadChunk

CHUNK_SIZE = 256 * 1024
MAX_CHUNK_SIZE = 1024 * 1024
UPLOAD_TTL = timedelta(hours=24)
MAX_OPEN_UPLOADS = 20
TOKEN_LENGTH = 24
TOKEN_PATTERN = re.compile(rf"^[a-z0-9]{{{TOKEN_LENGTH}}}$")
_CONTENT_RANGE = re.compile(r"^bytes (\d{1,12})-(\d{1,12})/(\d{1,12})$")


class TooManyUploads(Exception):
    """The user has MAX_OPEN_UPLOADS under way already (HTTP 429)."""


class OffsetMismatch(ConflictError):
    """A chunk that does not start where the received bytes end; carries the upload to report its offset."""

    def __init__(self, upload: PhotoUpload) -> None:
        super().__init__(_("This part of the photo does not follow the part already received."))
        self.upload = upload


@dataclass(frozen=True)
class ContentRange:
    start: int
    end: int  # inclusive, as in the header
    total: int


def _invalid(field: str, message: str) -> ValidationError:
    return ValidationError({field: [message]})


def _too_large() -> str:
    return _("The photo is larger than %(size)s MB; please choose a smaller one.") % {
        "size": settings.UPLOAD_MAX_SIZE // (1024 * 1024)}


def parse_content_range(header: str | None) -> ContentRange:
    match = _CONTENT_RANGE.match((header or "").strip())
    if not match:
        raise _invalid("content_range", _("Send each part with a Content-Range header: bytes start-end/size."))
    start, end, total = (int(group) for group in match.groups())
    if end < start or end >= total:
        raise _invalid("content_range", _("The Content-Range header does not describe a part of the photo."))
    return ContentRange(start, end, total)


def open_uploads(owner) -> QuerySet[PhotoUpload]:
    return PhotoUpload.objects.filter(owner=owner, expires_at__gt=timezone.now())


def start_upload(*, owner, size, content_type: str = "", name: str = "") -> PhotoUpload:
    """Open an upload of `size` bytes for the owner; the bytes follow in chunks (append_chunk)."""
    if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
        raise _invalid("size", _("Give the photo's size in bytes."))
    if size > settings.UPLOAD_MAX_SIZE:
        raise _invalid("size", _too_large())
    content_type = str(content_type or "")[:40]
    if content_type and not content_type.startswith("image/"):
        raise _invalid("type", _("Photos must be JPEG, PNG, WebP or HEIC images."))
    if open_uploads(owner).count() >= MAX_OPEN_UPLOADS:
        raise TooManyUploads(_("Too many photos are being sent at once; wait for them to finish."))
    # Only the last part of the name: a phone may send a path.
    name = re.split(r"[\\/]", str(name or ""))[-1][:100]
    return PhotoUpload.objects.create(
        token=codes.new_code("", TOKEN_LENGTH - 1).lower(), owner=owner, size=size, content_type=content_type,
        name=name, expires_at=timezone.now() + UPLOAD_TTL)


def start_upload_with_part(*, owner, content_range: ContentRange, data: bytes, content_type: str = "",
                           name: str = "") -> PhotoUpload:
    """Open an upload and store its first part in one go; nothing is kept if the part is refused."""
    if content_range.start != 0:
        raise _invalid("content_range", _("The first part of a photo starts at byte 0."))
    with transaction.atomic():
        upload = start_upload(owner=owner, size=content_range.total, content_type=content_type, name=name)
        return append_chunk(upload=upload, content_range=content_range, data=data)


def upload_of(owner, token: str) -> PhotoUpload | None:
    """The owner's unexpired upload with this id, or None (unknown, expired or someone else's)."""
    if not owner.is_authenticated or not TOKEN_PATTERN.match(token or ""):
        return None
    return open_uploads(owner).filter(token=token).first()


def append_chunk(*, upload: PhotoUpload, content_range: ContentRange, data: bytes) -> PhotoUpload:
    """Store the bytes at content_range.start, which must be where the received bytes end (else OffsetMismatch,
    so a client that lost an answer learns where to go on). A chunk already stored is never written twice."""
    if content_range.total != upload.size:
        raise _invalid("content_range", _("The Content-Range header gives another size than the upload."))
    if len(data) != content_range.end - content_range.start + 1:
        raise _invalid("content_range", _("The part's length does not match its Content-Range header."))
    if len(data) > MAX_CHUNK_SIZE:
        raise _invalid("content_range", _("Send the photo in parts of at most %(kb)s KB.") % {
            "kb": MAX_CHUNK_SIZE // 1024})
    with transaction.atomic():
        # The row lock orders two requests carrying the same part (a retry racing the original).
        current = PhotoUpload.objects.select_for_update().get(pk=upload.pk)
        if content_range.start != current.received:
            raise OffsetMismatch(current)
        try:
            with transaction.atomic():
                PhotoUploadChunk.objects.create(upload=current, offset=content_range.start, data=data)
        except IntegrityError:
            raise OffsetMismatch(current)
        current.received = content_range.end + 1
        current.save(update_fields=["received"])
    return current


@dataclass
class Claimed:
    files: list[SimpleUploadedFile]
    missing: int  # ids that were unknown, expired, someone else's or not complete


def claim_files(*, owner, tokens: list[str]) -> Claimed:
    """The assembled photos of the owner's complete uploads with these ids, as uploaded files; the uploads are
    removed (a photo is attached once). The caller checks each file as any upload."""
    tokens = list(dict.fromkeys(t for t in tokens if TOKEN_PATTERN.match(t or "")))
    if not owner.is_authenticated or not tokens:
        return Claimed([], len(tokens))
    files = []
    with transaction.atomic():
        uploads = list(open_uploads(owner).select_for_update().filter(token__in=tokens).order_by("id"))
        complete = [u for u in uploads if u.is_complete]
        by_upload: dict[int, list[PhotoUploadChunk]] = {u.pk: [] for u in complete}
        for chunk in PhotoUploadChunk.objects.filter(upload__in=complete).order_by("upload_id", "offset"):
            by_upload[chunk.upload_id].append(chunk)
        order = {token: n for n, token in enumerate(tokens)}
        for upload in sorted(complete, key=lambda u: order[u.token]):
            data = b"".join(bytes(chunk.data) for chunk in by_upload[upload.pk])
            name = upload.name or "photo.jpg"
            files.append(SimpleUploadedFile(name, data, content_type=upload.content_type or "image/jpeg"))
        PhotoUpload.objects.filter(pk__in=[u.pk for u in complete]).delete()
    return Claimed(files, len(tokens) - len(files))


def purge_expired(now=None) -> int:
    """Delete the uploads (and their chunks) that expired unclaimed; returns how many."""
    expired = PhotoUpload.objects.filter(expires_at__lte=now or timezone.now())
    PhotoUploadChunk.objects.filter(upload__in=expired).delete()
    count, _rows = expired.delete()
    return count


def status(upload: PhotoUpload) -> dict:
    return {"id": upload.token, "offset": upload.received, "size": upload.size, "complete": upload.is_complete}
