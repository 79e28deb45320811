"""Default shipping rates per zone (CNY); staff adjust them in the admin."""
from decimal import Decimal

from django.db import migrations

# zone: (base fee, per kg, cold-chain surcharge)
RATES = {
    "same": (Decimal("8.00"), Decimal("1.00"), Decimal("10.00")),
    "neighbouring": (Decimal("10.00"), Decimal("2.00"), Decimal("15.00")),
    "far": (Decimal("15.00"), Decimal("4.00"), Decimal("25.00")),
}


def forwards(apps, schema_editor):
    ShippingRate = apps.get_model("orders", "ShippingRate")
    for zone, (base, per_kg, cold) in RATES.items():
        # get_or_create: never overwrite what staff have already set.
        ShippingRate.objects.get_or_create(zone=zone, defaults={"base_fee": base, "per_kg": per_kg,
                                                                "cold_chain_surcharge": cold})


class Migration(migrations.Migration):

    dependencies = [("orders", "0001_initial")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
