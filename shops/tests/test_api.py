import datetime
import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from accounts.tests.factories import BuyerFactory, FarmerFactory
from core import codes
from shops.models import HarvestLot, InputApplication, Product, ProductImage, Shop, ShopMember
from shops.search import build_document

from .factories import (
    HarvestLotFactory,
    ProductFactory,
    ShopFactory,
    ShopMemberFactory,
    VillageFactory,
)

pytestmark = pytest.mark.django_db

PRODUCT_KEYS = {"id", "shop", "title", "description", "category", "unit", "unit_weight_kg", "price", "currency",
                "stock", "is_active", "images", "min_order", "perishable", "cold_chain", "season_months", "origin",
                "organic", "green_food", "geographical_indication", "gtin", "price_per_kg", "in_stock",
                "created_at"}


def jpeg(size=(400, 300), name="photo.jpg") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 30)).save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


def today():
    return timezone.localdate()


# --- Villages ---------------------------------------------------------------------------

class TestVillages:
    # The shipped villages are in the table too, so these live in a province the data lacks.
    def hainan(self, **extra):
        return VillageFactory(**{"name": "椰林村", "name_en": "Yelin", "township": "博鳌镇", "county": "琼海市",
                                 "city": "琼海", "province": "海南省", **extra})

    def test_shape_and_province(self, api_client):
        village = self.hainan()
        VillageFactory(province="甘肃省")
        body = api_client.get("/api/v1/villages/", {"province": "海南省"}).json()
        assert body["count"] == 1
        assert body["results"][0] == {"id": village.id, "name": "椰林村", "name_en": "Yelin", "township": "博鳌镇",
                                      "county": "琼海市", "city": "琼海", "province": "海南省"}

    @pytest.mark.parametrize("word", ["椰林", "博鳌镇", "琼海市", "琼海", "yelin"])
    def test_search_over_name_township_county_city(self, api_client, word):
        village = self.hainan()
        VillageFactory(name="沙漠村", name_en="Shamo", township="某镇", county="某县", city="某市", province="甘肃省")
        assert ids(api_client.get("/api/v1/villages/", {"search": word})) == [village.id]

    def test_paginates(self, api_client):
        body = api_client.get("/api/v1/villages/", {"page_size": 5}).json()
        assert {"count", "next", "previous", "results"} <= set(body)
        assert len(body["results"]) == 5 and body["next"]


# --- Shops ------------------------------------------------------------------------------

