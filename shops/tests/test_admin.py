import io
import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from accounts.tests.factories import FarmerFactory, UserFactory
from shops import cache as shop_cache
from shops import services
from shops.cache import catalogue_version
from shops.models import HarvestLot, Product, Shop

from .factories import HarvestLotFactory, InputApplicationFactory, ProductFactory, ShopFactory, ShopMemberFactory

pytestmark = pytest.mark.django_db


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (20, 120, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def shop_with_licence():
    shop = ShopFactory()
    upload = SimpleUploadedFile("licence.jpg", jpeg_bytes(), content_type="image/jpeg")
    return services.submit_verification(shop=shop, actor=shop.owner, licence_photo=upload)


@pytest.mark.parametrize("model", ["village", "shop", "category", "product", "harvestlot"])
def test_changelists_load(staff_client, model):
    lot = HarvestLotFactory()
    InputApplicationFactory(lot=lot)
    response = staff_client.get(reverse(f"admin:shops_{model}_changelist"))
    assert response.status_code == 200


@pytest.mark.parametrize("model, make", [
    ("shop", lambda n: ShopMemberFactory.create_batch(n)),
    ("product", lambda n: ProductFactory.create_batch(n)),
    ("harvestlot", lambda n: HarvestLotFactory.create_batch(n)),
])
def test_changelist_query_count_is_fixed(staff_client, django_assert_max_num_queries, model, make):
    url = reverse(f"admin:shops_{model}_changelist")
    make(1)
    staff_client.get(url)  # warm the session and content types
    with CaptureQueriesContext(connection) as one:
        assert staff_client.get(url).status_code == 200
    make(20)
    with django_assert_max_num_queries(len(one)):
        assert staff_client.get(url).status_code == 200


def test_shop_list_filters_by_verification(staff_client):
    pending = ShopFactory(name="待审农场", verification=Shop.Verification.PENDING)
    ShopFactory(name="已审农场", verification=Shop.Verification.VERIFIED)
    response = staff_client.get(reverse("admin:shops_shop_changelist"), {"verification__exact": "pending"})
    assert pending.name in response.text and "已审农场" not in response.text


def test_category_list_is_a_tree(staff_client):
    text = staff_client.get(reverse("admin:shops_category_changelist")).text
    # The parent, then its children indented under it, before the next top-level category.
    assert text.index("水果 / Fruit") < text.index("— 苹果 / Apples") < text.index("蔬菜 / Vegetables")


def test_product_search(staff_client):
    ProductFactory(title="库尔勒香梨")
    ProductFactory(title="赣南脐橙")
    text = staff_client.get(reverse("admin:shops_product_changelist"), {"q": "香梨"}).text
    assert "库尔勒香梨" in text and "赣南脐橙" not in text


@pytest.mark.parametrize("action, expected", [
    ("approve_verification", Shop.Verification.VERIFIED),
    ("reject_verification", Shop.Verification.REJECTED),
])
def test_review_actions(staff_client, action, expected):
    shops = ShopFactory.create_batch(2, verification=Shop.Verification.PENDING)
    untouched = ShopFactory(verification=Shop.Verification.PENDING)
    response = staff_client.post(reverse("admin:shops_shop_changelist"),
                                 {"action": action, "_selected_action": [s.pk for s in shops]})
    assert response.status_code == 302
    for shop in shops:
        shop.refresh_from_db()
        assert shop.verification == expected
        assert (shop.verified_at is not None) == (expected == Shop.Verification.VERIFIED)
    untouched.refresh_from_db()
    assert untouched.verification == Shop.Verification.PENDING


def test_shop_change_page_has_members_inline(staff_client):
    membership = ShopMemberFactory()
    text = staff_client.get(reverse("admin:shops_shop_change", args=[membership.shop.pk])).text
    assert 'name="memberships-TOTAL_FORMS"' in text and str(membership.user.pk) in text


class TestLicencePhoto:
    def test_stored_outside_media_and_not_served_there(self, client, settings, shop_with_licence):
        shop = shop_with_licence
        path = Path(shop.licence_photo.path)
        assert path.exists()
        assert Path(settings.MEDIA_ROOT) not in path.parents
        assert client.get(f"/media/{shop.licence_photo.name}").status_code == 404
        # Not even by walking out of MEDIA_ROOT.
        walk = os.path.relpath(path, settings.MEDIA_ROOT)
        assert walk.startswith("..")
        assert client.get(f"/media/{walk}").status_code in (400, 404)

    def test_staff_read_it_through_the_admin(self, staff_client, shop_with_licence):
        shop = shop_with_licence
        response = staff_client.get(reverse("admin:shops_shop_licence", args=[shop.pk]))
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert "sandbox" in response["Content-Security-Policy"]
        assert "no-store" in response["Cache-Control"]
        assert b"".join(response.streaming_content) == Path(shop.licence_photo.path).read_bytes()

    def test_change_page_links_to_the_admin_view_not_media(self, staff_client, shop_with_licence):
        shop = shop_with_licence
        text = staff_client.get(reverse("admin:shops_shop_change", args=[shop.pk])).text
        assert reverse("admin:shops_shop_licence", args=[shop.pk]) in text
        assert shop.licence_photo.name not in text

    def test_not_for_anyone_else(self, client, shop_with_licence):
        url = reverse("admin:shops_shop_licence", args=[shop_with_licence.pk])
        assert client.get(url).status_code == 302  # anonymous: to the admin sign-in
        client.force_login(shop_with_licence.owner)  # even the shop's own owner
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
        client.force_login(UserFactory(is_staff=True))  # staff without the right to view shops
        assert client.get(url).status_code == 403

    def test_missing_photo_is_404(self, staff_client):
        shop = ShopFactory()
        assert staff_client.get(reverse("admin:shops_shop_licence", args=[shop.pk])).status_code == 404

    def test_a_renamed_file_is_still_sent_as_an_image(self, staff_client):
        # The name is the uploader's; the content type follows the decoded bytes, never the name.
        shop = ShopFactory()
        upload = SimpleUploadedFile("page.html", jpeg_bytes(), content_type="text/html")
        services.submit_verification(shop=shop, actor=shop.owner, licence_photo=upload)
        response = staff_client.get(reverse("admin:shops_shop_licence", args=[shop.pk]))
        assert response["Content-Type"] == "image/jpeg"
        assert ".html" not in response["Content-Disposition"]


class TestProductAdmin:
    def test_staff_cannot_add_products(self, staff_client):
        assert staff_client.get(reverse("admin:shops_product_add")).status_code == 403

    def test_taking_a_product_off_sale_refreshes_its_listings_not_the_whole_catalogue(self, staff_client):
        product = ProductFactory(title="原标题")
        scopes = [shop_cache.LISTING, shop_cache.product_scope(product.pk), shop_cache.shop_scope(product.shop_id),
                  shop_cache.category_scope(product.category_id)]
        before, before_all = shop_cache.catalogue.current_many(scopes), catalogue_version()
        response = staff_client.post(reverse("admin:shops_product_change", args=[product.pk]), {
            "title": "改掉", "images-TOTAL_FORMS": "0", "images-INITIAL_FORMS": "0",
            "images-MIN_NUM_FORMS": "0", "images-MAX_NUM_FORMS": "1000"})
        assert response.status_code == 302
        product.refresh_from_db()
        assert product.is_active is False
        assert product.title == "原标题"  # read-only here: sellers edit through the services
        after = shop_cache.catalogue.current_many(scopes)
        assert all(after[scope] > before[scope] for scope in scopes)
        assert catalogue_version() == before_all
        assert not Product.objects.filter(is_active=True).exists()


class TestLotAdmin:
    def test_lot_page_shows_inputs_read_only(self, staff_client):
        application = InputApplicationFactory(product_name="石硫合剂")
        url = reverse("admin:shops_harvestlot_change", args=[application.lot.pk])
        text = staff_client.get(url).text
        assert "石硫合剂" in text and 'name="inputs-0-product_name"' not in text
        assert staff_client.post(url, {"plot": "changed"}).status_code == 403
        assert HarvestLot.objects.get(pk=application.lot.pk).plot != "changed"


def test_non_staff_cannot_open_the_admin(client):
    client.force_login(FarmerFactory())
    response = client.get(reverse("admin:shops_shop_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
