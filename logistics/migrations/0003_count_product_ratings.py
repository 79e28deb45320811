"""The stars of every reviewed product, stored on the product (shops 0006) from the reviews written so far."""
from decimal import ROUND_HALF_UP, Decimal

from django.db import migrations
from django.db.models import Avg, Count


def count(apps, schema_editor):
    Review = apps.get_model("logistics", "Review")
    Product = apps.get_model("shops", "Product")
    rows = (Review.objects.filter(shop_order__lines__product_id__isnull=False)
            .values("shop_order__lines__product_id")
            .annotate(average=Avg("rating"), count=Count("id", distinct=True)))
    for row in rows:
        Product.objects.filter(pk=row["shop_order__lines__product_id"]).update(
            rating_average=Decimal(str(row["average"])).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP),
            rating_count=row["count"])


class Migration(migrations.Migration):
    dependencies = [
        ("logistics", "0002_station_action"),
        ("shops", "0006_product_rating"),
    ]

    operations = [migrations.RunPython(count, migrations.RunPython.noop)]
