from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders and payments")

    def ready(self):
        from . import signals  # noqa: F401  (merges an anonymous cart at sign-in)
        from .payments import outcomes  # noqa: F401  (settles a payment that succeeded: intents.payment_succeeded)
