import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken

from accounts.models import Address

from .factories import PASSWORD, AddressFactory, BuyerFactory

pytestmark = pytest.mark.django_db


def test_register_returns_contract_shape(api_client):
    response = api_client.post("/api/v1/auth/register/", {"username": "lina", "email": "lina@example.com",
                                                           "password": "plum-blossom-9", "role": "farmer"})
    assert response.status_code == 201
    assert set(response.json()) == {"id", "username", "role"}
    assert response.json()["role"] == "farmer"


@pytest.mark.parametrize("payload, field", [
    ({"username": "a", "email": "bad", "password": "plum-blossom-9", "role": "buyer"}, "email"),
    ({"username": "a", "email": "a@example.com", "password": "plum-blossom-9", "role": "agent"}, "role"),
    ({"username": "a", "email": "a@example.com", "password": "123", "role": "buyer"}, "password"),
    ({"email": "a@example.com", "password": "plum-blossom-9", "role": "buyer"}, "username"),
])
def test_register_bad_input_is_400_with_field(api_client, payload, field):
    response = api_client.post("/api/v1/auth/register/", payload)
    assert response.status_code == 400
    assert field in response.json()


def test_register_duplicate_username(api_client):
    BuyerFactory(username="taken")
    response = api_client.post("/api/v1/auth/register/", {"username": "taken", "email": "t@example.com",
                                                           "password": "plum-blossom-9", "role": "buyer"})
    assert response.status_code == 400
    assert "username" in response.json()


def test_malformed_json_is_400(api_client):
    response = api_client.post("/api/v1/auth/register/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_token_then_me(api_client):
    user = BuyerFactory()
    response = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    assert set(response.json()) == {"token", "expiry"}
    token = response.json()["token"]
    assert parse_datetime(response.json()["expiry"]) > timezone.now()
    # Only a hash is stored, never the token itself.
    stored = AuthToken.objects.get(user=user)
    assert stored.digest != token and token not in stored.digest
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = api_client.get("/api/v1/me/").json()
    assert me["id"] == user.id and me["username"] == user.username and me["role"] == "buyer"


def test_wrong_password_is_400_without_token(api_client):
    user = BuyerFactory()
    response = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": "nope-nope"})
    assert response.status_code == 400
    assert "token" not in response.json()


def test_me_requires_auth(api_client):
    assert api_client.get("/api/v1/me/").status_code == 401


def test_me_cannot_change_role(api_client):
    user = BuyerFactory()
    api_client.force_authenticate(user)
    response = api_client.patch("/api/v1/me/", {"role": "staff", "display_name": "新名字"})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.role == "buyer" and user.display_name == "新名字"


def test_repeated_wrong_passwords_lock_out_with_429(api_client, settings):
    user = BuyerFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert api_client.post("/api/v1/auth/token/", {"username": user.username, "password": "x-wrong"}
                               ).status_code == 400
    locked = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": "x-wrong"})
    assert locked.status_code == 429
    assert "Too many failed sign-in attempts" in locked.json()["detail"]
    # Even the right password is refused while locked.
    again = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD})
    assert again.status_code == 429


def test_auth_endpoints_are_rate_limited(api_client, monkeypatch):
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {"auth": "3/min"})
    codes = [api_client.post("/api/v1/auth/register/", {}).status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    assert "throttled" in api_client.post("/api/v1/auth/register/", {}).json()["detail"].lower()


class TestAddresses:
    def test_create_and_list_own(self, api_client):
        buyer = BuyerFactory()
        api_client.force_authenticate(buyer)
        payload = {"name": "李娜", "phone": "13800138000", "province": "上海市", "city": "上海市",
                   "district": "徐汇区", "line": "漕溪北路 88 号", "postal_code": "200030"}
        created = api_client.post("/api/v1/addresses/", payload)
        assert created.status_code == 201
        body = created.json()
        assert {k: body[k] for k in payload} == payload and body["is_default"] is True
        listing = api_client.get("/api/v1/addresses/").json()
        assert listing["count"] == 1 and listing["results"][0]["id"] == body["id"]

    def test_another_users_address_is_404(self, api_client):
        mine, theirs = BuyerFactory(), AddressFactory()
        api_client.force_authenticate(mine)
        assert api_client.get(f"/api/v1/addresses/{theirs.id}/").status_code == 404
        assert api_client.patch(f"/api/v1/addresses/{theirs.id}/", {"name": "x"}).status_code == 404
        assert api_client.delete(f"/api/v1/addresses/{theirs.id}/").status_code == 404
        assert Address.objects.filter(pk=theirs.pk, name=theirs.name).exists()
        assert api_client.get("/api/v1/addresses/").json()["count"] == 0

    def test_bad_phone_and_postal_code(self, api_client):
        api_client.force_authenticate(BuyerFactory())
        response = api_client.post("/api/v1/addresses/", {"name": "x", "phone": "abc", "province": "上海市",
                                                          "city": "上海市", "line": "x", "postal_code": "12"})
        assert response.status_code == 400
        assert {"phone", "postal_code"} <= set(response.json())
        assert Address.objects.count() == 0

    def test_page_size_within_the_limit_and_a_page_past_the_end(self, api_client):
        buyer = BuyerFactory()
        AddressFactory.create_batch(3, user=buyer)
        api_client.force_authenticate(buyer)
        body = api_client.get("/api/v1/addresses/?page_size=100").json()
        assert body["count"] == 3 and len(body["results"]) == 3
        assert api_client.get("/api/v1/addresses/?page=99").status_code == 404


def test_openapi_schema_and_docs_offline(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/auth/token/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()