class TestShops:
    def test_public_list_shows_open_shops_without_phone(self, api_client):
        open_shop = ShopFactory(contact_phone="13700000000")
        ShopFactory(is_open=False)
        body = api_client.get("/api/v1/shops/").json()
        assert [row["slug"] for row in body["results"]] == [open_shop.slug]
        row = body["results"][0]
        assert {"slug", "name", "kind", "village", "description", "verified"} <= set(row)
        assert "contact_phone" not in row and "13700000000" not in str(body)

    def test_public_detail_hides_phone_but_manager_sees_it(self, api_client):
        shop = ShopFactory(contact_phone="13700000000")
        public = api_client.get(f"/api/v1/shops/{shop.slug}/").json()
        assert "contact_phone" not in public and "13700000000" not in str(public)
        api_client.force_authenticate(FarmerFactory())
        assert "contact_phone" not in api_client.get(f"/api/v1/shops/{shop.slug}/").json()
        api_client.force_authenticate(shop.owner)
        assert api_client.get(f"/api/v1/shops/{shop.slug}/").json()["contact_phone"] == "13700000000"

    def test_closed_shop_is_seen_by_its_manager_only(self, api_client):
        shop = ShopFactory(is_open=False)
        assert api_client.get(f"/api/v1/shops/{shop.slug}/").status_code == 404
        api_client.force_authenticate(shop.owner)
        assert api_client.get(f"/api/v1/shops/{shop.slug}/").status_code == 200
        mine = api_client.get("/api/v1/shops/", {"mine": "true"}).json()
        assert [row["slug"] for row in mine["results"]] == [shop.slug]
        assert mine["results"][0]["verification"] == "unverified"

    def test_farmer_creates_a_shop(self, api_client):
        farmer, village = FarmerFactory(), VillageFactory()
        api_client.force_authenticate(farmer)
        response = api_client.post("/api/v1/shops/", {"name": "绿源农场", "kind": "cooperative",
                                                      "village": village.id, "contact_phone": "13800138000",
                                                      "description": "<p>好</p><script>x</script>"})
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["slug"] == "lv-yuan-nong-chang" and body["kind"] == "cooperative"
        assert body["verified"] is False and body["description"] == "<p>好</p>"
        assert body["contact_phone"] == "13800138000"
        shop = Shop.objects.get(slug=body["slug"])
        assert shop.owner == farmer
        assert ShopMember.objects.filter(shop=shop, user=farmer, role="manager").exists()

    def test_buyer_creating_a_shop_is_403(self, api_client):
        api_client.force_authenticate(BuyerFactory())
        response = api_client.post("/api/v1/shops/", {"name": "x", "village": VillageFactory().id})
        assert response.status_code == 403
        assert not Shop.objects.exists()

    def test_anonymous_write_is_401(self, api_client):
        shop = ShopFactory()
        assert api_client.post("/api/v1/shops/", {"name": "x", "village": shop.village_id}).status_code == 401
        assert api_client.patch(f"/api/v1/shops/{shop.slug}/", {"name": "y"}).status_code == 401
        assert Shop.objects.count() == 1

    @pytest.mark.parametrize("payload, field", [
        ({"name": "x", "village": 999999}, "village"),
        ({"name": "", "village": None}, "name"),
        ({"name": "x", "kind": "factory"}, "kind"),
        ({"name": "x", "contact_phone": "call me"}, "contact_phone"),
    ])
    def test_bad_shop_input_is_400(self, api_client, payload, field):
        api_client.force_authenticate(FarmerFactory())
        payload = {"village": VillageFactory().id, **{k: v for k, v in payload.items() if v is not None}}
        response = api_client.post("/api/v1/shops/", payload)
        assert response.status_code == 400 and field in response.json()
        assert not Shop.objects.exists()

    def test_owner_updates_and_another_farmer_gets_404(self, api_client):
        shop = ShopFactory(name="旧名")
        api_client.force_authenticate(FarmerFactory())
        assert api_client.patch(f"/api/v1/shops/{shop.slug}/", {"name": "偷改"}).status_code == 404
        api_client.force_authenticate(shop.owner)
        response = api_client.patch(f"/api/v1/shops/{shop.slug}/", {"name": "新名", "is_open": False})
        assert response.status_code == 200 and response.json()["name"] == "新名"
        shop.refresh_from_db()
        assert shop.name == "新名" and shop.is_open is False

    def test_filters(self, api_client):
        shandong = ShopFactory(kind=Shop.Kind.COOPERATIVE, verification=Shop.Verification.VERIFIED)
        zhejiang = ShopFactory(village=VillageFactory(province="浙江省"))
        assert [r["slug"] for r in api_client.get("/api/v1/shops/", {"province": "浙江省"}).json()["results"]] \
            == [zhejiang.slug]
        assert [r["slug"] for r in api_client.get("/api/v1/shops/", {"kind": "cooperative"}).json()["results"]] \
            == [shandong.slug]
        assert [r["slug"] for r in api_client.get("/api/v1/shops/", {"verified": "true"}).json()["results"]] \
            == [shandong.slug]
        bad = api_client.get("/api/v1/shops/", {"verified": "maybe"})
        assert bad.status_code == 400 and "verified" in bad.json()

    def test_list_query_count_is_fixed(self, api_client, django_assert_max_num_queries):
        ShopFactory()
        with django_assert_max_num_queries(2):
            assert api_client.get("/api/v1/shops/").json()["count"] == 1
        ShopFactory.create_batch(30)
        with django_assert_max_num_queries(2):
            assert api_client.get("/api/v1/shops/").json()["count"] == 31


class TestMembers:
    def test_manager_adds_lists_and_removes_members(self, api_client):
        shop = ShopFactory(kind=Shop.Kind.COOPERATIVE)
        FarmerFactory(username="wang")
        api_client.force_authenticate(shop.owner)
        added = api_client.post(f"/api/v1/shops/{shop.slug}/members/", {"username": "wang", "role": "member"})
        assert added.status_code == 201
        assert added.json()["username"] == "wang" and added.json()["role"] == "member"
        listing = api_client.get(f"/api/v1/shops/{shop.slug}/members/").json()
        assert [m["username"] for m in listing["results"]] == ["wang"]
        member_id = added.json()["id"]
        assert api_client.delete(f"/api/v1/shops/{shop.slug}/members/{member_id}/").status_code == 204
        assert not ShopMember.objects.filter(pk=member_id).exists()

    def test_non_managers_get_404(self, api_client):
        membership = ShopMemberFactory()
        shop = membership.shop
        FarmerFactory(username="zhao")
        for user in (membership.user, FarmerFactory()):
            api_client.force_authenticate(user)
            assert api_client.get(f"/api/v1/shops/{shop.slug}/members/").status_code == 404
            assert api_client.post(f"/api/v1/shops/{shop.slug}/members/", {"username": "zhao"}).status_code == 404
            assert api_client.delete(f"/api/v1/shops/{shop.slug}/members/{membership.id}/").status_code == 404
        assert ShopMember.objects.filter(shop=shop).count() == 1

    @pytest.mark.parametrize("kind, username, role, field", [
        (Shop.Kind.COOPERATIVE, "nobody", "member", "username"),
        (Shop.Kind.FARM, "wang", "member", "username"),
        (Shop.Kind.COOPERATIVE, "wang", "boss", "role"),
    ])
    def test_bad_member_is_400(self, api_client, kind, username, role, field):
        shop = ShopFactory(kind=kind)
        FarmerFactory(username="wang")
        api_client.force_authenticate(shop.owner)
        response = api_client.post(f"/api/v1/shops/{shop.slug}/members/", {"username": username, "role": role})
        assert response.status_code == 400 and field in response.json()
        assert not ShopMember.objects.exists()


