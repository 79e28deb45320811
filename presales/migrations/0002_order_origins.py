"""Mark the orders presales made with their origin (orders.0003 adds the fields; presales knows the orders).

An order is held by its origin exactly when the old presales pre_save receiver refused orders' own cancel
flows for it: its pre-order is live, or its group place is still held (pending or authorised).
"""
from django.db import migrations

PREORDER_LIVE = ["pending", "authorised", "paid", "cash", "payment_due"]
MEMBER_HELD = ["pending", "authorised"]


def mark_origins(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    PreOrder = apps.get_model("presales", "PreOrder")
    GroupMember = apps.get_model("presales", "GroupMember")
    Order.objects.filter(pk__in=PreOrder.objects.values("order_id")).update(origin="presale")
    Order.objects.filter(pk__in=GroupMember.objects.values("order_id")).update(origin="group")
    Order.objects.filter(pk__in=PreOrder.objects.filter(status__in=PREORDER_LIVE).values("order_id")).update(
        held_by_origin=True)
    Order.objects.filter(pk__in=GroupMember.objects.filter(status__in=MEMBER_HELD).values("order_id")).update(
        held_by_origin=True)


def unmark_origins(apps, schema_editor):
    apps.get_model("orders", "Order").objects.update(origin="checkout", held_by_origin=False)


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0003_order_origin"),
        ("presales", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(mark_origins, unmark_origins),
    ]
