from celery import shared_task
from django.core import management


@shared_task(name="accounts.clear_expired_sessions")
def clear_expired_sessions() -> None:
    management.call_command("clearsessions")
