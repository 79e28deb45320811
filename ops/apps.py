from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the site: health and readiness probes, Prometheus metrics, request ids in JSON logs and tasks."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import metrics, signals  # noqa: F401  (Celery signal receivers)

        connection_created.connect(metrics.count_queries_on, dispatch_uid="ops.count_queries")
