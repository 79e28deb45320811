import io

import pytest

from accounts import demo as accounts_demo
from orders import demo as orders_demo
from orders.models import Payment
from presales import demo
from presales.models import BuyingGroup, GroupDeal, GroupMember, PreOrder, PreSale
from shops import demo as shops_demo

pytestmark = pytest.mark.django_db


def test_demo_has_presales_and_an_open_group_without_stripe_and_is_idempotent(settings,
                                                                             django_capture_on_commit_callbacks):
    settings.STRIPE_SECRET_KEY = ""  # the embedded site: no payment service
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        accounts_demo.load(out)
        shops_demo.load(out)
        orders_demo.load(out)
        demo.load(out)
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
        demo.load(out)
    assert (PreSale.objects.count(), PreOrder.objects.count(), GroupDeal.objects.count(),
            BuyingGroup.objects.count(), GroupMember.objects.count()) == before
