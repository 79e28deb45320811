import datetime
from decimal import Decimal

import factory

from accounts.tests.factories import FarmerFactory
from core import codes
from shops.models import LOT_PREFIX, Category, HarvestLot, InputApplication, Product, Shop, ShopMember, Village


class VillageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Village

    name = factory.Sequence(lambda n: f"桃源村{n}")
    name_en = factory.Sequence(lambda n: f"Taoyuan {n}")
    township = "栖霞镇"
    county = "栖霞市"
    city = "烟台市"
    province = "山东省"


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"category-{n}")
    name_zh = factory.Sequence(lambda n: f"类别{n}")
    name_en = factory.Sequence(lambda n: f"Category {n}")


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    owner = factory.SubFactory(FarmerFactory)
    slug = factory.Sequence(lambda n: f"farm-{n}")
    name = factory.Sequence(lambda n: f"绿源农场 {n}")
    kind = Shop.Kind.FARM
    village = factory.SubFactory(VillageFactory)
    description = "山坡上的果园。"
    contact_phone = "13700000000"


class ShopMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShopMember

    shop = factory.SubFactory(ShopFactory, kind=Shop.Kind.COOPERATIVE)
    user = factory.SubFactory(FarmerFactory)
    role = ShopMember.Role.MEMBER


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    shop = factory.SubFactory(ShopFactory)
    category = factory.SubFactory(CategoryFactory)
    title = factory.Sequence(lambda n: f"烟台红富士苹果 {n}")
    description = "脆甜多汁。"
    unit = Product.Unit.BOX
    unit_weight_kg = Decimal("5.000")
    price = Decimal("68.00")
    stock = 100
    min_order = 1
    season_mask = Product.mask_for_months([9, 10, 11])


class HarvestLotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HarvestLot

    product = factory.SubFactory(ProductFactory)
    code = factory.LazyFunction(lambda: codes.new_code(LOT_PREFIX))
    grower = factory.LazyAttribute(lambda lot: lot.product.shop.owner)
    plot = "东坡 3 号地"
    harvested_on = factory.LazyFunction(lambda: datetime.date.today() - datetime.timedelta(days=2))
    quantity = 200


class InputApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InputApplication

    lot = factory.SubFactory(HarvestLotFactory)
    kind = InputApplication.Kind.FERTILISER
    product_name = "有机肥"
    applied_on = factory.LazyAttribute(lambda a: a.lot.harvested_on - datetime.timedelta(days=60))
    dose = "200 kg/亩"
