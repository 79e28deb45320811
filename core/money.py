"""Money is Decimal with two places in one currency; Stripe's minor units exist only at its boundary."""
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def quantize(amount: Decimal | int | str) -> Decimal:
    return Decimal(amount).quantize(CENT, rounding=ROUND_HALF_UP)


def to_minor_units(amount: Decimal) -> int:
    return int((quantize(amount) * 100).to_integral_value())


def from_minor_units(amount: int) -> Decimal:
    return quantize(Decimal(amount) / 100)
