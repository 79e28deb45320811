import io

import pytest

from accounts import demo as accounts_demo
from demand import demo, selectors
from demand.models import DemandPost, Offer, SearchLog
from notifications.models import Notification
from shops import demo as shops_demo

pytestmark = pytest.mark.django_db


def test_demo_makes_requests_offers_and_search_logs_and_is_idempotent():
    out = io.StringIO()
    accounts_demo.load(out)
    shops_demo.load(out)
    demo.load(out)
    cities = set(DemandPost.objects.values_list("city", flat=True))
    assert len(cities) >= 4 and set(DemandPost.objects.values_list("buyer__username", flat=True)) == {"buyer",
                                                                                                       "buyer2"}
    assert Offer.objects.count() == 3
    assert set(Offer.objects.values_list("made_by__username", flat=True)) == {"farmer", "farmer2", "farmer3"}
    assert Notification.objects.filter(kind="demand_offer").exists()
    assert SearchLog.objects.filter(category="apples").exists()
    assert selectors.demand_summary().exists()
    before = (DemandPost.objects.count(), Offer.objects.count(), SearchLog.objects.count())
    demo.load(out)
    assert (DemandPost.objects.count(), Offer.objects.count(), SearchLog.objects.count()) == before
