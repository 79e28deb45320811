"""The shell's tab bar: the tabs of each role, and their counts read in one query that replaces the inbox count."""
import re

import pytest

from accounts.tests.factories import BuyerFactory
from notifications.tests.factories import NotificationFactory
from orders.tests.factories import fill_cart, place
from shops.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def tab_bar(response) -> str:
    return re.search(r'<nav class="tabbar".*?</nav>', response.content.decode(), re.S).group(0)


def test_a_buyer_sees_the_cart_count_and_the_unread_badge_from_one_query(client, django_assert_num_queries):
    buyer = BuyerFactory()
    fill_cart(buyer, (ProductFactory(stock=9), 1), (ProductFactory(stock=9), 2))
    NotificationFactory.create_batch(3, recipient=buyer)
    client.force_login(buyer)
    client.get("/search/")  # warm the process-held catalogue data
    # Session, user, then the shell's one query (cart lines and unread messages); the cart page adds its own.
    with django_assert_num_queries(3):
        response = client.get("/accounts/profile/")
    bar = tab_bar(response)
    assert re.search(r'href="/cart/">Cart <span class="count">2</span>', bar)
    assert "3 new" in response.content.decode()  # the inbox badge in the menu
    assert re.findall(r">(\w[\w ]*?)(?: <span|</a>)", bar) == [
        "Home", "Search", "Cart", "Orders", "Me"]


def test_a_farmer_sees_orders_waiting_for_them_and_add_product_leads_to_their_only_shop(client):
    order = place(shops=1)
    shop = order.shop_orders.get().shop
    client.force_login(shop.owner)
    bar = tab_bar(client.get("/seller/"))
    assert re.search(r'href="/seller/orders/">Orders <span class="count">1</span>', bar)
    assert f'href="/seller/shops/{shop.slug}/products/new/"' in bar


def test_a_visitor_page_carries_no_count(client):
    bar = tab_bar(client.get("/"))
    assert 'class="count"' not in bar and '<a href="/accounts/login/">Me</a>' in bar
    assert '<a href="/" aria-current="page">Home</a>' in bar


def test_the_counts_are_read_only_when_a_page_shows_one_and_then_once(rf, django_assert_num_queries):
    from marketplace.context_processors import shell

    user = BuyerFactory()
    NotificationFactory.create_batch(2, recipient=user)
    request = rf.get("/")
    request.user = user
    with django_assert_num_queries(0):
        context = shell(request)
    with django_assert_num_queries(1):
        assert str(context["notifications_unread"]) == "2"
        assert context["shell"].counts.unread == 2  # the same query, not a second one
