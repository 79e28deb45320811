import factory

from accounts.models import Address, User

PASSWORD = "correct-horse-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    display_name = factory.Faker("name", locale="zh_CN")
    role = User.Role.BUYER
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class BuyerFactory(UserFactory):
    role = User.Role.BUYER


class FarmerFactory(UserFactory):
    role = User.Role.FARMER


class AgentFactory(UserFactory):
    role = User.Role.AGENT


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    user = factory.SubFactory(BuyerFactory)
    name = factory.Faker("name", locale="zh_CN")
    phone = "13912345678"
    province = "浙江省"
    city = "杭州市"
    district = "西湖区"
    line = factory.Sequence(lambda n: f"文三路 {n} 号")
    postal_code = "310000"
