"""Log records as one JSON object per line, each with the request id of the work in hand.

    LOGGING["filters"]["request_id"] = {"()": "ops.logging.RequestIdFilter"}
    LOGGING["formatters"]["json"] = {"()": "ops.logging.JsonFormatter"}

Inside a Celery worker the record also names the task (task_id, task_name).
"""
import json
import logging
from datetime import UTC, datetime

from .context import get_request_id

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request"}


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = get_request_id() or "-"
        if not hasattr(record, "task_id"):
            from celery import current_task

            task = current_task._get_current_object() if current_task else None
            if task is not None and not task.request.called_directly and not task.request.is_eager:
                record.task_id, record.task_name = task.request.id, task.name
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and value not in (None, "-"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