# --- Categories -------------------------------------------------------------------------

class TestCategories:
    def test_tree_order_and_language(self, api_client):
        body = api_client.get("/api/v1/categories/").json()
        rows = body["results"]
        assert body["count"] == len(rows)  # one page holds the tree
        fruit = next(r for r in rows if r["slug"] == "fruit")
        apples = next(r for r in rows if r["slug"] == "apples")
        assert apples["parent"] == fruit["id"] and fruit["parent"] is None
        # Each child comes after its parent and before the next top-level category.
        position = {r["id"]: i for i, r in enumerate(rows)}
        for row in rows:
            if row["parent"]:
                parent_at = position[row["parent"]]
                assert parent_at < position[row["id"]]
                assert all(r["parent"] is not None for r in rows[parent_at + 1:position[row["id"]]])
        assert apples["name"] == "Apples"
        zh = api_client.get("/api/v1/categories/", HTTP_ACCEPT_LANGUAGE="zh-hans").json()["results"]
        assert next(r for r in zh if r["slug"] == "apples")["name"] == "苹果"


# --- Products ---------------------------------------------------------------------------

def product_payload(shop, **extra):
    return {"shop": shop.slug, "title": "赣南脐橙", "description": "<p>甜</p><script>x()</script>",
            "category": "citrus", "unit": "box", "unit_weight_kg": "5.000", "price": "59.9", "stock": 30,
            "season_months": [11, 12, 1], "gtin": "4006381333931", **extra}


class TestProductReads:
    def test_contract_shape(self, api_client):
        product = ProductFactory(price=Decimal("12.5"), organic=True)
        ProductImage.objects.create(product=product, image="products/1/a.jpg", width=400, height=300, is_cover=True,
                                    alt_text="苹果", thumbnails={"320": "products/1/a-320.webp"}, status="ready")
        row = api_client.get("/api/v1/products/").json()["results"][0]
        assert set(row) >= PRODUCT_KEYS
        assert row["shop"] == product.shop.slug and row["category"] == product.category_id
        assert row["price"] == "12.50" and row["currency"] == "CNY" and row["price_per_kg"] == "2.50"
        assert row["season_months"] == [9, 10, 11] and row["in_stock"] is True
        image = row["images"][0]
        assert set(image) >= {"id", "url", "thumbnails", "is_cover", "alt_text", "status"}
        assert image["url"] == "http://testserver/media/products/1/a.jpg"
        assert image["thumbnails"] == {"320": "http://testserver/media/products/1/a-320.webp"}
        assert "contact_phone" not in str(row) and product.shop.contact_phone not in str(row)
        assert api_client.get(f"/api/v1/products/{product.id}/").json() == row

    def test_inactive_and_closed_shop_products_are_hidden_from_the_public(self, api_client):
        on_sale = ProductFactory()
        off_sale = ProductFactory(is_active=False)
        closed = ProductFactory(shop=ShopFactory(is_open=False))
        assert ids(api_client.get("/api/v1/products/")) == [on_sale.id]
        assert api_client.get(f"/api/v1/products/{off_sale.id}/").status_code == 404
        assert api_client.get(f"/api/v1/products/{closed.id}/").status_code == 404

    def test_manager_sees_own_inactive_products_with_mine(self, api_client):
        off_sale = ProductFactory(is_active=False)
        other = ProductFactory()
        api_client.force_authenticate(off_sale.shop.owner)
        assert ids(api_client.get("/api/v1/products/")) == [other.id]
        assert ids(api_client.get("/api/v1/products/", {"mine": "true"})) == [off_sale.id]
        assert api_client.get(f"/api/v1/products/{off_sale.id}/").status_code == 200
        assert ids(api_client.get("/api/v1/products/", {"mine": "false"})) == [other.id]

    def test_mine_for_anonymous_is_empty(self, api_client):
        ProductFactory()
        assert api_client.get("/api/v1/products/", {"mine": "true"}).json()["count"] == 0

    def test_query_count_is_fixed_for_1_and_50_products(self, api_client, django_assert_max_num_queries):
        ProductFactory()
        with django_assert_max_num_queries(3):
            assert api_client.get("/api/v1/products/", {"page_size": 100}).json()["count"] == 1
        shop = ShopFactory()
        for product in ProductFactory.create_batch(49, shop=shop):
            ProductImage.objects.create(product=product, image=f"products/{product.id}/a.jpg", width=400,
                                        height=300, is_cover=True)
        cache.clear()  # factories skip the services' version bump; measure the uncached path
        with django_assert_max_num_queries(3):
            assert len(api_client.get("/api/v1/products/", {"page_size": 100}).json()["results"]) == 50

    def test_mine_query_count_is_fixed(self, api_client, django_assert_max_num_queries):
        shop = ShopFactory()
        ProductFactory(shop=shop)
        api_client.force_authenticate(shop.owner)
        with django_assert_max_num_queries(3):
            assert api_client.get("/api/v1/products/", {"mine": "true"}).json()["count"] == 1
        ProductFactory.create_batch(49, shop=shop, is_active=False)
        with django_assert_max_num_queries(3):
            assert api_client.get("/api/v1/products/", {"mine": "true", "page_size": 100}).json()["count"] == 50


