from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"
    verbose_name = _("Standing orders")

    def ready(self) -> None:
        from . import tasks  # noqa: F401 (registers the beat task by name)
