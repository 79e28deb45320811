"""The product page loads its offers and rating in its view (shops.signals.product_page): a fixed number of
queries whatever it shows, none of them from the templates."""
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from presales.tests.factories import make_deal, make_presale, preorder, start
from shops import views
from shops.cache import GLOBAL, catalogue
from shops.tests.factories import ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("card_payments_on")]

# product, its photos, lots, more from the shop (ids, then rows and photos of tiles not kept yet), the products with
# offers (held per catalogue version), pre-sales, group offers, open groups; the rating is read with the product
PRODUCT_PAGE_QUERIES = 10


def _product_with_everything():
    product = ProductFactory(stock=50)
    make_presale(product=product)
    start(make_deal(product=product))
    ProductFactory(shop=product.shop)  # "more from this shop"
    return product


def test_product_page_with_offers_has_a_fixed_number_of_queries(django_assert_max_num_queries):
    product = _product_with_everything()
    with django_assert_max_num_queries(PRODUCT_PAGE_QUERIES):
        response = Client().get(product.get_absolute_url())
    page = response.content.decode()
    assert "Pre-order the coming harvest" in page and "Open groups" in page


def test_product_page_templates_make_no_queries(monkeypatch):
    product = _product_with_everything()
    real = views.render
    during_render = []

    def counting_render(*args, **kwargs):
        with CaptureQueriesContext(connection) as queries:
            response = real(*args, **kwargs)
        during_render.extend(q["sql"] for q in queries)
        return response

    monkeypatch.setattr(views, "render", counting_render)
    assert Client().get(product.get_absolute_url()).status_code == 200
    assert during_render == []


def test_a_product_without_offers_asks_nothing_of_the_presales_and_shows_one_once_opened():
    product = ProductFactory(stock=50)
    client = Client()
    client.get(product.get_absolute_url() + "?first=1")  # the products with offers, held by this process
    with CaptureQueriesContext(connection) as queries:
        assert client.get(product.get_absolute_url()).status_code == 200
    assert not [q for q in queries if "presales_" in q["sql"]]
    make_presale(product=product)  # through the service: its page's and the offers' versions move
    page = client.get(product.get_absolute_url() + "?after=1").content.decode()
    assert "Pre-order the coming harvest" in page


def test_the_product_page_shows_at_most_five_open_groups_per_offer():
    product = ProductFactory(stock=50)
    deal = make_deal(product=product)
    for _ in range(7):
        start(deal)
    page = Client().get(product.get_absolute_url()).content.decode()
    assert page.count("Join group ") == 5


def test_an_offer_refreshes_its_products_page_and_no_other(monkeypatch):
    from core import pagecache

    # A page rendered within the margin after a change to what it shows is not kept (it may predate the change
    # on another server's clock); this test changes things a moment before each render.
    monkeypatch.setattr(pagecache, "CLOCK_MARGIN_US", 0)
    product, other = ProductFactory(stock=50), ProductFactory(stock=50)
    presale = make_presale(product=product, capacity=10)
    client = Client()
    for shown in (product, other):
        client.get(shown.get_absolute_url())
        assert client.get(shown.get_absolute_url())["X-Catalogue-Cache"] == "hit"
    before = catalogue.current(GLOBAL)
    preorder(presale, quantity=3)
    page = client.get(product.get_absolute_url())
    assert page["X-Catalogue-Cache"] == "miss" and "7 units left" in page.content.decode()
    assert client.get(other.get_absolute_url())["X-Catalogue-Cache"] == "hit"  # the rest of the catalogue stays
    start(make_deal(product=other))  # a new offer: the other product's page, and the set of products with offers
    page = client.get(other.get_absolute_url())
    assert page["X-Catalogue-Cache"] == "miss" and "Open groups" in page.content.decode()
    assert catalogue.current(GLOBAL) == before
