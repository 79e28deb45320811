from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StationsConfig(AppConfig):
    """The village station serving people without smartphones: farmers listed by the agent with their consent,
    orders placed for villagers, and the agent's offline action queue."""

    name = "stations"
    verbose_name = _("Village stations")

    def ready(self) -> None:
        # Connect the receivers: the SMS to assisted farmers, and to villagers who buy at the station.
        from . import assisted, receivers  # noqa: F401
