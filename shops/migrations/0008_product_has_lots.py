from django.db import migrations, models
from django.db.models import Exists, OuterRef


def mark_products_with_lots(apps, schema_editor):
    Product = apps.get_model("shops", "Product")
    HarvestLot = apps.get_model("shops", "HarvestLot")
    Product.objects.filter(Exists(HarvestLot.objects.filter(product=OuterRef("pk")))).update(has_lots=True)


class Migration(migrations.Migration):

    dependencies = [
        ('shops', '0007_product_shop_newest'),
    ]

    operations = [
        migrations.AddField(
            model_name='product',
            name='has_lots',
            field=models.BooleanField(default=False, editable=False, verbose_name='has harvest lots'),
        ),
        migrations.RunPython(mark_products_with_lots, migrations.RunPython.noop),
    ]