def searchable(title: str, **extra) -> Product:
    """A product with the search document the services would have written."""
    return ProductFactory(title=title, search_document=build_document(title=title), **extra)


class TestProductFilters:
    def test_search(self, api_client):
        apples = searchable("烟台红富士苹果")
        searchable("赣南脐橙")
        for query in ("苹果", "pingguo", "富士"):
            assert ids(api_client.get("/api/v1/products/", {"search": query})) == [apples.id], query

    def test_category_by_id_slug_and_parent_includes_children(self, api_client):
        from shops.models import Category

        fruit, apples_cat = Category.objects.get(slug="fruit"), Category.objects.get(slug="apples")
        apples = ProductFactory(category=apples_cat)
        pears = ProductFactory(category=Category.objects.get(slug="pears"))
        ProductFactory(category=Category.objects.get(slug="rice"))
        assert ids(api_client.get("/api/v1/products/", {"category": apples_cat.id})) == [apples.id]
        assert ids(api_client.get("/api/v1/products/", {"category": "apples"})) == [apples.id]
        assert set(ids(api_client.get("/api/v1/products/", {"category": fruit.id}))) == {apples.id, pears.id}
        assert set(ids(api_client.get("/api/v1/products/", {"category": "fruit"}))) == {apples.id, pears.id}

    def test_shop_and_province(self, api_client):
        here = ProductFactory(shop=ShopFactory(village=VillageFactory(province="云南省")))
        ProductFactory()
        assert ids(api_client.get("/api/v1/products/", {"shop": here.shop.slug})) == [here.id]
        assert ids(api_client.get("/api/v1/products/", {"province": "云南省"})) == [here.id]

    def test_price_range(self, api_client):
        cheap = ProductFactory(price=Decimal("10.00"))
        middle = ProductFactory(price=Decimal("50.00"))
        ProductFactory(price=Decimal("90.00"))
        assert set(ids(api_client.get("/api/v1/products/", {"max_price": "50"}))) == {cheap.id, middle.id}
        assert ids(api_client.get("/api/v1/products/", {"min_price": "20", "max_price": "60"})) == [middle.id]

    def test_in_stock(self, api_client):
        stocked = ProductFactory(stock=5, min_order=2)
        short = ProductFactory(stock=1, min_order=2)
        assert ids(api_client.get("/api/v1/products/", {"in_stock": "true"})) == [stocked.id]
        assert ids(api_client.get("/api/v1/products/", {"in_stock": "false"})) == [short.id]

    def test_certified(self, api_client):
        organic = ProductFactory(organic=True)
        gi = ProductFactory(geographical_indication=True)
        green = ProductFactory(green_food=True)
        ProductFactory()
        assert set(ids(api_client.get("/api/v1/products/", {"certified": "true"}))) == {organic.id, gi.id, green.id}

    def test_orderings(self, api_client):
        middle = ProductFactory(price=Decimal("50.00"))
        cheap = ProductFactory(price=Decimal("10.00"))
        dear = ProductFactory(price=Decimal("90.00"))
        assert ids(api_client.get("/api/v1/products/", {"ordering": "price"})) == [cheap.id, middle.id, dear.id]
        assert ids(api_client.get("/api/v1/products/", {"ordering": "-price"})) == [dear.id, middle.id, cheap.id]
        assert ids(api_client.get("/api/v1/products/", {"ordering": "-created"})) == [dear.id, cheap.id, middle.id]

    def test_ordering_overrides_search_relevance(self, api_client):
        dear = searchable("苹果", price=Decimal("90.00"))
        cheap = searchable("富士苹果礼盒", price=Decimal("10.00"))
        assert ids(api_client.get("/api/v1/products/", {"search": "苹果", "ordering": "price"})) == [cheap.id,
                                                                                                    dear.id]

    @pytest.mark.parametrize("params, field", [
        ({"min_price": "abc"}, "min_price"),
        ({"max_price": "-1"}, "max_price"),
        ({"max_price": "1e400"}, "max_price"),
        ({"min_price": "NaN"}, "min_price"),
        ({"category": "no-such-category"}, "category"),
        ({"category": "99999999999999999999999"}, "category"),
        ({"in_stock": "maybe"}, "in_stock"),
        ({"certified": "2"}, "certified"),
        ({"mine": "yes please"}, "mine"),
        ({"ordering": "title"}, "ordering"),
        ({"search": "苹" * 200}, "search"),
    ])
    def test_bad_filter_values_are_400_with_the_field(self, api_client, params, field):
        ProductFactory()
        response = api_client.get("/api/v1/products/", params)
        assert response.status_code == 400
        assert field in response.json()


