"""Demand and insights pages: who sees what, forms, CSV downloads and fixed query counts."""
import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import BuyerFactory, FarmerFactory
from demand.models import DemandPost, Offer
from orders.models import ShopOrder
from shops.models import Category
from shops.tests.factories import ProductFactory, ShopFactory, ShopMemberFactory

from .factories import DemandPostFactory, OfferFactory, SearchLogFactory, sale

pytestmark = pytest.mark.django_db


def form_data(**overrides):
    return {"category": "apples", "words": "红富士", "quantity": "20", "unit": "box", "province": "上海市",
            "city": "上海市", "needed_by": (timezone.localdate() + timedelta(days=5)).isoformat(),
            "max_price": "80.00", "note": "", **overrides}


def test_pages_need_sign_in(client):
    post = DemandPostFactory()
    for url in ("/demand/", "/demand/new/", post.get_absolute_url(), "/seller/insights/"):
        assert client.get(url).status_code == 302


def test_buyer_posts_from_the_form(client):
    buyer = BuyerFactory()
    client.force_login(buyer)
    assert client.get("/demand/new/").status_code == 200
    response = client.post("/demand/new/", form_data())
    post = DemandPost.objects.get()
    assert response.status_code == 302 and response["Location"] == post.get_absolute_url()
    assert post.buyer == buyer and post.category.slug == "apples"


@pytest.mark.parametrize("overrides", [
    {"needed_by": "2020-01-01"}, {"quantity": "-1"}, {"max_price": "-2"}, {"category": "", "words": ""},
])
def test_bad_post_form_shows_errors_and_saves_nothing(client, overrides):
    client.force_login(BuyerFactory())
    response = client.post("/demand/new/", form_data(**overrides))
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert not DemandPost.objects.exists()


def test_farmer_cannot_open_the_post_form(client):
    client.force_login(FarmerFactory())
    assert client.get("/demand/new/").status_code == 403


def test_buyer_sees_own_posts_only(client):
    mine = DemandPostFactory(words="我的苹果")
    DemandPostFactory(words="别人的梨")
    client.force_login(mine.buyer)
    page = client.get("/demand/").content.decode()
    assert "我的苹果" in page and "别人的梨" not in page
    assert client.get(DemandPostFactory().get_absolute_url()).status_code == 404


def test_buyer_sees_offers_with_product_links_and_closes(client):
    offer = OfferFactory()
    client.force_login(offer.post.buyer)
    page = client.get(offer.post.get_absolute_url()).content.decode()
    assert offer.product.get_absolute_url() in page and offer.shop.name in page
    response = client.post(f"/demand/{offer.post.pk}/close/")
    assert response.status_code == 302
    assert DemandPost.objects.get(pk=offer.post.pk).status == DemandPost.Status.CLOSED


def test_another_buyer_cannot_close(client):
    post = DemandPostFactory()
    client.force_login(BuyerFactory())
    assert client.post(f"/demand/{post.pk}/close/").status_code == 404
    assert DemandPost.objects.get(pk=post.pk).status == DemandPost.Status.OPEN


def test_farmer_board_shows_summary_and_open_posts(client):
    DemandPostFactory(words="红富士", quantity=10)
    DemandPostFactory(words="嘎啦", quantity=5)
    DemandPostFactory(words="已关闭", status=DemandPost.Status.CLOSED)
    client.force_login(FarmerFactory())
    response = client.get("/demand/")
    page = response.content.decode()
    assert "红富士" in page and "嘎啦" in page and "已关闭" not in page
    assert response.context["summary"][0]["posts"] == 2 and response.context["summary"][0]["quantity"] == 15


def test_board_filters_and_ignores_bad_ones(client):
    DemandPostFactory(words="上海的苹果", province="上海市")
    DemandPostFactory(words="杭州的苹果", province="浙江省")
    client.force_login(FarmerFactory())
    page = client.get("/demand/", {"province": "浙江省"}).content.decode()
    assert "杭州的苹果" in page and "上海的苹果" not in page
    response = client.get("/demand/", {"month": "never", "category": "nope"})
    assert response.status_code == 200 and "上海的苹果" in response.content.decode()
    page = client.get("/demand/", {"month": "never", "province": "浙江省"}).content.decode()
    assert "杭州的苹果" in page and "上海的苹果" not in page  # the valid filter still applies


