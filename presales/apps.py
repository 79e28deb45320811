from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PresalesConfig(AppConfig):
    name = "presales"
    verbose_name = _("Pre-sales and group buying")

    def ready(self) -> None:
        # Registers the tasks in every process, so services can hand work over by task name.
        from . import (
            receivers,  # noqa: F401 (connects the signal receivers)
            tasks,  # noqa: F401
        )
