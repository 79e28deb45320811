"""The ledger's one rounding rule.

Every amount the ledger computes (a commission, the commission given back with a partial refund) is rounded
to the fen (0.01 CNY) with ROUND_HALF_UP: 0.125 -> 0.13, 0.135 -> 0.14, -0.125 -> -0.13 (half away from zero).
It is the rule core.money.quantize uses for prices, so a sale and its commission round the same way; nothing in
ledger rounds any other way (ledger/tests/test_money.py pins it).
"""
from decimal import Decimal

from core.money import CENT as FEN
from core.money import quantize as to_fen

ZERO = Decimal("0.00")

__all__ = ["FEN", "ZERO", "to_fen"]
