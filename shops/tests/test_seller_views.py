"""The seller's pages through the test client, and one real-browser journey at phone size."""
import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from accounts.tests.factories import PASSWORD, BuyerFactory, FarmerFactory
from shops.models import HarvestLot, InputApplication, Product, ProductImage, Shop, ShopMember

from .factories import (
    CategoryFactory,
    HarvestLotFactory,
    InputApplicationFactory,
    ProductFactory,
    ShopFactory,
    ShopMemberFactory,
    VillageFactory,
)

pytestmark = pytest.mark.django_db


def jpeg(name: str = "apples.jpg", size=(640, 480), colour=(180, 30, 40)):
    from django.core.files.uploadedfile import SimpleUploadedFile

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


def product_data(category, **overrides) -> dict:
    data = {"title": "栖霞红富士苹果", "category": category.pk, "unit": "box", "unit_weight_kg": "5",
            "price": "68.00", "stock": "120", "min_order": "1", "is_active": "on", "description": "脆甜多汁",
            "season_months": ["9", "10", "11"], "certifications": ["green_food"], "origin": "山东栖霞",
            "gtin": ""}
    data.update(overrides)
    return data


def shop_with_manager(**kwargs) -> Shop:
    shop = ShopFactory(**kwargs)
    ShopMember.objects.create(shop=shop, user=shop.owner, role=ShopMember.Role.MANAGER)
    return shop


# --- The whole flow ------------------------------------------------------------------------

def test_seller_flow_from_opening_a_shop_to_a_lot_with_a_phi_warning(client):
    farmer = FarmerFactory(display_name="王秀英")
    neighbour = FarmerFactory(display_name="李建国")
    village = VillageFactory()
    parent = CategoryFactory(slug="fruit-x", name_en="Fruit")
    apples = CategoryFactory(slug="apples-x", name_en="Apples", parent=parent)
    client.force_login(farmer)

    # Open a cooperative and invite a neighbour as a member.
    response = client.post(reverse("shops:seller_shop_create"), {
        "name": "桃源果蔬合作社", "kind": "cooperative", "village": village.pk, "description": "山坡果园",
        "contact_phone": "13800138000"})
    shop = Shop.objects.get(owner=farmer)
    # A new shop leads straight on to its first product.
    assert response.status_code == 302 and response["Location"] == reverse("shops:seller_product_create",
                                                                           args=[shop.slug])
    response = client.post(reverse("shops:seller_members", args=[shop.slug]),
                           {"username": neighbour.username, "role": "member"})
    assert response.status_code == 302
    assert ShopMember.objects.filter(shop=shop, user=neighbour, role="member").exists()

    # Add a product with two photos: the category select is grouped under its parent.
    form_page = client.get(reverse("shops:seller_product_create", args=[shop.slug]))
    assert '<optgroup label="Fruit">' in form_page.content.decode()
    response = client.post(reverse("shops:seller_product_create", args=[shop.slug]), {
        **product_data(apples), "photos": [jpeg("a.jpg"), jpeg("b.jpg", colour=(20, 160, 40))],
        "photo_alt": "一箱红苹果"})
    product = Product.objects.get(shop=shop)
    assert response.status_code == 302 and response["Location"] == reverse("shops:seller_products", args=[shop.slug])
    assert product.season_months == [9, 10, 11] and product.green_food and not product.organic
    photos = list(product.images.all())
    assert len(photos) == 2 and sum(p.is_cover for p in photos) == 1
    assert {p.alt_text for p in photos} == {"一箱红苹果"}

    # The products list shows it; the inline edit changes price and stock.
    listing = client.get(reverse("shops:seller_products", args=[shop.slug])).content.decode()
    assert "栖霞红富士苹果" in listing and f'id="product-{product.pk}"' in listing
    quick = reverse("shops:seller_product_price_stock", args=[product.pk])
    assert client.post(quick, {"price": "72.50", "stock": "80", "page": "1"}).status_code == 302
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("72.50"), 80)

    # Bad inline values: the error is on the row, nothing changes.
    response = client.post(quick, {"price": "-3", "stock": "lots"})
    assert response.status_code == 200
    row_form = {p.pk: f for p, f in response.context["rows"]}[product.pk]
    assert {"price", "stock"} <= set(row_form.errors)
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("72.50"), 80)

    # Record a lot grown by the member, then a pesticide sprayed inside its pre-harvest interval.
    harvest = datetime.date.today() - datetime.timedelta(days=1)
    response = client.post(reverse("shops:seller_lot_create", args=[product.pk]), {
        "grower": neighbour.pk, "plot": "东坡 3 号地", "harvested_on": harvest.isoformat(), "quantity": "200",
        "notes": ""})
    lot = HarvestLot.objects.get(product=product)
    assert response.status_code == 302 and lot.grower == neighbour
    lot_url = reverse("shops:seller_lot", args=[lot.pk])
    page = client.get(lot_url).content.decode()
    assert lot.code[:4] + "-" + lot.code[4:8] in page  # shown in groups
    assert f'href="/t/{lot.code}"' in page
    assert "Pre-harvest interval not respected" not in page

    response = client.post(lot_url, {
        "kind": "pesticide", "product_name": "吡虫啉", "applied_on": (harvest - datetime.timedelta(days=3)).isoformat(),
        "dose": "20 g/亩", "pre_harvest_interval_days": "14", "notes": ""})
    assert response.status_code == 302
    lot.refresh_from_db()
    assert lot.phi_violation
    page = client.get(lot_url).content.decode()
    assert 'class="badge warn">⚠ Pre-harvest interval not respected' in page
    assert "Not respected" in page


