"""Shipping fees: one fee per ShopOrder, from the shop's province to the delivery province.

Zone: same province, a neighbouring province (they share a land border, or Guangdong–Hainan across
the Qiongzhou Strait, which couriers serve as a neighbour) or far. Fee = base + per_kg × weight, plus
a cold-chain surcharge when any line's product is perishable or needs cold chain. The rates are
ShippingRate rows that staff edit in the admin; DEFAULT_RATES only stands in if a row is missing.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from pypinyin import lazy_pinyin

from core.money import quantize

from .models import ShippingRate

Zone = ShippingRate.Zone

# Provincial-level divisions of mainland China and their neighbours, by short name.
NEIGHBOURING_PROVINCES: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in {
    "北京": {"天津", "河北"},
    "天津": {"北京", "河北"},
    "河北": {"北京", "天津", "山西", "内蒙古", "辽宁", "山东", "河南"},
    "山西": {"河北", "内蒙古", "陕西", "河南"},
    "内蒙古": {"黑龙江", "吉林", "辽宁", "河北", "山西", "陕西", "宁夏", "甘肃"},
    "辽宁": {"吉林", "内蒙古", "河北"},
    "吉林": {"黑龙江", "内蒙古", "辽宁"},
    "黑龙江": {"吉林", "内蒙古"},
    "上海": {"江苏", "浙江"},
    "江苏": {"上海", "浙江", "安徽", "山东"},
    "浙江": {"上海", "江苏", "安徽", "江西", "福建"},
    "安徽": {"江苏", "浙江", "江西", "湖北", "河南", "山东"},
    "福建": {"浙江", "江西", "广东"},
    "江西": {"浙江", "安徽", "湖北", "湖南", "广东", "福建"},
    "山东": {"河北", "河南", "安徽", "江苏"},
    "河南": {"河北", "山西", "陕西", "湖北", "安徽", "山东"},
    "湖北": {"河南", "安徽", "江西", "湖南", "重庆", "陕西"},
    "湖南": {"湖北", "江西", "广东", "广西", "贵州", "重庆"},
    "广东": {"福建", "江西", "湖南", "广西", "海南"},
    "广西": {"广东", "湖南", "贵州", "云南"},
    "海南": {"广东"},
    "重庆": {"四川", "贵州", "湖南", "湖北", "陕西"},
    "四川": {"重庆", "贵州", "云南", "西藏", "青海", "甘肃", "陕西"},
    "贵州": {"四川", "重庆", "湖南", "广西", "云南"},
    "云南": {"四川", "贵州", "广西", "西藏"},
    "西藏": {"新疆", "青海", "四川", "云南"},
    "陕西": {"山西", "河南", "湖北", "重庆", "四川", "甘肃", "宁夏", "内蒙古"},
    "甘肃": {"陕西", "宁夏", "内蒙古", "新疆", "青海", "四川"},
    "青海": {"甘肃", "新疆", "西藏", "四川"},
    "宁夏": {"内蒙古", "甘肃", "陕西"},
    "新疆": {"甘肃", "青海", "西藏"},
}.items()}

# Full official names, for the province choices on the pages.
PROVINCE_NAMES: dict[str, str] = {
    "北京": "北京市", "天津": "天津市", "上海": "上海市", "重庆": "重庆市", "内蒙古": "内蒙古自治区",
    "广西": "广西壮族自治区", "西藏": "西藏自治区", "宁夏": "宁夏回族自治区", "新疆": "新疆维吾尔自治区",
}
PROVINCE_NAMES.update({short: f"{short}省" for short in NEIGHBOURING_PROVINCES if short not in PROVINCE_NAMES})

# Pinyin and English spellings people type into an address form.
_LATIN_NAMES = {
    "beijing": "北京", "tianjin": "天津", "hebei": "河北", "shanxi": "山西", "neimenggu": "内蒙古",
    "innermongolia": "内蒙古", "liaoning": "辽宁", "jilin": "吉林", "heilongjiang": "黑龙江", "shanghai": "上海",
    "jiangsu": "江苏", "zhejiang": "浙江", "anhui": "安徽", "fujian": "福建", "jiangxi": "江西",
    "shandong": "山东", "henan": "河南", "hubei": "湖北", "hunan": "湖南", "guangdong": "广东", "guangxi": "广西",
    "hainan": "海南", "chongqing": "重庆", "sichuan": "四川", "guizhou": "贵州", "yunnan": "云南",
    "xizang": "西藏", "tibet": "西藏", "shaanxi": "陕西", "gansu": "甘肃", "qinghai": "青海", "ningxia": "宁夏",
    "xinjiang": "新疆",
}
_SUFFIX = re.compile(r"(壮族自治区|回族自治区|维吾尔自治区|自治区|省|市)$")
_LATIN_SUFFIX = re.compile(r"(province|municipality|autonomousregion|region|sheng|shi)$")

# Stand-ins only when a zone's ShippingRate row is missing (the data migration creates them).
DEFAULT_RATES: dict[str, tuple[Decimal, Decimal, Decimal]] = {
    Zone.SAME_PROVINCE: (Decimal("8.00"), Decimal("1.00"), Decimal("10.00")),
    Zone.NEIGHBOURING: (Decimal("10.00"), Decimal("2.00"), Decimal("15.00")),
    Zone.FAR: (Decimal("15.00"), Decimal("4.00"), Decimal("25.00")),
}


def province_key(name: str | None) -> str:
    """The short Chinese name of a province as typed ("山东省", "山东", "Shandong" -> "山东"); "" if unknown."""
    text = re.sub(r"[\s\-_'’.]", "", name or "")
    if not text:
        return ""
    latin = _LATIN_SUFFIX.sub("", text.lower())
    if latin in _LATIN_NAMES:
        return _LATIN_NAMES[latin]
    short = _SUFFIX.sub("", text)
    if short in NEIGHBOURING_PROVINCES:
        return short
    return text if text in NEIGHBOURING_PROVINCES else ""


def zone_between(origin: str | None, destination: str | None) -> str:
    """Same, neighbouring or far; an unknown province on either side counts as far."""
    a, b = province_key(origin), province_key(destination)
    if not a or not b:
        return Zone.FAR
    if a == b:
        return Zone.SAME_PROVINCE
    if b in NEIGHBOURING_PROVINCES.get(a, ()):
        return Zone.NEIGHBOURING
    return Zone.FAR


def current_rates() -> dict[str, ShippingRate]:
    """All zone rates in one query, with unsaved defaults for any row staff have deleted."""
    rates = {rate.zone: rate for rate in ShippingRate.objects.all()}
    for zone, (base, per_kg, cold) in DEFAULT_RATES.items():
        rates.setdefault(zone, ShippingRate(zone=zone, base_fee=base, per_kg=per_kg, cold_chain_surcharge=cold))
    return rates


def fee(*, rate: ShippingRate, weight_kg: Decimal, cold_chain: bool) -> Decimal:
    amount = rate.base_fee + rate.per_kg * Decimal(weight_kg)
    if cold_chain:
        amount += rate.cold_chain_surcharge
    return quantize(amount)


def needs_cold_chain(product) -> bool:
    return bool(product.perishable or product.cold_chain)


@dataclass(frozen=True)
class ShippingQuote:
    zone: str
    weight_kg: Decimal
    cold_chain: bool
    fee: Decimal

    @property
    def zone_label(self) -> str:
        return Zone(self.zone).label


def quote(*, origin_province: str, destination_province: str, lines: Iterable[tuple[object, int]],
          rates: dict[str, ShippingRate] | None = None) -> ShippingQuote:
    """The fee for one shop's part: `lines` are (product, quantity) pairs of that shop."""
    rates = rates if rates is not None else current_rates()
    weight = Decimal("0")
    cold = False
    for product, quantity in lines:
        weight += Decimal(product.unit_weight_kg) * quantity
        cold = cold or needs_cold_chain(product)
    zone = zone_between(origin_province, destination_province)
    return ShippingQuote(zone=zone, weight_kg=weight, cold_chain=cold,
                         fee=fee(rate=rates[zone], weight_kg=weight, cold_chain=cold))


def province_choices() -> list[tuple[str, str]]:
    """Every province by its full name, in pinyin order as Chinese lists are."""
    return sorted(((full, full) for full in PROVINCE_NAMES.values()), key=lambda c: lazy_pinyin(c[0]))