class TestProductWrites:
    def test_manager_creates_a_product(self, api_client):
        shop = ShopFactory()
        api_client.force_authenticate(shop.owner)
        response = api_client.post("/api/v1/products/", product_payload(shop), format="json")
        assert response.status_code == 201, response.json()
        body = response.json()
        product = Product.objects.get(pk=body["id"])
        assert product.shop == shop and product.category.slug == "citrus"
        assert body["price"] == "59.90" and body["season_months"] == [1, 11, 12]
        assert body["description"] == "<p>甜</p>" and body["images"] == []
        assert body["category"] == product.category_id

    def test_creating_in_another_farmers_shop_is_400_on_shop(self, api_client):
        theirs = ShopFactory()
        api_client.force_authenticate(FarmerFactory())
        response = api_client.post("/api/v1/products/", product_payload(theirs), format="json")
        assert response.status_code == 400 and "shop" in response.json()
        assert not Product.objects.exists()

    def test_buyer_cannot_create_and_anonymous_is_401(self, api_client):
        shop = ShopFactory()
        assert api_client.post("/api/v1/products/", product_payload(shop), format="json").status_code == 401
        api_client.force_authenticate(BuyerFactory())
        response = api_client.post("/api/v1/products/", product_payload(shop), format="json")
        assert response.status_code == 400 and "shop" in response.json()
        assert not Product.objects.exists()

    @pytest.mark.parametrize("change, field", [
        ({"price": "-1"}, "price"),
        ({"price": "0"}, "price"),
        ({"price": "100000000"}, "price"),
        ({"price": "1.234"}, "price"),
        ({"price": "abc"}, "price"),
        ({"stock": -1}, "stock"),
        ({"stock": 10**12}, "stock"),
        ({"unit_weight_kg": "0"}, "unit_weight_kg"),
        ({"min_order": 0}, "min_order"),
        ({"category": "no-such-category"}, "category"),
        ({"category": 999999}, "category"),
        ({"category": True}, "category"),
        ({"gtin": "4006381333932"}, "gtin"),
        ({"gtin": "12345"}, "gtin"),
        ({"season_months": [13]}, "season_months"),
        ({"unit": "ton"}, "unit"),
        ({"title": ""}, "title"),
    ])
    def test_bad_product_input_is_400_and_nothing_saved(self, api_client, change, field):
        shop = ShopFactory()
        api_client.force_authenticate(shop.owner)
        response = api_client.post("/api/v1/products/", product_payload(shop, **change), format="json")
        assert response.status_code == 400, response.json()
        assert field in response.json()
        assert not Product.objects.exists()

    def test_bad_patch_is_400_and_nothing_changed(self, api_client):
        product = ProductFactory()
        api_client.force_authenticate(product.shop.owner)
        response = api_client.patch(f"/api/v1/products/{product.id}/", {"price": "12.00", "gtin": "4006381333932"})
        assert response.status_code == 400 and "gtin" in response.json()
        product.refresh_from_db()
        assert product.price == Decimal("68.00") and product.gtin == ""

    def test_manager_updates_and_shop_cannot_move(self, api_client):
        product = ProductFactory()
        other_shop = ShopFactory(owner=product.shop.owner)
        api_client.force_authenticate(product.shop.owner)
        response = api_client.patch(f"/api/v1/products/{product.id}/",
                                    {"price": "70.5", "stock": 3, "shop": other_shop.slug, "category": "apples"})
        assert response.status_code == 200, response.json()
        assert response.json()["price"] == "70.50" and response.json()["shop"] == product.shop.slug
        product.refresh_from_db()
        assert (product.price, product.stock, product.shop_id, product.category.slug) == (
            Decimal("70.50"), 3, product.shop_id, "apples")

    def test_cooperative_manager_member_can_update_but_plain_member_cannot(self, api_client):
        manager = ShopMemberFactory(role=ShopMember.Role.MANAGER)
        plain = ShopMemberFactory(shop=manager.shop)
        product = ProductFactory(shop=manager.shop)
        api_client.force_authenticate(plain.user)
        assert api_client.patch(f"/api/v1/products/{product.id}/", {"stock": 1}).status_code == 404
        api_client.force_authenticate(manager.user)
        assert api_client.patch(f"/api/v1/products/{product.id}/", {"stock": 2}).status_code == 200

    def test_another_farmers_product_write_is_404(self, api_client):
        product = ProductFactory()
        api_client.force_authenticate(FarmerFactory())
        assert api_client.patch(f"/api/v1/products/{product.id}/", {"price": "1.00"}).status_code == 404
        assert api_client.delete(f"/api/v1/products/{product.id}/").status_code == 404
        assert api_client.post(f"/api/v1/products/{product.id}/images/", {"image": jpeg()},
                               format="multipart").status_code == 404
        product.refresh_from_db()
        assert product.price == Decimal("68.00") and product.is_active

    def test_anonymous_write_is_401(self, api_client):
        product = ProductFactory()
        assert api_client.patch(f"/api/v1/products/{product.id}/", {"price": "1.00"}).status_code == 401
        assert api_client.delete(f"/api/v1/products/{product.id}/").status_code == 401
        assert Product.objects.filter(pk=product.pk, price=Decimal("68.00")).exists()

    def test_delete_removes_a_product_without_lots(self, api_client):
        product = ProductFactory()
        api_client.force_authenticate(product.shop.owner)
        assert api_client.delete(f"/api/v1/products/{product.id}/").status_code == 204
        assert not Product.objects.filter(pk=product.pk).exists()

    def test_delete_keeps_a_product_with_lots_off_sale(self, api_client):
        lot = HarvestLotFactory()
        api_client.force_authenticate(lot.product.shop.owner)
        assert api_client.delete(f"/api/v1/products/{lot.product_id}/").status_code == 204
        lot.product.refresh_from_db()
        assert lot.product.is_active is False