# --- Permissions ---------------------------------------------------------------------------

def test_buyer_gets_a_friendly_403_on_open_shop(client):
    client.force_login(BuyerFactory())
    response = client.get(reverse("shops:seller_shop_create"))
    assert response.status_code == 403
    assert "Only farmers can open a shop" in response.content.decode()
    response = client.post(reverse("shops:seller_shop_create"), {"name": "x", "kind": "farm",
                                                                "village": VillageFactory().pk})
    assert response.status_code == 403 and not Shop.objects.exists()


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(reverse("shops:seller_shops"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_another_farmers_objects_are_404_and_unchanged(client):
    shop = shop_with_manager()
    product = ProductFactory(shop=shop, price=Decimal("10.00"))
    image = ProductImage.objects.create(product=product, image="products/x.jpg", width=800, height=600,
                                        is_cover=True, status="ready")
    lot = HarvestLotFactory(product=product)
    client.force_login(FarmerFactory())
    gets = [reverse("shops:seller_shop_edit", args=[shop.slug]),
            reverse("shops:seller_shop", args=[shop.slug]),
            reverse("shops:seller_verification", args=[shop.slug]),
            reverse("shops:seller_members", args=[shop.slug]),
            reverse("shops:seller_products", args=[shop.slug]),
            reverse("shops:seller_product_create", args=[shop.slug]),
            reverse("shops:seller_product_edit", args=[product.pk]),
            reverse("shops:seller_product_withdraw", args=[product.pk]),
            reverse("shops:seller_lots", args=[product.pk]),
            reverse("shops:seller_lot_create", args=[product.pk]),
            reverse("shops:seller_lot", args=[lot.pk])]
    for url in gets:
        assert client.get(url).status_code == 404, url
    posts = [(reverse("shops:seller_product_price_stock", args=[product.pk]), {"price": "1.00", "stock": "1"}),
             (reverse("shops:seller_product_withdraw", args=[product.pk]), {}),
             (reverse("shops:seller_photo_cover", args=[image.pk]), {}),
             (reverse("shops:seller_photo_delete", args=[image.pk]), {}),
             (reverse("shops:seller_lot", args=[lot.pk]), {"kind": "fertiliser", "product_name": "x",
                                                           "applied_on": "2020-01-01", "dose": "1"})]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    product.refresh_from_db()
    assert product.price == Decimal("10.00") and product.is_active
    assert ProductImage.objects.filter(pk=image.pk).exists() and not lot.inputs.exists()


def test_plain_member_sees_the_cooperative_read_only(client):
    membership = ShopMemberFactory(role=ShopMember.Role.MEMBER)
    shop = membership.shop
    client.force_login(membership.user)
    listing = client.get(reverse("shops:seller_shops")).content.decode()
    assert shop.name in listing and reverse("shops:seller_shop_edit", args=[shop.slug]) not in listing
    detail = client.get(reverse("shops:seller_shop", args=[shop.slug]))
    assert detail.status_code == 200 and not detail.context["can_manage"]
    assert client.get(reverse("shops:seller_shop_edit", args=[shop.slug])).status_code == 404
    response = client.post(reverse("shops:seller_shop_edit", args=[shop.slug]),
                           {"name": "改名", "kind": "cooperative", "village": shop.village_id})
    assert response.status_code == 404
    assert client.get(reverse("shops:seller_products", args=[shop.slug])).status_code == 404
    shop.refresh_from_db()
    assert shop.name != "改名"


def test_cooperative_manager_edits_the_shop(client):
    membership = ShopMemberFactory(role=ShopMember.Role.MANAGER)
    shop = membership.shop
    client.force_login(membership.user)
    response = client.post(reverse("shops:seller_shop_edit", args=[shop.slug]), {
        "name": "新名字合作社", "kind": "cooperative", "village": shop.village_id,
        "description": "<script>x</script>好", "contact_phone": "", "is_open": "on"})
    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.name == "新名字合作社" and "<script>" not in shop.description


# --- Shops ---------------------------------------------------------------------------------

def test_open_shop_with_missing_fields_shows_errors_and_creates_nothing(client):
    client.force_login(FarmerFactory())
    response = client.post(reverse("shops:seller_shop_create"), {"name": "", "kind": "farm", "village": "",
                                                                "contact_phone": "12"})
    assert response.status_code == 200
    assert {"name", "village", "contact_phone"} <= set(response.context["form"].errors)
    assert not Shop.objects.exists()


def test_verification_photo_is_private_and_only_its_status_shown(client, settings):
    shop = shop_with_manager()
    client.force_login(shop.owner)
    url = reverse("shops:seller_verification", args=[shop.slug])
    assert "Not verified" in client.get(url).content.decode()
    response = client.post(url, {"licence_photo": jpeg("licence.jpg")})
    assert response.status_code == 302
    shop.refresh_from_db()
    assert shop.verification == Shop.Verification.PENDING
    # Stored, but outside MEDIA_ROOT and with no public URL.
    assert shop.licence_photo.storage.exists(shop.licence_photo.name)
    assert not shop.licence_photo.path.startswith(str(settings.MEDIA_ROOT))
    assert client.get(f"/media/{shop.licence_photo.name}").status_code == 404
    page = client.get(url).content.decode()
    assert "Waiting for review" in page and "licences/" not in page


def test_verification_refuses_a_file_that_is_not_a_photo(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    shop = shop_with_manager()
    client.force_login(shop.owner)
    response = client.post(reverse("shops:seller_verification", args=[shop.slug]),
                           {"licence_photo": SimpleUploadedFile("id.jpg", b"not an image")})
    assert response.status_code == 200 and "licence_photo" in response.context["form"].errors
    shop.refresh_from_db()
    assert shop.verification == Shop.Verification.UNVERIFIED and not shop.licence_photo


def test_invite_unknown_farmer_shows_error_and_remove_member(client):
    owner_membership = ShopMemberFactory(role=ShopMember.Role.MANAGER)
    shop = owner_membership.shop
    ShopMember.objects.get_or_create(shop=shop, user=shop.owner, defaults={"role": "manager"})
    member = ShopMemberFactory(shop=shop)
    client.force_login(shop.owner)
    url = reverse("shops:seller_members", args=[shop.slug])
    response = client.post(url, {"username": "nobody-here", "role": "member"})
    assert response.status_code == 200 and "username" in response.context["form"].errors
    client.post(reverse("shops:seller_member_remove", args=[shop.slug, member.pk]))
    assert not ShopMember.objects.filter(pk=member.pk).exists()
    # The owner stays, with a message instead of an error page.
    owner_row = ShopMember.objects.get(shop=shop, user=shop.owner)
    response = client.post(reverse("shops:seller_member_remove", args=[shop.slug, owner_row.pk]), follow=True)
    assert "The owner cannot be removed." in response.content.decode()
    assert ShopMember.objects.filter(pk=owner_row.pk).exists()


# --- Products and photos -------------------------------------------------------------------

@pytest.mark.parametrize("price, stock, bad", [
    ("-1", "5", "price"), ("0", "5", "price"), ("abc", "5", "price"), ("1000000000", "5", "price"),
    ("1.234", "5", "price"), ("NaN", "5", "price"), ("10", "-2", "stock"), ("10", "2.5", "stock"),
    ("10", "99999999", "stock"), ("", "", "price"),
])
def test_bad_inline_values_show_on_the_row_and_change_nothing(client, price, stock, bad):
    product = ProductFactory(shop=shop_with_manager(), price=Decimal("68.00"), stock=100)
    client.force_login(product.shop.owner)
    response = client.post(reverse("shops:seller_product_price_stock", args=[product.pk]),
                           {"price": price, "stock": stock}, headers={"X-Fragment": "row"})
    assert response.status_code == 400
    html = response.content.decode()
    assert html.startswith(f'<li class="card seller-row" id="product-{product.pk}"') and 'class="error"' in html
    assert bad in response.context["form"].errors
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("68.00"), 100)


def test_bad_inline_value_without_js_reshows_the_same_page_of_the_list(client):
    from shops.seller_views import PRODUCTS_PER_PAGE

    shop = shop_with_manager()
    category = CategoryFactory()
    products = [ProductFactory(shop=shop, category=category) for _ in range(PRODUCTS_PER_PAGE + 1)]
    oldest = products[0]  # newest first, so the first one made is alone on page 2
    client.force_login(shop.owner)
    list_url = reverse("shops:seller_products", args=[shop.slug])
    assert [p.pk for p, _f in client.get(list_url + "?page=2").context["rows"]] == [oldest.pk]
    response = client.post(reverse("shops:seller_product_price_stock", args=[oldest.pk]),
                           {"price": "abc", "stock": "1", "page": "2"})
    assert response.status_code == 200
    (row_product, row_form), = response.context["rows"]
    assert row_product == oldest and "price" in row_form.errors
    assert f'href="{list_url}?page=1"' in response.content.decode()  # the pager leads back to the list


def test_inline_edit_by_fetch_returns_the_saved_row(client):
    product = ProductFactory(shop=shop_with_manager())
    client.force_login(product.shop.owner)
    response = client.post(reverse("shops:seller_product_price_stock", args=[product.pk]),
                           {"price": "9.90", "stock": "7"}, headers={"X-Fragment": "row"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="status"' in html and 'value="9.90"' in html and "<html" not in html
    product.refresh_from_db()
    assert (product.price, product.stock) == (Decimal("9.90"), 7)


def test_new_product_keeps_good_photos_and_reports_the_bad_one(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    shop = shop_with_manager()
    client.force_login(shop.owner)
    response = client.post(reverse("shops:seller_product_create", args=[shop.slug]), {
        **product_data(CategoryFactory()),
        "photos": [jpeg("good.jpg"), SimpleUploadedFile("notes.jpg", b"hello"), jpeg("tiny.jpg", size=(50, 50))]},
        follow=True)
    product = Product.objects.get(shop=shop)
    assert product.images.count() == 1
    html = response.content.decode()
    assert "notes.jpg was not added" in html and "tiny.jpg was not added" in html
    assert response.redirect_chain[-1][0] == reverse("shops:seller_product_edit", args=[product.pk])


def test_invalid_product_form_shows_field_errors_and_saves_nothing(client):
    shop = shop_with_manager()
    client.force_login(shop.owner)
    response = client.post(reverse("shops:seller_product_create", args=[shop.slug]), product_data(
        CategoryFactory(), title="", price="-5", unit_weight_kg="0", gtin="12345678", season_months=["13"]))
    assert response.status_code == 200
    assert {"title", "price", "unit_weight_kg", "gtin", "season_months"} <= set(response.context["form"].errors)
    assert response.context["form"].more_has_errors  # the "more details" part opens to show them
    assert not Product.objects.exists()


def test_edit_product_shows_current_values_and_saves(client):
    product = ProductFactory(shop=shop_with_manager(), organic=True)
    client.force_login(product.shop.owner)
    url = reverse("shops:seller_product_edit", args=[product.pk])
    form = client.get(url).context["form"]
    assert form["season_months"].value() == [9, 10, 11] and form["certifications"].value() == ["organic"]
    response = client.post(url, product_data(product.category, title="新标题", season_months=["1"],
                                             certifications=[]))
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.title == "新标题" and product.season_months == [1] and not product.organic


def test_photos_make_cover_and_delete(client):
    product = ProductFactory(shop=shop_with_manager())
    client.force_login(product.shop.owner)
    client.post(reverse("shops:seller_photos_add", args=[product.pk]), {"photos": [jpeg("1.jpg"), jpeg("2.jpg")]})
    first, second = product.images.order_by("position")
    assert first.is_cover and not second.is_cover
    client.post(reverse("shops:seller_photo_cover", args=[second.pk]))
    assert ProductImage.objects.get(is_cover=True).pk == second.pk
    client.post(reverse("shops:seller_photo_delete", args=[second.pk]))
    assert list(product.images.values_list("pk", "is_cover")) == [(first.pk, True)]


def test_withdraw_deletes_a_product_without_history_and_keeps_one_with_lots(client):
    shop = shop_with_manager()
    fresh, traced = ProductFactory(shop=shop), ProductFactory(shop=shop)
    HarvestLotFactory(product=traced)
    client.force_login(shop.owner)
    client.post(reverse("shops:seller_product_withdraw", args=[fresh.pk]))
    client.post(reverse("shops:seller_product_withdraw", args=[traced.pk]))
    assert not Product.objects.filter(pk=fresh.pk).exists()
    traced.refresh_from_db()
    assert not traced.is_active


# --- Lots ----------------------------------------------------------------------------------

def test_grower_must_be_a_member_of_the_shop(client):
    product = ProductFactory(shop=shop_with_manager())
    outsider = FarmerFactory()
    client.force_login(product.shop.owner)
    response = client.post(reverse("shops:seller_lot_create", args=[product.pk]), {
        "grower": outsider.pk, "harvested_on": datetime.date.today().isoformat(), "quantity": "5"})
    assert response.status_code == 200 and "grower" in response.context["form"].errors
    assert not HarvestLot.objects.exists()


def test_future_harvest_and_zero_quantity_are_refused(client):
    product = ProductFactory(shop=shop_with_manager())
    client.force_login(product.shop.owner)
    response = client.post(reverse("shops:seller_lot_create", args=[product.pk]), {
        "grower": product.shop.owner.pk, "quantity": "0",
        "harvested_on": (datetime.date.today() + datetime.timedelta(days=3)).isoformat()})
    assert response.status_code == 200 and "quantity" in response.context["form"].errors
    response = client.post(reverse("shops:seller_lot_create", args=[product.pk]), {
        "grower": product.shop.owner.pk, "quantity": "4",
        "harvested_on": (datetime.date.today() + datetime.timedelta(days=3)).isoformat()})
    assert "harvested_on" in response.context["form"].errors
    assert not HarvestLot.objects.exists()


def test_input_applied_after_the_harvest_is_refused_on_the_form(client):
    lot = HarvestLotFactory(product=ProductFactory(shop=shop_with_manager()))
    client.force_login(lot.product.shop.owner)
    response = client.post(reverse("shops:seller_lot", args=[lot.pk]), {
        "kind": "fertiliser", "product_name": "有机肥", "dose": "1 kg",
        "applied_on": (lot.harvested_on + datetime.timedelta(days=1)).isoformat()})
    assert response.status_code == 200 and "applied_on" in response.context["form"].errors
    assert not InputApplication.objects.exists()


# --- Fixed query counts --------------------------------------------------------------------

def _count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def _add_products(shop, n: int) -> None:
    category = CategoryFactory()
    for i in range(n):
        product = ProductFactory(shop=shop, category=category)
        ProductImage.objects.create(product=product, image=f"products/{i}.jpg", width=800, height=600,
                                    is_cover=True, status="ready", thumbnails={"320": f"products/{i}-320.webp"})
        HarvestLotFactory(product=product)


def test_products_list_query_count_is_fixed(client, django_assert_max_num_queries):
    one, many = shop_with_manager(), None
    many = ShopFactory(owner=one.owner)
    _add_products(one, 1)
    _add_products(many, 30)
    client.force_login(one.owner)
    url_one = reverse("shops:seller_products", args=[one.slug])
    url_many = reverse("shops:seller_products", args=[many.slug])
    assert _count_queries(client, url_one) == _count_queries(client, url_many)
    with django_assert_max_num_queries(8):
        client.get(url_one)
    with django_assert_max_num_queries(8):
        response = client.get(url_many)
    assert len(response.context["rows"]) == 30


def test_lots_list_query_count_is_fixed(client, django_assert_max_num_queries):
    shop = shop_with_manager()
    one, many = ProductFactory(shop=shop), ProductFactory(shop=shop)
    lot = HarvestLotFactory(product=one)
    InputApplicationFactory(lot=lot)
    for _ in range(30):
        InputApplicationFactory(lot=HarvestLotFactory(product=many))
    client.force_login(shop.owner)
    url_one, url_many = (reverse("shops:seller_lots", args=[p.pk]) for p in (one, many))
    assert _count_queries(client, url_one) == _count_queries(client, url_many)
    with django_assert_max_num_queries(7):
        client.get(url_one)
    with django_assert_max_num_queries(7):
        response = client.get(url_many)
    assert len(response.context["rows"]) == 30


# --- A real browser at 360 px ----------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_farmer_opens_a_shop_and_adds_a_product_with_a_photo_on_a_phone(browser_page, tmp_path):
    page = browser_page
    farmer = FarmerFactory(username="xiuying")
    village = VillageFactory(name="国路夼村", name_en="Guoluku")
    fruit = CategoryFactory(slug="fruit-b", name_en="Fruit")
    CategoryFactory(slug="apples-b", name_en="Apples", parent=fruit)
    photo = tmp_path / "apples.jpg"
    Image.new("RGB", (800, 600), (190, 40, 40)).save(photo, format="JPEG")

    page.goto(page.base_url + "/accounts/login/?next=/seller/")
    page.get_by_label("Username").fill(farmer.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/seller/")

    page.get_by_role("link", name="Open a shop").click()
    page.get_by_label("Name").fill("秀英果园")
    page.get_by_label("Farm").check()
    page.get_by_label("Village").select_option(str(village.pk))
    page.get_by_role("button", name="Open my shop").click()
    page.wait_for_url("**/seller/shops/*/products/new/")  # straight on to the first product
    assert "Your shop is open" in page.locator("body").inner_text()

    page.get_by_label("Title").fill("红富士苹果 5 kg")
    page.get_by_label("Category").select_option(label="Apples")
    page.get_by_label("Sale unit").select_option("box")
    page.get_by_label("Weight of one unit (kg)").fill("5")
    page.get_by_label("Price per unit (CNY)").fill("68")
    page.get_by_label("Stock (units)").fill("40")
    page.get_by_label("Add photos").set_input_files(str(photo))
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/products/")

    row = page.locator("[data-row]").filter(has_text="红富士苹果 5 kg")
    assert row.count() == 1
    assert row.get_by_label("Price (CNY)").input_value() == "68.00"
    product = Product.objects.get(title="红富士苹果 5 kg")
    assert product.shop.owner == farmer and product.images.count() == 1

    # The row saves in place (fetch) and nothing on the page is wider than the phone.
    row.get_by_label("Stock").fill("35")
    row.get_by_role("button", name="Save").click()
    page.locator(f"#product-{product.pk} [role=status]").wait_for()
    product.refresh_from_db()
    assert product.stock == 35
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_the_shop_list_links_to_the_farms_boxes(client):
    client.force_login(FarmerFactory())
    html = client.get(reverse("shops:seller_shops")).content.decode()
    assert 'href="/seller/boxes/"' in html
