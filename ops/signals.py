"""Celery signal receivers: the request id travels in a message header, and every task's end is counted.

- before_task_publish (the sender, an app server or a task): the current request id goes into the headers;
- task_prerun / task_postrun (the worker): the id is made current for the task's log lines, and the start
  and end of the task are logged with it;
- task_success / task_failure / task_retry: ops.metrics counts the outcome (in Redis, for all workers).
"""
import logging
import time

from celery.signals import before_task_publish, task_failure, task_postrun, task_prerun, task_retry, task_success

from . import metrics
from .context import accepted, get_request_id, set_request_id

logger = logging.getLogger("farmgate.tasks")
HEADER = "request_id"
_started: dict[str, float] = {}


@before_task_publish.connect(dispatch_uid="ops.request_id_header")
def add_request_id(sender=None, headers=None, **kwargs) -> None:
    request_id = get_request_id()
    if request_id and headers is not None:
        headers.setdefault(HEADER, request_id)


@task_prerun.connect(dispatch_uid="ops.task_started")
def task_started(sender=None, task_id=None, task=None, **kwargs) -> None:
    if task is None or task.request.is_eager:
        return  # in-process: the caller's request id is current already
    set_request_id(accepted(task.request.get(HEADER)))
    _started[task_id] = time.perf_counter()
    logger.info("task started: %s", task.name, extra={"retries": task.request.retries})


@task_postrun.connect(dispatch_uid="ops.task_finished")
def task_finished(sender=None, task_id=None, task=None, state=None, **kwargs) -> None:
    if task is None or task.request.is_eager:
        return
    started = _started.pop(task_id, None)
    seconds = round(time.perf_counter() - started, 3) if started is not None else None
    logger.info("task finished: %s %s", task.name, state, extra={"state": state, "seconds": seconds})
    set_request_id(None)


@task_success.connect(dispatch_uid="ops.count_success")
def count_success(sender=None, **kwargs) -> None:
    metrics.count_task(sender.name, "success")


@task_failure.connect(dispatch_uid="ops.count_failure")
def count_failure(sender=None, **kwargs) -> None:
    metrics.count_task(sender.name, "failure")


@task_retry.connect(dispatch_uid="ops.count_retry")
def count_retry(sender=None, **kwargs) -> None:
    metrics.count_task(sender.name, "retry")
