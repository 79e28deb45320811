import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.tests.factories import BuyerFactory, FarmerFactory, UserFactory
from core import codes
from shops import selectors, services
from shops.cache import LISTING_PRICES, catalogue, catalogue_version, product_scope
from shops.models import LOT_PREFIX, HarvestLot, InputApplication, Product, Shop, ShopMember

from .factories import (
    CategoryFactory,
    HarvestLotFactory,
    ProductFactory,
    ShopFactory,
    ShopMemberFactory,
    VillageFactory,
)

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


class TestCreateShop:
    def test_slug_is_the_pinyin_of_the_chinese_name(self):
        shop = services.create_shop(owner=FarmerFactory(), name="绿源农场", village=VillageFactory())
        assert shop.slug == "lv-yuan-nong-chang"

    def test_same_name_gets_a_numbered_slug(self):
        village = VillageFactory()
        first = services.create_shop(owner=FarmerFactory(), name="桃园", village=village)
        second = services.create_shop(owner=FarmerFactory(), name="桃园", village=village)
        assert (first.slug, second.slug) == ("tao-yuan", "tao-yuan-2")

    def test_owner_becomes_manager(self):
        owner = FarmerFactory()
        shop = services.create_shop(owner=owner, name="Hill Farm", village=VillageFactory())
        assert ShopMember.objects.get(shop=shop, user=owner).role == ShopMember.Role.MANAGER

    def test_only_farmers_open_shops(self):
        with pytest.raises(PermissionDenied):
            services.create_shop(owner=BuyerFactory(), name="Nope", village=VillageFactory())
        assert not Shop.objects.exists()

    def test_description_is_sanitised(self):
        shop = services.create_shop(owner=FarmerFactory(), name="A", village=VillageFactory(),
                                    description='<p onclick="x()">好</p><script>alert(1)</script>')
        assert shop.description == "<p>好</p>"


class TestMembers:
    def test_manager_adds_a_farmer_to_a_cooperative(self):
        shop = ShopFactory(kind=Shop.Kind.COOPERATIVE)
        farmer = FarmerFactory(username="wang")
        member = services.add_member(shop=shop, actor=shop.owner, username="WANG ")
        assert member.user == farmer and member.role == ShopMember.Role.MEMBER

    def test_a_farm_has_no_members(self):
        shop = ShopFactory(kind=Shop.Kind.FARM)
        FarmerFactory(username="wang")
        with pytest.raises(ValidationError) as error:
            services.add_member(shop=shop, actor=shop.owner, username="wang")
        assert "username" in error.value.message_dict

    def test_only_farmers_can_be_members(self):
        shop = ShopFactory(kind=Shop.Kind.COOPERATIVE)
        BuyerFactory(username="li")
        with pytest.raises(ValidationError):
            services.add_member(shop=shop, actor=shop.owner, username="li")
        assert not ShopMember.objects.filter(shop=shop).exists()

    def test_a_plain_member_cannot_add_members(self):
        membership = ShopMemberFactory()
        FarmerFactory(username="zhao")
        with pytest.raises(PermissionDenied):
            services.add_member(shop=membership.shop, actor=membership.user, username="zhao")

    def test_twice_is_refused(self):
        membership = ShopMemberFactory()
        with pytest.raises(ValidationError):
            services.add_member(shop=membership.shop, actor=membership.shop.owner,
                                username=membership.user.username)

    def test_remove_member_but_never_the_owner(self):
        membership = ShopMemberFactory()
        shop = membership.shop
        services.remove_member(membership=membership, actor=shop.owner)
        assert not ShopMember.objects.filter(pk=membership.pk).exists()
        owner_membership = ShopMember.objects.create(shop=shop, user=shop.owner, role=ShopMember.Role.MANAGER)
        with pytest.raises(ValidationError):
            services.remove_member(membership=owner_membership, actor=shop.owner)

    def test_a_manager_member_can_manage(self):
        membership = ShopMemberFactory(role=ShopMember.Role.MANAGER)
        assert selectors.can_manage_shop(membership.user, membership.shop)
        assert membership.shop in selectors.shops_managed_by(membership.user)


