from celery import shared_task


@shared_task(name="core.ping")
def ping(value: str = "pong") -> str:
    """Health probe: a worker that answers this is connected to the broker."""
    return value
