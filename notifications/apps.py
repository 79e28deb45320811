from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        # Registers the tasks in every process, so services can hand rows over by task name.
        from . import tasks  # noqa: F401
