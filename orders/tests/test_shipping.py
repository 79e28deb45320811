from decimal import Decimal

import pytest

from orders import shipping
from orders.models import ShippingRate
from shops.tests.factories import ProductFactory

Zone = ShippingRate.Zone


@pytest.mark.parametrize("typed, key", [
    ("山东省", "山东"), ("山东", "山东"), (" Shandong ", "山东"), ("shandong province", "山东"), ("上海市", "上海"),
    ("广西壮族自治区", "广西"), ("内蒙古自治区", "内蒙古"), ("Inner Mongolia", "内蒙古"), ("新疆维吾尔自治区", "新疆"),
    ("Shaanxi", "陕西"), ("Shanxi", "山西"), ("", ""), ("Atlantis", ""), (None, ""),
])
def test_province_key_reads_the_ways_people_type_a_province(typed, key):
    assert shipping.province_key(typed) == key


def test_neighbour_table_covers_the_31_mainland_divisions_and_is_symmetric():
    table = shipping.NEIGHBOURING_PROVINCES
    assert len(table) == 31
    for province, neighbours in table.items():
        assert province not in neighbours
        for other in neighbours:
            assert province in table[other], f"{other} does not list {province}"


@pytest.mark.parametrize("origin, destination, zone", [
    ("山东省", "山东省", Zone.SAME_PROVINCE),
    ("山东省", "江苏省", Zone.NEIGHBOURING),
    ("浙江省", "上海市", Zone.NEIGHBOURING),
    ("广东省", "海南省", Zone.NEIGHBOURING),
    ("云南省", "上海市", Zone.FAR),
    ("黑龙江省", "海南省", Zone.FAR),
    ("山东省", "somewhere", Zone.FAR),
])
def test_zone_between_provinces(origin, destination, zone):
    assert shipping.zone_between(origin, destination) == zone


@pytest.mark.django_db
def test_default_rates_are_shipped_as_data():
    assert set(ShippingRate.objects.values_list("zone", flat=True)) == set(Zone.values)


@pytest.mark.django_db
def test_fee_is_base_plus_per_kg_plus_cold_chain_when_any_line_needs_it():
    ShippingRate.objects.filter(zone=Zone.NEIGHBOURING).update(base_fee=Decimal("10.00"), per_kg=Decimal("2.00"),
                                                               cold_chain_surcharge=Decimal("15.00"))
    apples = ProductFactory(unit_weight_kg=Decimal("5.000"))
    berries = ProductFactory(unit_weight_kg=Decimal("0.500"), perishable=True)
    dry = shipping.quote(origin_province="山东省", destination_province="江苏省", lines=[(apples, 3)])
    assert (dry.zone, dry.weight_kg, dry.cold_chain, dry.fee) == (Zone.NEIGHBOURING, Decimal("15"), False,
                                                                  Decimal("40.00"))
    cold = shipping.quote(origin_province="山东省", destination_province="江苏省", lines=[(apples, 3), (berries, 2)])
    assert (cold.weight_kg, cold.cold_chain, cold.fee) == (Decimal("16"), True, Decimal("57.00"))


@pytest.mark.django_db
def test_rates_staff_edit_are_used_and_a_deleted_row_falls_back_to_the_default():
    product = ProductFactory(unit_weight_kg=Decimal("1.000"), cold_chain=True)
    ShippingRate.objects.filter(zone=Zone.SAME_PROVINCE).update(base_fee=Decimal("1.00"), per_kg=Decimal("0"),
                                                                cold_chain_surcharge=Decimal("0"))
    assert shipping.quote(origin_province="山东", destination_province="山东省",
                          lines=[(product, 4)]).fee == Decimal("1.00")
    ShippingRate.objects.filter(zone=Zone.FAR).delete()
    base, per_kg, cold = shipping.DEFAULT_RATES[Zone.FAR]
    assert shipping.quote(origin_province="山东", destination_province="云南",
                          lines=[(product, 4)]).fee == base + per_kg * 4 + cold


def test_province_choices_list_every_division_once():
    values = [v for v, _label in shipping.province_choices()]
    assert len(values) == len(set(values)) == 31
    assert "广西壮族自治区" in values and "北京市" in values and "山东省" in values