class TestProducts:
    def fields(self, **extra):
        return {"category": CategoryFactory(), "title": "赣南脐橙", "unit": Product.Unit.BOX,
                "unit_weight_kg": Decimal("5"), "price": Decimal("59.90"), "stock": 30, **extra}

    def test_create_product_fills_search_document_and_season(self):
        shop = ShopFactory()
        product = services.create_product(shop=shop, actor=shop.owner, **self.fields(season_months=[11, 12, 1]))
        assert "脐橙" in product.search_document.split()
        assert product.season_months == [1, 11, 12]

    def test_another_farmer_cannot_create_or_update(self):
        shop, stranger = ShopFactory(), FarmerFactory()
        with pytest.raises(PermissionDenied):
            services.create_product(shop=shop, actor=stranger, **self.fields())
        product = ProductFactory(shop=shop)
        with pytest.raises(PermissionDenied):
            services.update_product(product=product, actor=stranger, price=Decimal("1.00"))
        product.refresh_from_db()
        assert product.price == Decimal("68.00")

    def test_wrong_gtin_check_digit_is_refused(self):
        shop = ShopFactory()
        with pytest.raises(ValidationError) as error:
            services.create_product(shop=shop, actor=shop.owner, **self.fields(gtin="6901234567891"))
        assert "gtin" in error.value.message_dict
        assert not Product.objects.exists()

    def test_withdraw_deletes_a_product_without_history(self):
        product = ProductFactory()
        services.withdraw_product(product=product, actor=product.shop.owner)
        assert not Product.objects.filter(pk=product.pk).exists()

    def test_withdraw_keeps_a_product_that_has_lots(self):
        lot = HarvestLotFactory()
        product = lot.product
        services.withdraw_product(product=product, actor=product.shop.owner)
        product.refresh_from_db()
        assert product.is_active is False
        assert HarvestLot.objects.filter(pk=lot.pk).exists()

    def test_a_product_is_marked_by_its_first_lot_and_its_page_then_reads_them(self):
        product = ProductFactory()
        assert product.has_lots is False
        assert selectors.lots_and_sale_hold(product, 10) == ([], "")
        lot = services.record_lot(product=product, actor=product.shop.owner, harvested_on=timezone.localdate(),
                                  quantity=5)
        product.refresh_from_db()
        assert product.has_lots is True
        assert [shown.code for shown in selectors.lots_and_sale_hold(product, 10)[0]] == [lot.code]

    def test_the_migration_marks_the_products_that_already_have_lots(self):
        from importlib import import_module

        from django.apps import apps

        marked, plain = HarvestLotFactory().product, ProductFactory()
        Product.objects.update(has_lots=False)
        import_module("shops.migrations.0008_product_has_lots").mark_products_with_lots(apps, None)
        assert set(Product.objects.filter(has_lots=True).values_list("pk", flat=True)) == {marked.pk}
        assert Product.objects.get(pk=plain.pk).has_lots is False

    def test_product_version_moves_again_after_commit(self, django_capture_on_commit_callbacks):
        product = ProductFactory()
        scopes = [product_scope(product.pk), LISTING_PRICES]
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            services.update_product(product=product, actor=product.shop.owner, price=Decimal("50.00"))
            inside = catalogue.current_many(scopes)
        # A page cached under `inside` by a reader before the commit can hold the old price:
        # the versions must move past it once the change is visible.
        after = catalogue.current_many(scopes)
        assert all(after[s] > inside[s] for s in scopes)

    def test_a_product_edit_leaves_the_whole_catalogue_version_alone(self):
        product = ProductFactory()
        before = catalogue_version()
        services.update_product(product=product, actor=product.shop.owner, price=Decimal("50.00"))
        assert catalogue_version() == before


class TestSanitise:
    def test_strips_script_and_event_handlers(self):
        cleaned = services.sanitise_description(
            '<p onclick="steal()">甜</p><script>alert(1)</script><img src=x onerror="y()"><a href="http://x">x</a>')
        assert "<script" not in cleaned and "alert" not in cleaned
        assert "onclick" not in cleaned and "onerror" not in cleaned and "<img" not in cleaned
        assert "<a" not in cleaned
        assert "<p>甜</p>" in cleaned

    def test_keeps_simple_formatting(self):
        assert services.sanitise_description("<strong>脆</strong><br>甜") == "<strong>脆</strong><br>甜"