def test_farmer_makes_an_offer_from_the_post_page(client):
    post = DemandPostFactory()
    product = ProductFactory()
    client.force_login(product.shop.owner)
    page = client.get(post.get_absolute_url()).content.decode()
    assert product.title in page
    response = client.post(post.get_absolute_url(), {"product": product.pk, "price": "66.00", "quantity": "5"})
    assert response.status_code == 302
    assert Offer.objects.get().price == Decimal("66.00")


def test_farmer_cannot_pick_another_farmers_product_on_the_page(client):
    post = DemandPostFactory()
    client.force_login(FarmerFactory())
    response = client.post(post.get_absolute_url(), {"product": ProductFactory().pk, "price": "66.00",
                                                     "quantity": "5"})
    assert response.status_code == 400
    assert not Offer.objects.exists()


def test_buyer_cannot_post_an_offer_on_the_page(client):
    post = DemandPostFactory()
    client.force_login(post.buyer)
    assert client.post(post.get_absolute_url(), {"product": ProductFactory().pk, "price": "1.00",
                                                 "quantity": "1"}).status_code == 403
    assert not Offer.objects.exists()


@pytest.mark.parametrize("rows", [1, 12])
def test_board_and_post_pages_have_fixed_query_counts(client, django_assert_max_num_queries, rows):
    farmer = FarmerFactory()
    ShopFactory(owner=farmer)
    posts = [DemandPostFactory(province=f"省{i}") for i in range(rows)]
    for _ in range(rows):
        OfferFactory(post=posts[0])
    ProductFactory.create_batch(rows, shop=farmer.owned_shops.get())
    client.force_login(farmer)
    with django_assert_max_num_queries(9):
        assert client.get("/demand/").status_code == 200
    with django_assert_max_num_queries(7):
        assert client.get(posts[0].get_absolute_url()).status_code == 200
    client.force_login(posts[0].buyer)
    with django_assert_max_num_queries(5):
        assert client.get(posts[0].get_absolute_url()).status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get("/demand/").status_code == 200


# --- Insights -------------------------------------------------------------------------

@pytest.fixture
def shop_with_sales():
    shop = ShopFactory(slug="wang-orchard")
    product = ProductFactory(shop=shop, title="红富士苹果", category=Category.objects.get(slug="apples"))
    now = timezone.now()
    sale(product=product, quantity=2, unit_price="30.00", at=now - timedelta(days=1))
    sale(product=product, quantity=9, unit_price="30.00", status=ShopOrder.Status.CANCELLED, at=now)
    SearchLogFactory(query="阿克苏苹果", category="apples", count=3)
    SearchLogFactory(query="=HYPERLINK(\"http://evil\")", category="apples", count=1)
    return shop


def test_insights_page_for_the_owner(client, shop_with_sales):
    client.force_login(shop_with_sales.owner)
    response = client.get("/seller/insights/wang-orchard/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<svg" in page and "红富士苹果" in page and "阿克苏苹果" in page
    assert response.context["totals"]["revenue"] == Decimal("60.00")


def test_insights_of_another_shop_is_404(client, shop_with_sales):
    client.force_login(FarmerFactory())
    assert client.get("/seller/insights/wang-orchard/").status_code == 404
    assert client.get("/seller/insights/wang-orchard/", {"format": "csv", "dataset": "sales"}).status_code == 404
    member = ShopMemberFactory(shop=shop_with_sales).user  # a plain member does not manage the shop
    client.force_login(member)
    assert client.get("/seller/insights/wang-orchard/").status_code == 404
    client.force_login(BuyerFactory())
    assert client.get("/seller/insights/wang-orchard/").status_code == 404


def test_a_manager_sees_the_insights(client, shop_with_sales):
    manager = ShopMemberFactory(shop=shop_with_sales, role="manager").user
    client.force_login(manager)
    assert client.get("/seller/insights/wang-orchard/").status_code == 200


def _csv(response) -> list[list[str]]:
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark, for Excel
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))


