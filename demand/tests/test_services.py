"""The demand services: posts, offers (with the buyer's notification) and the anonymous search log."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.tests.factories import BuyerFactory, FarmerFactory
from demand import selectors, services
from demand.models import DemandPost, Offer, SearchLog
from notifications.models import Notification
from shops.models import Category
from shops.tests.factories import ProductFactory, ShopMemberFactory

from .factories import DemandPostFactory, OfferFactory

pytestmark = pytest.mark.django_db


def post_kwargs(**overrides):
    return {"category": Category.objects.get(slug="apples"), "words": "红富士", "quantity": 20, "unit": "box",
            "province": "上海市", "city": "上海市", "needed_by": timezone.localdate() + timedelta(days=7),
            "max_price": Decimal("80.00"), **overrides}


def test_create_post_saves_the_request():
    buyer = BuyerFactory()
    post = services.create_post(buyer=buyer, **post_kwargs())
    assert post.pk and post.buyer == buyer and post.status == DemandPost.Status.OPEN
    assert post.max_price == Decimal("80.00")


def test_today_is_a_valid_date():
    assert services.create_post(buyer=BuyerFactory(), **post_kwargs(needed_by=timezone.localdate())).pk


@pytest.mark.parametrize("overrides, field", [
    ({"needed_by": date.today() - timedelta(days=1)}, "needed_by"),
    ({"quantity": 0}, "quantity"),
    ({"quantity": -5}, "quantity"),
    ({"max_price": Decimal("-1.00")}, "max_price"),
    ({"max_price": Decimal("0.00")}, "max_price"),
    ({"category": None, "words": "  "}, "words"),
    ({"province": ""}, "province"),
])
def test_create_post_refuses_bad_input_and_saves_nothing(overrides, field):
    with pytest.raises(ValidationError) as caught:
        services.create_post(buyer=BuyerFactory(), **post_kwargs(**overrides))
    assert field in caught.value.message_dict
    assert not DemandPost.objects.exists()


def test_a_farmer_cannot_post_demand():
    with pytest.raises(ValidationError):
        services.create_post(buyer=FarmerFactory(), **post_kwargs())
    assert not DemandPost.objects.exists()


def test_close_post_is_idempotent():
    post = DemandPostFactory()
    services.close_post(post=post)
    first = DemandPost.objects.get(pk=post.pk)
    services.close_post(post=post)
    again = DemandPost.objects.get(pk=post.pk)
    assert first.status == again.status == DemandPost.Status.CLOSED
    assert again.closed_at == first.closed_at


# --- Offers ---------------------------------------------------------------------------

def test_make_offer_links_the_product_and_tells_the_buyer(django_capture_on_commit_callbacks):
    post = DemandPostFactory()
    product = ProductFactory()
    with django_capture_on_commit_callbacks(execute=True):
        offer = services.make_offer(post=post, farmer=product.shop.owner, product=product, price=Decimal("72.50"),
                                    quantity=10, note="下周发")
    assert offer.shop == product.shop and offer.made_by == product.shop.owner
    notes = Notification.objects.filter(recipient=post.buyer, kind="demand_offer")
    assert {n.channel for n in notes} == {"inbox", "email"}
    inbox = notes.get(channel="inbox")
    assert inbox.link == post.get_absolute_url()
    assert "72.50" in inbox.body and product.shop.name in inbox.body


def test_a_cooperative_manager_may_offer_the_shops_product():
    membership = ShopMemberFactory(role="manager")
    product = ProductFactory(shop=membership.shop)
    offer = services.make_offer(post=DemandPostFactory(), farmer=membership.user, product=product,
                                price=Decimal("10.00"), quantity=1)
    assert offer.made_by == membership.user


@pytest.mark.parametrize("who", ["other_farmer", "plain_member"])
def test_a_farmer_cannot_offer_a_product_they_do_not_manage(who):
    product = ProductFactory()
    farmer = FarmerFactory() if who == "other_farmer" else ShopMemberFactory(shop=product.shop).user
    with pytest.raises(ValidationError) as caught:
        services.make_offer(post=DemandPostFactory(), farmer=farmer, product=product, price=Decimal("10.00"),
                            quantity=1)
    assert "product" in caught.value.message_dict
    assert not Offer.objects.exists() and not Notification.objects.exists()


def test_a_buyer_cannot_offer():
    product = ProductFactory()
    with pytest.raises(ValidationError):
        services.make_offer(post=DemandPostFactory(), farmer=BuyerFactory(), product=product,
                            price=Decimal("10.00"), quantity=1)
    assert not Offer.objects.exists()


def test_one_offer_per_product_per_post():
    offer = OfferFactory()
    with pytest.raises(ValidationError) as caught:
        services.make_offer(post=offer.post, farmer=offer.made_by, product=offer.product, price=Decimal("1.00"),
                            quantity=1)
    assert "product" in caught.value.message_dict
    assert Offer.objects.count() == 1
    # Another product of the same shop is a new offer.
    other = ProductFactory(shop=offer.shop)
    services.make_offer(post=offer.post, farmer=offer.made_by, product=other, price=Decimal("1.00"), quantity=1)
    assert Offer.objects.count() == 2


@pytest.mark.parametrize("state", ["closed", "past"])
def test_no_offers_on_a_closed_or_past_post(state):
    post = (DemandPostFactory(status=DemandPost.Status.CLOSED) if state == "closed"
            else DemandPostFactory(needed_by=timezone.localdate() - timedelta(days=1)))
    product = ProductFactory()
    with pytest.raises(ValidationError):
        services.make_offer(post=post, farmer=product.shop.owner, product=product, price=Decimal("1.00"), quantity=1)
    assert not Offer.objects.exists()


@pytest.mark.parametrize("price, quantity, field", [
    (Decimal("-1.00"), 1, "price"), (Decimal("0"), 1, "price"), (Decimal("1.00"), 0, "quantity"),
])
def test_offer_bad_numbers(price, quantity, field):
    product = ProductFactory()
    with pytest.raises(ValidationError) as caught:
        services.make_offer(post=DemandPostFactory(), farmer=product.shop.owner, product=product, price=price,
                            quantity=quantity)
    assert field in caught.value.message_dict
    assert not Offer.objects.exists()


def test_offers_visible_to_the_buyer_all_and_to_a_farmer_their_own():
    post = DemandPostFactory()
    mine, theirs = OfferFactory(post=post), OfferFactory(post=post)
    assert set(selectors.offers_visible_on(post, post.buyer)) == {mine, theirs}
    assert list(selectors.offers_visible_on(post, mine.made_by)) == [mine]
    assert list(selectors.offers_visible_on(post, BuyerFactory())) == []


# --- Search log -----------------------------------------------------------------------

def test_search_log_has_no_field_that_could_identify_the_searcher():
    names = {f.name for f in SearchLog._meta.get_fields()}
    assert names == {"id", "day", "query", "category", "province", "count"}
    assert not any(f.is_relation for f in SearchLog._meta.get_fields())


def test_search_misses_are_counted_per_day_words_category_and_province():
    today = timezone.localdate()
    for query in ("火龙果", "  火龙果 ", "火龙果"):
        services.record_search_miss(query=query, category="fruit")
    services.record_search_miss(query="火龙果", category="fruit", province="云南省")
    services.record_search_miss(query="火龙果", category="")
    services.record_search_miss(query="火龙果", category="fruit", day=today - timedelta(days=1))
    rows = {(r.day, r.query, r.category, r.province): r.count for r in SearchLog.objects.all()}
    assert rows == {
        (today, "火龙果", "fruit", ""): 3,
        (today, "火龙果", "fruit", "云南省"): 1,
        (today, "火龙果", "", ""): 1,
        (today - timedelta(days=1), "火龙果", "fruit", ""): 1,
    }
    assert selectors.search_miss_count("火龙果", "fruit") == 5


def test_search_words_are_normalised():
    services.record_search_miss(query="  Ｄｒａｇｏｎ   FRUIT ", category="fruit")
    services.record_search_miss(query="dragon fruit", category="fruit")
    assert list(SearchLog.objects.values_list("query", "count")) == [("dragon fruit", 2)]


def test_empty_words_are_not_logged():
    services.record_search_miss(query="   ", category="fruit")
    assert not SearchLog.objects.exists()