class TestProductCache:
    def test_cached_list_is_served_without_queries(self, api_client, django_assert_num_queries):
        ProductFactory()
        first = api_client.get("/api/v1/products/").json()
        with django_assert_num_queries(0):
            assert api_client.get("/api/v1/products/").json() == first

    def test_price_change_is_visible_at_once(self, api_client):
        product = ProductFactory(price=Decimal("68.00"))
        assert api_client.get("/api/v1/products/").json()["results"][0]["price"] == "68.00"
        manager = FarmerFactory()
        ShopMember.objects.create(shop=product.shop, user=manager, role="manager")
        writer = type(api_client)()
        writer.force_authenticate(manager)
        assert writer.patch(f"/api/v1/products/{product.id}/", {"price": "72.00"}).status_code == 200
        assert api_client.get("/api/v1/products/").json()["results"][0]["price"] == "72.00"

    def test_query_string_is_part_of_the_key(self, api_client):
        cheap = ProductFactory(price=Decimal("10.00"))
        dear = ProductFactory(price=Decimal("90.00"))
        assert ids(api_client.get("/api/v1/products/", {"ordering": "price"})) == [cheap.id, dear.id]
        assert ids(api_client.get("/api/v1/products/", {"ordering": "-price"})) == [dear.id, cheap.id]

    def test_on_shared_redis_cache(self, api_client, settings):
        from conftest import port_open, require_service

        url = "redis://127.0.0.1:6379/4"
        require_service("Redis", port_open(url, 6379))
        settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": url,
                                       "KEY_PREFIX": "test-shopsapi"}}

        cache.clear()
        try:
            product = ProductFactory(price=Decimal("68.00"))
            assert api_client.get("/api/v1/products/").json()["results"][0]["price"] == "68.00"
            assert any(k.startswith("catalogue:") for k in cache.keys("catalogue:*"))
            writer = type(api_client)()
            writer.force_authenticate(product.shop.owner)
            assert writer.patch(f"/api/v1/products/{product.id}/", {"price": "72.00"}).status_code == 200
            assert api_client.get("/api/v1/products/").json()["results"][0]["price"] == "72.00"
        finally:
            cache.clear()


class TestProductImages:
    def test_upload_then_thumbnails_after_commit(self, api_client, django_capture_on_commit_callbacks):
        product = ProductFactory()
        api_client.force_authenticate(product.shop.owner)
        with django_capture_on_commit_callbacks(execute=True):
            response = api_client.post(f"/api/v1/products/{product.id}/images/",
                                       {"image": jpeg(), "alt_text": "一箱苹果", "is_cover": "true"},
                                       format="multipart")
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["is_cover"] is True and body["alt_text"] == "一箱苹果"
        assert body["url"].startswith("http://testserver/media/products/")
        photo = ProductImage.objects.get(pk=body["id"])
        assert photo.product == product
        # The thumbnail task ran (eagerly) after the commit: the product now lists the WebP URLs.
        image = api_client.get(f"/api/v1/products/{product.id}/").json()["images"][0]
        assert image["status"] == "ready"
        assert image["thumbnails"]["320"].startswith("http://testserver/media/") and \
            image["thumbnails"]["320"].endswith(".webp")

    def test_non_image_is_400_and_nothing_saved(self, api_client):
        product = ProductFactory()
        api_client.force_authenticate(product.shop.owner)
        fake = SimpleUploadedFile("photo.jpg", b"<html>not a photo</html>", content_type="image/jpeg")
        response = api_client.post(f"/api/v1/products/{product.id}/images/", {"image": fake}, format="multipart")
        assert response.status_code == 400 and "image" in response.json()
        assert not ProductImage.objects.exists()

    def test_missing_file_is_400(self, api_client):
        product = ProductFactory()
        api_client.force_authenticate(product.shop.owner)
        response = api_client.post(f"/api/v1/products/{product.id}/images/", {}, format="multipart")
        assert response.status_code == 400 and "image" in response.json()

    def test_delete_and_cover(self, api_client):
        product = ProductFactory()
        api_client.force_authenticate(product.shop.owner)
        first = api_client.post(f"/api/v1/products/{product.id}/images/", {"image": jpeg()}, format="multipart")
        second = api_client.post(f"/api/v1/products/{product.id}/images/", {"image": jpeg()}, format="multipart")
        assert first.json()["is_cover"] is True and second.json()["is_cover"] is False
        made_cover = api_client.patch(f"/api/v1/products/{product.id}/images/{second.json()['id']}/",
                                      {"is_cover": True})
        assert made_cover.status_code == 200 and made_cover.json()["is_cover"] is True
        assert api_client.delete(f"/api/v1/products/{product.id}/images/{second.json()['id']}/").status_code == 204
        assert list(ProductImage.objects.values_list("id", "is_cover")) == [(first.json()["id"], True)]

    def test_another_farmer_cannot_delete_a_photo(self, api_client):
        product = ProductFactory()
        api_client.force_authenticate(product.shop.owner)
        photo_id = api_client.post(f"/api/v1/products/{product.id}/images/", {"image": jpeg()},
                                   format="multipart").json()["id"]
        api_client.force_authenticate(FarmerFactory())
        assert api_client.delete(f"/api/v1/products/{product.id}/images/{photo_id}/").status_code == 404
        assert ProductImage.objects.filter(pk=photo_id).exists()

    def test_uploads_are_throttled_by_their_own_scope(self, api_client, monkeypatch):
        from rest_framework.throttling import ScopedRateThrottle

        monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"uploads": "2/min"})
        product = ProductFactory()
        api_client.force_authenticate(product.shop.owner)
        statuses = [api_client.post(f"/api/v1/products/{product.id}/images/", {"image": jpeg()},
                                    format="multipart").status_code for _ in range(3)]
        assert statuses == [201, 201, 429]
        # Other product endpoints are not under the upload scope.
        assert api_client.get(f"/api/v1/products/{product.id}/").status_code == 200