class TestLots:
    def test_record_lot_makes_a_valid_code(self):
        product = ProductFactory()
        lot = services.record_lot(product=product, actor=product.shop.owner, harvested_on=today(), quantity=10)
        assert codes.is_valid(lot.code, LOT_PREFIX)
        assert lot.grower == product.shop.owner

    def test_grower_must_be_a_member(self):
        product = ProductFactory(shop=ShopFactory(kind=Shop.Kind.COOPERATIVE))
        with pytest.raises(ValidationError) as error:
            services.record_lot(product=product, actor=product.shop.owner, harvested_on=today(), quantity=5,
                                grower=FarmerFactory())
        assert "grower" in error.value.message_dict
        assert not HarvestLot.objects.exists()

    def test_member_grower_is_accepted(self):
        membership = ShopMemberFactory()
        product = ProductFactory(shop=membership.shop)
        lot = services.record_lot(product=product, actor=membership.shop.owner, harvested_on=today(), quantity=5,
                                  grower=membership.user)
        assert lot.grower == membership.user

    def test_future_harvest_is_refused(self):
        product = ProductFactory()
        with pytest.raises(ValidationError) as error:
            services.record_lot(product=product, actor=product.shop.owner,
                                harvested_on=today() + datetime.timedelta(days=1), quantity=5)
        assert "harvested_on" in error.value.message_dict
        assert not HarvestLot.objects.exists()

    def test_find_lot_refuses_a_wrong_check_character(self):
        lot = HarvestLotFactory()
        wrong = lot.code[:-1] + ("0" if lot.code[-1] != "0" else "1")
        with pytest.raises(ValidationError):
            services.find_lot(wrong)
        assert services.find_lot(lot.code.lower()) == lot


class TestInputs:
    def pesticide(self, lot, days_before, phi):
        return services.add_input_application(
            lot=lot, actor=lot.product.shop.owner, kind="pesticide", product_name="吡虫啉",
            applied_on=lot.harvested_on - datetime.timedelta(days=days_before), dose="10 g/亩",
            pre_harvest_interval_days=phi)

    def test_pesticide_inside_its_interval_flags_the_lot(self):
        lot = HarvestLotFactory()
        self.pesticide(lot, days_before=3, phi=7)
        lot.refresh_from_db()
        assert lot.phi_violation is True

    def test_pesticide_outside_its_interval_does_not(self):
        lot = HarvestLotFactory()
        self.pesticide(lot, days_before=10, phi=7)
        lot.refresh_from_db()
        assert lot.phi_violation is False

    def test_fertiliser_never_flags(self):
        lot = HarvestLotFactory()
        services.add_input_application(lot=lot, actor=lot.product.shop.owner, kind="fertiliser",
                                       product_name="有机肥", applied_on=lot.harvested_on, dose="1 t/亩",
                                       pre_harvest_interval_days=30)
        lot.refresh_from_db()
        assert lot.phi_violation is False

    def test_flag_counts_the_new_input_even_with_prefetched_inputs(self):
        lot = HarvestLotFactory()
        fetched = selectors.lot_with_inputs().get(pk=lot.pk)  # inputs prefetched: an empty list
        self.pesticide(fetched, days_before=1, phi=14)
        lot.refresh_from_db()
        assert lot.phi_violation is True

    def test_input_after_the_harvest_is_refused(self):
        lot = HarvestLotFactory()
        with pytest.raises(ValidationError) as error:
            services.add_input_application(lot=lot, actor=lot.product.shop.owner, kind="pesticide",
                                           product_name="x", dose="1", applied_on=lot.harvested_on
                                           + datetime.timedelta(days=1))
        assert "applied_on" in error.value.message_dict
        assert not InputApplication.objects.exists()

    def test_only_managers_log_inputs(self):
        lot = HarvestLotFactory()
        with pytest.raises(PermissionDenied):
            services.add_input_application(lot=lot, actor=UserFactory(), kind="fertiliser", product_name="x",
                                           dose="1", applied_on=lot.harvested_on)


class TestVerification:
    def test_only_staff_review(self):
        shop = ShopFactory(verification=Shop.Verification.PENDING)
        with pytest.raises(PermissionDenied):
            services.review_verification(shop=shop, reviewer=shop.owner, approve=True)
        staff = UserFactory(is_staff=True)
        services.review_verification(shop=shop, reviewer=staff, approve=True)
        shop.refresh_from_db()
        assert shop.verified and shop.verified_at is not None


def test_licence_photo_is_reencoded_without_gps_and_original_name(tmp_path):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from shops import services as shop_services

    from .factories import ShopFactory

    shop = ShopFactory()
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (37.0, 30.0, 0.0)}  # GPS IFD
    buffer = io.BytesIO()
    Image.new("RGB", (600, 400), (200, 180, 90)).save(buffer, "JPEG", exif=exif)
    upload = SimpleUploadedFile("王秀英-身份证.jpg", buffer.getvalue(), content_type="image/jpeg")
    shop_services.submit_verification(shop=shop, actor=shop.owner, licence_photo=upload)
    shop.refresh_from_db()
    assert shop.verification == "pending"
    assert "身份证" not in shop.licence_photo.name
    with Image.open(shop.licence_photo.path) as stored:
        assert not stored.getexif().get_ifd(0x8825)
