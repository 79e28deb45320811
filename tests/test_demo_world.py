"""The demo world each app adds on top of the demo farmers and catalogue.

The catalogue (farmers, shops, products with drawn photos) is the slow part of the demo, and every app's
demo builds on it, so this module loads it once: its tests run in savepoints inside one transaction that is
rolled back at the end, each adding its own app's demo and reading what it made. The catalogue's own demo
is tested in shops/tests/test_demo.py; monitoring's, which needs no catalogue, in monitoring/tests.
"""
import io

import pytest
from django.db import connection, transaction
from django.test.utils import override_settings

from accounts import demo as accounts_demo
from accounts.models import User
from demand import demo as demand_demo
from demand import selectors as demand_selectors
from demand.models import DemandPost, Offer, SearchLog
from ledger import demo as ledger_demo
from ledger import reconcile
from ledger.models import JournalEntry, Payout
from logistics import demo as logistics_demo
from logistics import selectors as logistics_selectors
from logistics.models import Parcel, Shipment, Station
from notifications.models import Notification
from orders import demo as orders_demo
from orders.models import Order, Payment, ShopOrder
from presales import demo as presales_demo
from presales.models import BuyingGroup, GroupDeal, GroupMember, PreOrder, PreSale
from shops import demo as shops_demo
from shops.models import HarvestLot
from traceability import demo as traceability_demo
from traceability.models import TraceEvent
from traceability.tests.helpers import errors_of, schema_validator, trigger_disabled

pytestmark = pytest.mark.django_db
K = TraceEvent.Kind


