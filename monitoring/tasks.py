"""Celery tasks of monitoring: thin, each calls one function and is safe to run twice."""
from datetime import datetime

from celery import shared_task

from . import partitions, services


@shared_task(name="monitoring.maintain_reading_partitions")
def maintain_reading_partitions() -> dict:
    """Daily (beat): make the coming months' partitions, drop the expired ones (monitoring/partitions.py)."""
    result = partitions.maintain()
    return {"created": result.created, "dropped": result.dropped, "moved_from_default": result.moved_from_default,
            "deleted_from_default": result.deleted_from_default}


@shared_task(name="monitoring.rebuild_hourly_rollups")
def rebuild_hourly_rollups(start: str, end: str, sensor_ids: list[int] | None = None) -> int:
    """Recompute the hourly rollups of a range (ISO 8601 times), e.g. after readings were loaded in bulk."""
    return services.rebuild_hourly_rollups(start=datetime.fromisoformat(start), end=datetime.fromisoformat(end),
                                           sensor_ids=sensor_ids)
