import pytest
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import Address, User

from .factories import AddressFactory, BuyerFactory

pytestmark = pytest.mark.django_db


def test_register_buyer_hashes_password():
    user = services.register_user(username="meimei", email="m@example.com", password="a-long-pass-77",
                                  role="buyer")
    assert user.role == User.Role.BUYER
    assert user.check_password("a-long-pass-77")
    assert user.password != "a-long-pass-77"


def test_register_refuses_agent_role():
    with pytest.raises(ValidationError) as exc:
        services.register_user(username="sneaky", email="s@example.com", password="a-long-pass-77", role="agent")
    assert "role" in exc.value.message_dict
    assert not User.objects.filter(username="sneaky").exists()


def test_register_duplicate_username_case_insensitive():
    BuyerFactory(username="Xiaoming")
    with pytest.raises(ValidationError) as exc:
        services.register_user(username="xiaoming", email="x2@example.com", password="a-long-pass-77")
    assert "username" in exc.value.message_dict


def test_register_weak_password_names_the_field():
    with pytest.raises(ValidationError) as exc:
        services.register_user(username="weak", email="w@example.com", password="12345678")
    assert "password" in exc.value.message_dict
    assert not User.objects.filter(username="weak").exists()


def test_first_address_becomes_default_and_only_one_default():
    buyer = BuyerFactory()
    first = services.create_address(user=buyer, name="张三", phone="13800000000", province="广东省", city="深圳市",
                                    district="南山区", line="科技园 1 号")
    second = services.create_address(user=buyer, name="张三", phone="13800000001", province="广东省",
                                     city="广州市", line="天河路 2 号", is_default=True)
    first.refresh_from_db()
    assert second.is_default and not first.is_default
    assert Address.objects.filter(user=buyer, is_default=True).count() == 1


def test_address_phone_is_validated():
    with pytest.raises(ValidationError) as exc:
        services.create_address(user=BuyerFactory(), name="张三", phone="12", province="广东省", city="深圳市",
                                line="科技园 1 号")
    assert "phone" in exc.value.message_dict


def test_deleting_default_promotes_another():
    buyer = BuyerFactory()
    default = AddressFactory(user=buyer, is_default=True)
    other = AddressFactory(user=buyer)
    services.delete_address(address=default)
    other.refresh_from_db()
    assert other.is_default