def test_csv_products(client, shop_with_sales):
    client.force_login(shop_with_sales.owner)
    today = timezone.localdate()
    response = client.get("/seller/insights/wang-orchard/", {"format": "csv", "dataset": "products",
                                                             "start": (today - timedelta(days=7)).isoformat(),
                                                             "end": today.isoformat()})
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="wang-orchard-products-{today - timedelta(days=7)}-{today}.csv"')
    rows = _csv(response)
    assert rows[0] == ["Product id", "Product", "Unit", "Orders", "Units", "Revenue (CNY)"]
    assert rows[1][1:] == ["红富士苹果", "box", "1", "2", "60.00"]
    assert len(rows) == 2


def test_csv_sales_has_every_week(client, shop_with_sales):
    client.force_login(shop_with_sales.owner)
    rows = _csv(client.get("/seller/insights/wang-orchard/", {"format": "csv", "dataset": "sales"}))
    assert rows[0][0] == "Week" and len(rows) == 1 + 12
    assert sum(Decimal(r[4]) for r in rows[1:]) == Decimal("60.00")


def test_csv_searches_quote_formulas(client, shop_with_sales):
    client.force_login(shop_with_sales.owner)
    rows = _csv(client.get("/seller/insights/wang-orchard/", {"format": "csv", "dataset": "searches"}))
    assert rows[1][:4] == ["阿克苏苹果", "Apples", "apples", "3"]
    assert rows[2][0] == "'=HYPERLINK(\"http://evil\")"


def test_csv_in_chinese(client, shop_with_sales):
    client.force_login(shop_with_sales.owner)
    response = client.get("/seller/insights/wang-orchard/", {"format": "csv", "dataset": "products"},
                          HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert _csv(response)[1][1] == "红富士苹果"


@pytest.mark.parametrize("params", [{"dataset": "secrets"}, {"dataset": "sales", "start": "2025-02-30"},
                                    {"dataset": "sales", "start": "2025-03-01", "end": "2025-01-01"}])
def test_bad_csv_request_is_400(client, shop_with_sales, params):
    client.force_login(shop_with_sales.owner)
    assert client.get("/seller/insights/wang-orchard/", {"format": "csv", **params}).status_code == 400


def test_bad_dates_on_the_page_show_an_error_and_the_default_period(client, shop_with_sales):
    client.force_login(shop_with_sales.owner)
    response = client.get("/seller/insights/wang-orchard/", {"start": "2025-03-01", "end": "2025-01-01"})
    assert response.status_code == 200 and response.context["form"].errors
    assert len(response.context["weeks"]) == 12


@pytest.mark.parametrize("rows", [1, 15])
def test_insights_page_has_a_fixed_query_count(client, django_assert_max_num_queries, rows):
    shop = ShopFactory(slug="busy-farm")
    now = timezone.now()
    for i in range(rows):
        product = ProductFactory(shop=shop, category=Category.objects.get(slug="apples"))
        order = sale(product=product, quantity=i + 1, at=now - timedelta(days=i))
        sale(product=product, buyer=order.order.buyer, at=now - timedelta(days=i))
        SearchLogFactory(query=f"词{i}", category="apples")
    client.force_login(shop.owner)
    with django_assert_max_num_queries(10):
        response = client.get("/seller/insights/busy-farm/")
    assert response.status_code == 200 and len(response.context["products"]) == rows
    assert response.context["buyers"]["repeat"] == rows
    for dataset in ("sales", "products", "searches"):
        with django_assert_max_num_queries(5):
            assert client.get("/seller/insights/busy-farm/", {"format": "csv", "dataset": dataset}).status_code == 200


def test_insights_index_redirects_to_the_only_shop(client):
    shop = ShopFactory()
    client.force_login(shop.owner)
    response = client.get("/seller/insights/")
    assert response.status_code == 302 and response["Location"] == f"/seller/insights/{shop.slug}/"
