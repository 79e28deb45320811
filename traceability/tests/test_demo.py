"""The demo world has full trace chains: every lot commissioned, the agent's parcels' custody down to delivery,
inspections of the certified lots; every chain verifies and every export validates. Loading twice adds nothing."""
import io

import pytest

from accounts import demo as accounts_demo
from logistics import demo as logistics_demo
from orders import demo as orders_demo
from shops import demo as shops_demo
from shops.models import HarvestLot
from traceability import demo
from traceability.models import TraceEvent

from .helpers import errors_of

pytestmark = pytest.mark.django_db
K = TraceEvent.Kind


def test_demo_lots_have_full_verified_chains_and_valid_exports(api_client, validator):
    out = io.StringIO()
    for app in (accounts_demo, shops_demo, orders_demo, logistics_demo, demo):
        app.load(out)
    lots = list(HarvestLot.objects.select_related("product"))
    assert lots
    kinds = {}
    for record in TraceEvent.objects.order_by("lot_id", "sequence"):
        kinds.setdefault(record.lot_id, []).append(record.kind)
    assert all(kinds[lot.pk][0] == K.HARVEST for lot in lots)  # every lot starts with its harvest
    every_kind = {kind for lot_kinds in kinds.values() for kind in lot_kinds}
    assert every_kind == set(K.values)  # custody to delivery, a problem, inspections ...
    certified = [lot for lot in lots if lot.product.organic or lot.product.green_food
                 or lot.product.geographical_indication]
    assert certified and all(K.INSPECTION in kinds[lot.pk] for lot in certified)
    for lot in lots:
        trace = api_client.get(f"/api/v1/trace/{lot.code}/").json()
        assert trace["chain"]["verified"], lot.code
        assert errors_of(validator, api_client.get(f"/api/v1/trace/{lot.code}/epcis/").json()) == [], lot.code

    before = TraceEvent.objects.count()
    demo.load(out)
    assert TraceEvent.objects.count() == before


def test_demo_backfills_lots_recorded_before_the_trace_log(db):
    out = io.StringIO()
    accounts_demo.load(out)
    shops_demo.load(out)
    lot = HarvestLot.objects.filter(inputs__isnull=False).distinct().first()
    # As if the lot predated the trace log: its records are gone (raw SQL: the ORM cannot delete them).
    from django.db import connection

    from .helpers import trigger_disabled

    with trigger_disabled(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TraceEvent._meta.db_table} WHERE lot_id = %s", [lot.pk])  # noqa: S608
    demo.load(out)
    kinds = list(TraceEvent.objects.filter(lot=lot).order_by("sequence").values_list("kind", flat=True))
    assert kinds[0] == K.HARVEST and kinds.count(K.INPUT) == lot.inputs.count()
