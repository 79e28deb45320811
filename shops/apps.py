from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopsConfig(AppConfig):
    name = "shops"
    verbose_name = _("Shops and catalogue")

    def ready(self) -> None:
        # Registers the tasks in every process, so services can hand work over by task name.
        from . import tasks  # noqa: F401
