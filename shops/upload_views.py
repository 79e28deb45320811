"""The chunked photo upload endpoints (protocol in uploads.py). Thin: parse, call uploads, answer JSON.

Session-authenticated like the forms that use them, CSRF-checked (the script sends X-CSRFToken). Errors are
JSON: 400 {"field": [...]}, 403/404/429 {"detail"}, 409 with the upload's status so the client resumes.
"""
import json
from urllib.parse import unquote

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from . import uploads


def _not_signed_in() -> JsonResponse:
    return JsonResponse({"detail": _("Sign in to send photos.")}, status=403)


def _not_found() -> JsonResponse:
    return JsonResponse({"detail": _("This upload does not exist or has expired; choose the photo again.")},
                        status=404)


@never_cache
@require_POST
def upload_start(request):
    if not request.user.is_authenticated:
        return _not_signed_in()
    if request.headers.get("Content-Range"):
        return _start_with_part(request)
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        return JsonResponse({"detail": _("Send the photo's size as JSON.")}, status=400)
    try:
        upload = uploads.start_upload(owner=request.user, size=body.get("size"),
                                      content_type=body.get("type") or "", name=body.get("name") or "")
    except ValidationError as exc:
        return JsonResponse(exc.message_dict, status=400)
    except uploads.TooManyUploads as exc:
        return JsonResponse({"detail": str(exc)}, status=429)
    return JsonResponse({**uploads.status(upload), "chunk_size": uploads.CHUNK_SIZE}, status=201)


def _start_with_part(request) -> JsonResponse:
    try:
        upload = uploads.start_upload_with_part(
            owner=request.user, content_range=uploads.parse_content_range(request.headers.get("Content-Range")),
            data=request.body, content_type=request.headers.get("X-Upload-Type", ""),
            name=unquote(request.headers.get("X-Upload-Name", "")))
    except ValidationError as exc:
        return JsonResponse(exc.message_dict, status=400)
    except uploads.TooManyUploads as exc:
        return JsonResponse({"detail": str(exc)}, status=429)
    return JsonResponse({**uploads.status(upload), "chunk_size": uploads.CHUNK_SIZE}, status=201)


@never_cache
@require_http_methods(["GET", "PUT"])
def upload_chunk(request, token: str):
    if not request.user.is_authenticated:
        return _not_signed_in()
    upload = uploads.upload_of(request.user, token)
    if upload is None:
        return _not_found()
    if request.method == "GET":
        return JsonResponse(uploads.status(upload))
    try:
        content_range = uploads.parse_content_range(request.headers.get("Content-Range"))
        upload = uploads.append_chunk(upload=upload, content_range=content_range, data=request.body)
    except ValidationError as exc:
        return JsonResponse(exc.message_dict, status=400)
    except uploads.OffsetMismatch as exc:
        return JsonResponse({**uploads.status(exc.upload), "detail": str(exc)}, status=409)
    return JsonResponse(uploads.status(upload))
