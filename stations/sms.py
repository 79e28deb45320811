"""The text messages a villager who buys at the station receives, each under 70 characters in Chinese and English.

70 characters is one SMS in UCS-2, the encoding any Chinese character forces: a basic phone shows one message,
never a split one. The station's name is cut to `texts.SHORT_NAME` characters; an order number has 12 characters,
a delivery code 6, and an amount up to ¥99999.99 fits (the tests render each template with the longest values
in both languages). Rendered in the active language: the outbox renders them in the villager's.
"""
from decimal import Decimal

from django.utils.translation import gettext as _

from core.money import quantize

from .texts import SMS_LIMIT, short

__all__ = ["SMS_LIMIT", "order_placed", "ready_for_pickup"]


def order_placed(*, number: str, total: Decimal, station: str) -> str:
    """The order the agent placed for the villager: its number, what to pay and where."""
    return _("Farmgate: order %(number)s, ¥%(total)s. Pay cash at %(station)s.") % {
        "number": number, "total": quantize(total), "station": short(station)}


def ready_for_pickup(*, number: str, code: str, station: str) -> str:
    """A parcel of the order is at the station: the delivery code the villager tells the agent to take it."""
    return _("Farmgate: order %(number)s is at %(station)s. Pickup code %(code)s.") % {
        "number": number, "code": code, "station": short(station)}
