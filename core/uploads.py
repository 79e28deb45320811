"""Upload size caps enforced while the body streams in, so an oversized file is never written out whole.

- `RequestSizeLimitMiddleware` (core.middleware) refuses a body whose Content-Length is over the limit before
  anything is read: UPLOAD_MAX_REQUEST_SIZE for multipart forms, DATA_UPLOAD_MAX_MEMORY_SIZE for anything else
  (JSON included, which DRF reads without Django's own check).
- `CappedUploadHandler`, first in FILE_UPLOAD_HANDLERS, stops a single file as soon as it passes UPLOAD_MAX_SIZE:
  the handlers after it (memory or temporary file) never receive more than the cap.

Both raise `UploadTooLarge`, which the error handlers answer with 413.
"""
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler
from django.utils.translation import gettext as _


def too_large_message(limit: int | None) -> str:
    if limit:
        return _("The request is too large: at most %(mb)s MB may be sent at once.") % {"mb": f"{limit / 2**20:g}"}
    return _("The request is too large.")


class UploadTooLarge(RequestDataTooBig):
    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class CappedUploadHandler(FileUploadHandler):
    """Passes chunks on unchanged until a file passes UPLOAD_MAX_SIZE, then stops the whole upload."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        limit = settings.UPLOAD_MAX_REQUEST_SIZE
        if content_length and content_length > limit:
            raise UploadTooLarge("The request body is over UPLOAD_MAX_REQUEST_SIZE.", limit)
        return None  # let the other handlers parse as usual

    def receive_data_chunk(self, raw_data, start):
        limit = settings.UPLOAD_MAX_SIZE
        if start + len(raw_data) > limit:
            raise UploadTooLarge("An uploaded file is over UPLOAD_MAX_SIZE.", limit)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler makes the file
