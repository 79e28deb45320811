"""Celery tasks of the catalogue. Thin: load by id, call images/services, safe to run twice."""
from celery import shared_task

from . import images, uploads


class ThumbnailsFailed(Exception):
    """The last try failed; the photo is marked failed and is not retried again."""


@shared_task(bind=True, name="shops.make_thumbnails", autoretry_for=(Exception,),
             dont_autoretry_for=(ThumbnailsFailed,), max_retries=4, retry_backoff=5, retry_backoff_max=300,
             retry_jitter=True)
def make_thumbnails(self, image_id: int) -> str | None:
    """WebP and AVIF variants and the placeholder of one product photo; a photo deleted meanwhile is a no-op."""
    try:
        photo = images.build_thumbnails(image_id)
    except Exception as exc:
        # A worker retries storage or database trouble with backoff (5 s, 10 s, 20 s ...). After the
        # last try, or at once when run in-process (where retrying immediately cannot help), the
        # photo is marked failed so pages keep their placeholder instead of waiting for ever.
        if self.request.is_eager or self.request.retries >= self.max_retries:
            images.mark_thumbnails_failed(image_id)
            raise ThumbnailsFailed(f"No thumbnails for photo {image_id}: {exc!r}") from exc
        raise
    return photo.status if photo else None


@shared_task(name="shops.make_missing_variants")
def make_missing_variants() -> int:
    """Queue the variants that photos made before a width or format existed lack (as `manage.py photo_variants`)."""
    return len(images.schedule_missing_variants())


@shared_task(name="shops.purge_expired_uploads")
def purge_expired_uploads() -> int:
    """Remove chunked photo uploads nobody attached to a form before they expired."""
    return uploads.purge_expired()
