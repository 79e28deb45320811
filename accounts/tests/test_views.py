import re

import pytest
from django.core import mail

from accounts.models import Address, User

from .factories import PASSWORD, AddressFactory, BuyerFactory

pytestmark = pytest.mark.django_db


def test_signup_page_creates_farmer_and_signs_in(client):
    response = client.post("/accounts/signup/", {
        "role": "farmer", "username": "xiuying", "display_name": "王秀英", "email": "x@example.com",
        "password1": "golden-rice-88", "password2": "golden-rice-88"})
    assert response.status_code == 302
    user = User.objects.get(username="xiuying")
    assert user.role == "farmer"
    assert client.get("/accounts/profile/").context["user"] == user


def test_signup_errors_are_shown_not_500(client):
    response = client.post("/accounts/signup/", {"role": "agent", "username": "", "email": "nope",
                                                 "password1": "1", "password2": "2"})
    assert response.status_code == 200
    form = response.context["form"]
    assert {"role", "username", "email", "password2"} <= set(form.errors)
    assert not User.objects.exists()


def test_signup_weak_password_shown_on_password_field(client):
    response = client.post("/accounts/signup/", {"role": "buyer", "username": "ok", "email": "ok@example.com",
                                                 "password1": "12345678", "password2": "12345678"})
    assert "password1" in response.context["form"].errors


def test_login_and_lockout_page(client, settings):
    user = BuyerFactory()
    assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/accounts/login/", {"username": user.username, "password": "bad"}).status_code == 200
    locked = client.post("/accounts/login/", {"username": user.username, "password": "bad"})
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.content.decode()


def test_password_reset_sends_link_that_works(client):
    user = BuyerFactory(email="reset@example.com")
    client.post("/accounts/password/reset/", {"email": "reset@example.com"})
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": "new-plum-tree-5",
                                                         "new_password2": "new-plum-tree-5"})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("new-plum-tree-5")


def test_password_change(client):
    user = BuyerFactory()
    client.force_login(user)
    response = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "fresh-tea-leaf-3",
                                                   "new_password2": "fresh-tea-leaf-3"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("fresh-tea-leaf-3")


def test_address_pages_scope_to_owner(client):
    theirs = AddressFactory()
    client.force_login(BuyerFactory())
    assert client.get(f"/accounts/addresses/{theirs.pk}/").status_code == 404
    assert client.post(f"/accounts/addresses/{theirs.pk}/delete/").status_code == 404
    assert Address.objects.filter(pk=theirs.pk).exists()


def test_address_create_page_with_bad_phone_shows_error(client):
    client.force_login(BuyerFactory())
    response = client.post("/accounts/addresses/new/", {"name": "x", "phone": "1", "province": "上海市",
                                                       "city": "上海市", "line": "路"})
    assert response.status_code == 200 and "phone" in response.context["form"].errors
    assert not Address.objects.exists()


def test_profile_requires_login(client):
    response = client.get("/accounts/profile/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_language_switch_to_chinese(client):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"}, follow=True)
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录" in html  # "Sign in"


def test_unknown_page_is_friendly_404(client, settings):
    settings.DEBUG = False
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_language_switch_is_remembered_on_the_account(client):
    user = BuyerFactory()
    client.force_login(user)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    user.refresh_from_db()
    assert user.language == "zh-hans"
