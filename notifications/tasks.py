"""Celery tasks for the outbox: thin wrappers around services, safe to run twice."""
from celery import shared_task

from . import services


@shared_task(bind=True, name="notifications.deliver", ignore_result=True, max_retries=None)
def deliver(self, notification_id: int) -> str:
    """Send one notification. On failure the row records the attempt and its backoff, and Celery
    retries after that countdown; the row's attempts column (not Celery's retry counter, which
    restarts when the sweeper re-enqueues) decides when to give up (NOTIFICATION_MAX_ATTEMPTS)."""
    try:
        return services.deliver_notification(notification_id=notification_id)
    except services.DeliveryFailed as exc:
        if self.request.is_eager:
            # In-process (embedded) runs would retry at once, in a loop; leave the row pending
            # with its next_attempt_at for the sweeper instead.
            return "retry_later"
        raise self.retry(exc=exc, countdown=exc.countdown)


@shared_task(name="notifications.deliver_many", ignore_result=True)
def deliver_many(notification_ids: list[int]) -> int:
    """Send the notifications of one event (a checkout's, say) handed over in one message. A send that fails
    goes on as its own `deliver` task after its backoff; returns how many were sent now."""
    sent = 0
    for notification_id in notification_ids:
        try:
            sent += services.deliver_notification(notification_id=notification_id) == "sent"
        except services.DeliveryFailed as exc:
            if not deliver_many.request.is_eager:
                deliver.apply_async(args=[notification_id], countdown=exc.countdown)
    return sent


@shared_task(name="notifications.sweep_pending", ignore_result=True)
def sweep_pending() -> int:
    """Every minute (beat): re-enqueue rows the broker never got or lost."""
    return services.requeue_due()