# --- Lots -------------------------------------------------------------------------------

def wrong_check(code: str) -> str:
    body, check = code[:-1], code[-1]
    return body + next(c for c in codes.ALPHABET if c != check)


class TestLots:
    def test_record_a_lot(self, api_client):
        product = ProductFactory()
        api_client.force_authenticate(product.shop.owner)
        response = api_client.post("/api/v1/lots/", {"product": product.id, "harvested_on": str(today()),
                                                     "quantity": 40, "plot": "东坡"})
        assert response.status_code == 201, response.json()
        body = response.json()
        assert {"id", "product", "code", "harvested_on", "quantity", "grower", "trace_url", "inputs"} <= set(body)
        assert codes.is_valid(body["code"], "L") and body["grower"] == product.shop.owner.username
        assert body["trace_url"].endswith(f"/t/{body['code']}") and body["inputs"] == []

    def test_grower_by_username_must_be_a_member(self, api_client):
        membership = ShopMemberFactory()
        product = ProductFactory(shop=membership.shop)
        api_client.force_authenticate(membership.shop.owner)
        payload = {"product": product.id, "harvested_on": str(today()), "quantity": 5}
        ok = api_client.post("/api/v1/lots/", {**payload, "grower": membership.user.username})
        assert ok.status_code == 201 and ok.json()["grower"] == membership.user.username
        for username in (FarmerFactory().username, "nobody-at-all"):
            refused = api_client.post("/api/v1/lots/", {**payload, "grower": username})
            assert refused.status_code == 400 and "grower" in refused.json()
        assert HarvestLot.objects.count() == 1

    @pytest.mark.parametrize("change, field", [
        ({"harvested_on": str(datetime.date.today() + datetime.timedelta(days=3))}, "harvested_on"),
        ({"harvested_on": "yesterday"}, "harvested_on"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 10**12}, "quantity"),
        ({"product": 999999}, "product"),
    ])
    def test_bad_lot_input_is_400_and_nothing_saved(self, api_client, change, field):
        product = ProductFactory()
        api_client.force_authenticate(product.shop.owner)
        response = api_client.post("/api/v1/lots/", {"product": product.id, "harvested_on": str(today()),
                                                     "quantity": 5, **change})
        assert response.status_code == 400 and field in response.json()
        assert not HarvestLot.objects.exists()

    def test_lot_of_another_farmers_product_is_400_on_product(self, api_client):
        theirs = ProductFactory()
        api_client.force_authenticate(FarmerFactory())
        response = api_client.post("/api/v1/lots/", {"product": theirs.id, "harvested_on": str(today()),
                                                     "quantity": 5})
        assert response.status_code == 400 and "product" in response.json()
        assert not HarvestLot.objects.exists()

    def test_only_own_lots_are_listed_and_read(self, api_client):
        mine, theirs = HarvestLotFactory(), HarvestLotFactory()
        api_client.force_authenticate(mine.product.shop.owner)
        assert ids(api_client.get("/api/v1/lots/")) == [mine.id]
        assert api_client.get(f"/api/v1/lots/{theirs.id}/").status_code == 404
        assert api_client.post(f"/api/v1/lots/{theirs.id}/inputs/", {
            "kind": "fertiliser", "product_name": "x", "dose": "1", "applied_on": str(theirs.harvested_on)
        }).status_code == 404
        assert not InputApplication.objects.exists()

    def test_anonymous_is_401(self, api_client):
        lot = HarvestLotFactory()
        assert api_client.get("/api/v1/lots/").status_code == 401
        assert api_client.post("/api/v1/lots/", {"product": lot.product_id}).status_code == 401

    def test_filter_by_code(self, api_client):
        lot = HarvestLotFactory()
        HarvestLotFactory(product=ProductFactory(shop=lot.product.shop))
        api_client.force_authenticate(lot.product.shop.owner)
        assert ids(api_client.get("/api/v1/lots/", {"code": lot.code})) == [lot.id]
        assert ids(api_client.get("/api/v1/lots/", {"code": lot.code.lower()})) == [lot.id]
        assert ids(api_client.get("/api/v1/lots/", {"product": lot.product_id})) == [lot.id]

    def test_code_with_a_wrong_check_character_is_400(self, api_client):
        lot = HarvestLotFactory()
        api_client.force_authenticate(lot.product.shop.owner)
        response = api_client.get("/api/v1/lots/", {"code": wrong_check(lot.code)})
        assert response.status_code == 400 and "code" in response.json()

    def test_list_query_count_is_fixed(self, api_client, django_assert_max_num_queries):
        lot = HarvestLotFactory()
        api_client.force_authenticate(lot.product.shop.owner)
        with django_assert_max_num_queries(3):
            assert api_client.get("/api/v1/lots/").json()["count"] == 1
        for extra in HarvestLotFactory.create_batch(29, product=lot.product):
            InputApplication.objects.create(lot=extra, kind="fertiliser", product_name="有机肥",
                                            applied_on=extra.harvested_on, dose="1 t")
        with django_assert_max_num_queries(3):
            assert len(api_client.get("/api/v1/lots/", {"page_size": 50}).json()["results"]) == 30


