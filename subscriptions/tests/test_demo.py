"""The demo world has a weighed product and a box with subscribers, and loading it twice adds nothing."""
import io

import pytest

from accounts import demo as accounts_demo
from shops import demo as shops_demo
from shops.models import Product
from subscriptions import demo
from subscriptions.models import Box, Subscription

pytestmark = pytest.mark.django_db


def test_demo_has_a_weighed_product_and_a_box_with_subscribers():
    out = io.StringIO()
    accounts_demo.load(out)
    shops_demo.load(out)
    demo.load(out)
    demo.load(out)
    weighed = Product.objects.get(pricing=Product.Pricing.WEIGHT)
    assert weighed.kg_price and weighed.lots.exists() and weighed.images.exists()
    assert Box.objects.count() == 2
    assert Subscription.objects.filter(box__title="每周时令菜箱").count() == 2
