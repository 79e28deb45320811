from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = _("Money to the farmers")

    def ready(self) -> None:
        from . import receivers  # noqa: F401 (books the money events orders announces)