class TestInputs:
    def test_pesticide_inside_its_interval_sets_the_flag(self, api_client):
        lot = HarvestLotFactory()
        api_client.force_authenticate(lot.product.shop.owner)
        response = api_client.post(f"/api/v1/lots/{lot.id}/inputs/", {
            "kind": "pesticide", "product_name": "吡虫啉", "dose": "10 g/亩", "pre_harvest_interval_days": 7,
            "applied_on": str(lot.harvested_on - datetime.timedelta(days=2))})
        assert response.status_code == 201, response.json()
        body = response.json()
        assert body["phi_violation"] is True
        assert body["inputs"][0]["product_name"] == "吡虫啉"
        assert body["inputs"][0]["violates_pre_harvest_interval"] is True
        lot.refresh_from_db()
        assert lot.phi_violation is True

    @pytest.mark.parametrize("change, field", [
        ({"applied_on": "2999-01-01"}, "applied_on"),
        ({"kind": "magic"}, "kind"),
        ({"pre_harvest_interval_days": 1000}, "pre_harvest_interval_days"),
        ({"dose": ""}, "dose"),
    ])
    def test_bad_input_is_400_and_nothing_saved(self, api_client, change, field):
        lot = HarvestLotFactory()
        api_client.force_authenticate(lot.product.shop.owner)
        response = api_client.post(f"/api/v1/lots/{lot.id}/inputs/", {
            "kind": "pesticide", "product_name": "x", "dose": "1", "applied_on": str(lot.harvested_on), **change})
        assert response.status_code == 400 and field in response.json()
        assert not InputApplication.objects.exists()


def test_schema_covers_the_shops_endpoints(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    for path in ("/api/v1/villages/", "/api/v1/shops/", "/api/v1/shops/{slug}/members/", "/api/v1/categories/",
                 "/api/v1/products/", "/api/v1/products/{id}/images/", "/api/v1/lots/", "/api/v1/lots/{id}/inputs/"):
        assert path in schema["paths"], path
    assert "multipart/form-data" in schema["paths"]["/api/v1/products/{id}/images/"]["post"]["requestBody"]["content"]


def test_a_public_search_count_is_kept_until_the_listing_changes(api_client, django_assert_num_queries):
    farmer = FarmerFactory()
    shop = ShopFactory(owner=farmer)
    for n in range(3):
        searchable(f"苹果 {n}", shop=shop)
    first = api_client.get("/api/v1/products/", {"search": "苹果", "page_size": 2})
    assert first.data["count"] == 3
    with django_assert_num_queries(3):  # the ranked ids, their rows, their photos: no COUNT
        again = api_client.get("/api/v1/products/", {"search": "苹果", "page_size": 2, "page": 2})
    assert again.data["count"] == 3 and len(again.data["results"]) == 1
    api_client.force_authenticate(farmer)
    created = api_client.post("/api/v1/products/", product_payload(shop, title="苹果 新"), format="json")
    assert created.status_code == 201, created.data
    api_client.force_authenticate(None)
    assert api_client.get("/api/v1/products/", {"search": "苹果", "page_size": 2, "n": "1"}).data["count"] == 4
    # A seller's own list is counted every time.
    api_client.force_authenticate(farmer)
    assert api_client.get("/api/v1/products/", {"mine": "true"}).data["count"] == 4
