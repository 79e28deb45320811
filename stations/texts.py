"""The text messages an assisted farmer receives, each under 70 characters in Chinese and in English.

70 characters is one SMS in UCS-2, the encoding any Chinese character forces; a farmer on a basic phone reads
one message, never a split one. Names that can be long (a station, a shop) are cut to SHORT_NAME characters and
amounts are whole-number strings at most; the tests render every template with the longest values in both
languages.
"""
from decimal import Decimal

from django.utils.translation import gettext as _

SMS_LIMIT = 70
SHORT_NAME = 8


def short(name: str) -> str:
    name = " ".join(str(name).split())
    return name if len(name) <= SHORT_NAME else name[:SHORT_NAME - 1] + "…"


def consent_code(*, code: str, station: str, minutes: int) -> str:
    return _("Farmgate: %(station)s asks to act for you. Consent code %(code)s, %(minutes)d min.") % {
        "station": short(station), "code": code, "minutes": minutes}


def new_order(*, number: str, shop: str, total: Decimal) -> str:
    return _("Farmgate: new order %(number)s for %(shop)s, ¥%(total)s.") % {
        "number": number, "shop": short(shop), "total": total}


def payout(*, shop: str, amount: Decimal) -> str:
    return _("Farmgate: ¥%(amount)s for %(shop)s was paid to your bank account.") % {
        "shop": short(shop), "amount": amount}
