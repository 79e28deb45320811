"""API tokens (finding 4): they expire, rotate, are revoked by logout and "sign out everywhere", and every
password change (API, password page, reset link, admin) revokes them all."""
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from knox.models import AuthToken

from .factories import PASSWORD, BuyerFactory

pytestmark = pytest.mark.django_db
ME = "/api/v1/me/"


def sign_in(api_client, user, password=PASSWORD) -> str:
    response = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": password})
    assert response.status_code == 200, response.content
    return response.json()["token"]


def me_status(api_client, token: str) -> int:
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    status = api_client.get(ME).status_code
    api_client.credentials()
    return status


def test_each_sign_in_is_a_separate_device_token(api_client):
    user = BuyerFactory()
    phone, tablet = sign_in(api_client, user), sign_in(api_client, user)
    assert phone != tablet and AuthToken.objects.filter(user=user).count() == 2
    assert me_status(api_client, phone) == 200 and me_status(api_client, tablet) == 200


def test_an_expired_token_is_refused(api_client, settings):
    user = BuyerFactory()
    token = sign_in(api_client, user)
    AuthToken.objects.filter(user=user).update(expiry=timezone.now() - timedelta(seconds=1))
    assert me_status(api_client, token) == 401
    assert not AuthToken.objects.filter(user=user).exists()  # expired tokens are cleaned up


def test_tokens_expire_after_the_configured_time(api_client, settings):
    user = BuyerFactory()
    sign_in(api_client, user)
    expiry = AuthToken.objects.get(user=user).expiry
    expected = timezone.now() + settings.REST_KNOX["TOKEN_TTL"]
    assert abs((expiry - expected).total_seconds()) < 60


def test_refresh_rotates_the_token(api_client):
    user = BuyerFactory()
    old = sign_in(api_client, user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    response = api_client.post("/api/v1/auth/token/refresh/")
    assert response.status_code == 200 and set(response.json()) == {"token", "expiry"}
    new = response.json()["token"]
    assert new != old
    assert me_status(api_client, old) == 401 and me_status(api_client, new) == 200


def test_logout_revokes_only_this_devices_token(api_client):
    user = BuyerFactory()
    phone, tablet = sign_in(api_client, user), sign_in(api_client, user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {phone}")
    assert api_client.post("/api/v1/auth/logout/").status_code == 204
    assert me_status(api_client, phone) == 401 and me_status(api_client, tablet) == 200


def test_logout_all_revokes_every_token(api_client):
    user, other = BuyerFactory(), BuyerFactory()
    phone, tablet, theirs = sign_in(api_client, user), sign_in(api_client, user), sign_in(api_client, other)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {phone}")
    assert api_client.post("/api/v1/auth/logout-all/").status_code == 204
    assert me_status(api_client, phone) == 401 and me_status(api_client, tablet) == 401
    assert me_status(api_client, theirs) == 200


def test_logout_needs_a_token(api_client):
    assert api_client.post("/api/v1/auth/logout/").status_code == 401
    assert api_client.post("/api/v1/auth/logout-all/").status_code == 401


def test_api_password_change_revokes_all_tokens_and_gives_a_new_one(api_client):
    user = BuyerFactory()
    phone, tablet = sign_in(api_client, user), sign_in(api_client, user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {phone}")
    response = api_client.post("/api/v1/auth/password/", {"old_password": PASSWORD,
                                                          "new_password": "green-tea-terrace-7"})
    assert response.status_code == 200
    fresh = response.json()["token"]
    assert me_status(api_client, phone) == 401 and me_status(api_client, tablet) == 401
    assert me_status(api_client, fresh) == 200


def test_api_password_change_checks_the_old_password(api_client):
    user = BuyerFactory()
    token = sign_in(api_client, user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api_client.post("/api/v1/auth/password/", {"old_password": "wrong-one-1",
                                                          "new_password": "green-tea-terrace-7"})
    assert response.status_code == 400 and "old_password" in response.json()
    assert me_status(api_client, token) == 200


def test_password_page_change_revokes_all_tokens(api_client, client):
    user = BuyerFactory()
    token = sign_in(api_client, user)
    client.force_login(user)
    response = client.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "fresh-tea-leaf-3",
                                                   "new_password2": "fresh-tea-leaf-3"})
    assert response.status_code == 302
    assert me_status(api_client, token) == 401


def test_password_reset_link_revokes_all_tokens(api_client, client):
    user = BuyerFactory(email="reset-tokens@example.com")
    token = sign_in(api_client, user)
    client.post("/accounts/password/reset/", {"email": user.email})
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": "new-plum-tree-5",
                                                  "new_password2": "new-plum-tree-5"})
    assert me_status(api_client, token) == 401


def test_saving_a_profile_keeps_the_tokens(api_client):
    user = BuyerFactory()
    token = sign_in(api_client, user)
    user.display_name = "新名字"
    user.save()
    assert me_status(api_client, token) == 200


def test_a_stronger_hash_of_the_same_password_keeps_the_tokens(api_client, settings):
    user = BuyerFactory()  # hashed with the suite's MD5 hasher
    phone = sign_in(api_client, user)
    # As after an upgrade of the password hasher: signing in again re-hashes the same password.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                                 "django.contrib.auth.hashers.MD5PasswordHasher"]
    sign_in(api_client, user)
    user.refresh_from_db()
    assert user.password.startswith("pbkdf2_sha256$")
    assert me_status(api_client, phone) == 200