@pytest.fixture(scope="module", autouse=True)
def demo_catalogue(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo farmers and catalogue, loaded once for this module inside a transaction rolled back after it."""
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("demo-media")):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            accounts_demo.load(io.StringIO())
            shops_demo.load(io.StringIO())
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def load(*apps) -> io.StringIO:
    out = io.StringIO()
    for app in apps:
        app.load(out)
    return out


def test_orders_demo_makes_paid_and_unpaid_orders_and_a_cart_and_is_idempotent():
    load(orders_demo)
    statuses = sorted(Order.objects.values_list("status", flat=True))
    assert statuses == ["cancelled", "paid", "paid", "paid", "pending_payment"]
    assert ShopOrder.objects.filter(status="accepted").exists() and ShopOrder.objects.filter(status="new").exists()
    buyer_cart = Order.objects.filter(buyer__username="buyer").first().buyer.cart
    assert buyer_cart.items.count() == 2
    before = (Order.objects.count(), buyer_cart.items.count(), list(buyer_cart.items.values_list("quantity")))
    load(orders_demo)
    assert (Order.objects.count(), buyer_cart.items.count(), list(buyer_cart.items.values_list("quantity"))) == before


def test_logistics_demo_makes_stations_an_agent_and_parcels_in_every_state_and_is_idempotent(settings):
    settings.STRIPE_SECRET_KEY = "sk_test_x"  # card payments on; orders paid online are marked paid as by a webhook
    load(orders_demo, logistics_demo)
    agent = User.objects.get(username="agent")
    home = logistics_selectors.agent_station(agent)
    assert home is not None and home.name == "国路夼村服务站" and Station.objects.count() == 6
    assert set(Parcel.objects.values_list("status", flat=True)) == set(Parcel.Status.values)
    assert set(Parcel.objects.values_list("station", flat=True)) == {home.pk}
    assert Shipment.objects.filter(status="departed").exists()  # a shipment in transit
    assert Parcel.objects.filter(shop_order__status="completed").exists()
    before = (Station.objects.count(), Parcel.objects.count(), Shipment.objects.count())
    load(logistics_demo)
    assert (Station.objects.count(), Parcel.objects.count(), Shipment.objects.count()) == before


def test_presales_demo_has_presales_and_an_open_group_without_stripe_and_is_idempotent(
        settings, django_capture_on_commit_callbacks):
    settings.STRIPE_SECRET_KEY = ""  # the embedded site: no payment service
    with django_capture_on_commit_callbacks(execute=True):
        load(orders_demo, presales_demo)
    assert PreSale.objects.count() == 2
    first = PreSale.objects.order_by("harvest_start").first()
    assert first.units_sold == sum(PreOrder.objects.values_list("quantity", flat=True)) > 0
    assert set(PreOrder.objects.values_list("status", flat=True)) == {PreOrder.Status.CASH}
    group = BuyingGroup.objects.get()
    assert (group.status, group.places_taken, group.size) == (BuyingGroup.Status.OPEN, 2, 3)
    assert set(GroupMember.objects.values_list("status", flat=True)) == {GroupMember.Status.AUTHORISED}
    # Recorded as authorised without calling Stripe: no PaymentIntent behind them.
    holds = Payment.objects.filter(order__group_membership__isnull=False)
    assert {(p.status, p.intent_id) for p in holds} == {(Payment.Status.REQUIRES_CAPTURE, None)}

    before = (PreSale.objects.count(), PreOrder.objects.count(), GroupDeal.objects.count(),
              BuyingGroup.objects.count(), GroupMember.objects.count())
    with django_capture_on_commit_callbacks(execute=True):
        load(presales_demo)
    assert (PreSale.objects.count(), PreOrder.objects.count(), GroupDeal.objects.count(),
            BuyingGroup.objects.count(), GroupMember.objects.count()) == before


def test_demand_demo_makes_requests_offers_and_search_logs_and_is_idempotent():
    load(demand_demo)
    cities = set(DemandPost.objects.values_list("city", flat=True))
    assert len(cities) >= 4
    assert set(DemandPost.objects.values_list("buyer__username", flat=True)) == {"buyer", "buyer2"}
    assert Offer.objects.count() == 3
    assert set(Offer.objects.values_list("made_by__username", flat=True)) == {"farmer", "farmer2", "farmer3"}
    assert Notification.objects.filter(kind="demand_offer").exists()
    assert SearchLog.objects.filter(category="apples").exists()
    assert demand_selectors.demand_summary().exists()
    before = (DemandPost.objects.count(), Offer.objects.count(), SearchLog.objects.count())
    load(demand_demo)
    assert (DemandPost.objects.count(), Offer.objects.count(), SearchLog.objects.count()) == before


def test_traceability_demo_lots_have_full_verified_chains_and_valid_exports(settings, api_client):
    settings.STRIPE_SECRET_KEY = "sk_test_x"  # card payments on; orders paid online are marked paid as by a webhook
    validator = schema_validator()
    load(orders_demo, logistics_demo, traceability_demo)
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
    load(traceability_demo)
    assert TraceEvent.objects.count() == before


def test_traceability_demo_backfills_lots_recorded_before_the_trace_log():
    lot = HarvestLot.objects.filter(inputs__isnull=False).distinct().first()
    # As if the lot predated the trace log: its records are gone (raw SQL: the ORM cannot delete them).
    with trigger_disabled(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TraceEvent._meta.db_table} WHERE lot_id = %s", [lot.pk])  # noqa: S608
    load(traceability_demo)
    kinds = list(TraceEvent.objects.filter(lot=lot).order_by("sequence").values_list("kind", flat=True))
    assert kinds[0] == K.HARVEST and kinds.count(K.INPUT) == lot.inputs.count()


def test_ledger_demo_has_completed_sales_a_paid_payout_and_a_pending_one_and_is_idempotent():
    load(orders_demo, logistics_demo, ledger_demo)
    assert set(Payout.objects.values_list("status", flat=True)) == {"paid", "scheduled"}
    assert JournalEntry.objects.filter(kind="release").count() >= 3
    before = (Payout.objects.count(), JournalEntry.objects.count())
    load(ledger_demo)
    assert (Payout.objects.count(), JournalEntry.objects.count()) == before
    assert reconcile.check() == []
