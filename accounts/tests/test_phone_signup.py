"""Sign-up with a mainland mobile number: no e-mail needed; the account opens when the SMS code sent to the number is
entered, and signs in with codes afterwards. Codes arrive through the file SMS backend, as a phone would see them."""
import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import codes
from accounts.models import SignInCode, User
from core.throttling import ScopedRateThrottle

from .factories import PASSWORD, BuyerFactory

pytestmark = pytest.mark.django_db

SIGNUP = "/accounts/signup/"
WEB_ASK = "/accounts/login/code/"
WEB_ENTER = "/accounts/login/code/enter/"
PHONE = "13800138000"


@pytest.fixture(autouse=True)
def sms_to_a_file(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES, "auth": "1000/min"})
    settings.SMS_BACKEND = "notifications.channels.FileSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.SIGN_IN_CODE_MINUTES = 10
    settings.SIGN_IN_CODE_MAX_ATTEMPTS = 5
    settings.RATE_LIMIT_SIGN_IN_CODE = "5/h"
    settings.RATE_LIMIT_SIGN_IN_CODE_ADDRESS = "20/h"
    settings.RATE_LIMIT_SIGNUP = "100/h"


def sent_sms(settings) -> list[dict]:
    try:
        with open(f"{settings.SMS_FILE_PATH}/sms.jsonl", encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]
    except FileNotFoundError:
        return []


def last_code(settings) -> str:
    return re.search(r"\b(\d{6})\b", sent_sms(settings)[-1]["text"]).group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.fixture
def sign_up(client, django_capture_on_commit_callbacks):
    def sign_up(phone=PHONE, **fields):
        data = {"role": "farmer", "display_name": "王秀英", "phone": phone, **fields}
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(SIGNUP, data)
    return sign_up


def test_a_farmer_signs_up_with_a_phone_and_a_code_and_signs_in_by_code_later(client, sign_up, settings,
                                                                              django_capture_on_commit_callbacks):
    response = sign_up()
    assert response.status_code == 302
    assert response["Location"] == f"{WEB_ENTER}?next=%2Fseller%2Fopen-shop%2F"
    user = User.objects.get(phone=PHONE)
    assert (user.is_active, user.signup_pending, user.email, user.has_usable_password()) == (False, True, "", False)
    assert (user.role, user.display_name, user.username) == ("farmer", "王秀英", f"u{PHONE}")
    assert [sms["to"] for sms in sent_sms(settings)] == [PHONE]

    page = client.get(response["Location"])
    assert "Enter your code" in page.content.decode()
    done = client.post(WEB_ENTER + "?next=/seller/open-shop/", {"code": last_code(settings)})
    assert done.status_code == 302 and done["Location"] == "/seller/open-shop/"
    user.refresh_from_db()
    assert (user.is_active, user.signup_pending) == (True, False) and user.phone_verified_at is not None
    assert client.get("/accounts/profile/").context["user"] == user

    client.post("/accounts/logout/")
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(WEB_ASK, {"contact": "+86 138 0013 8000"})
    assert asked["Location"] == WEB_ENTER
    assert client.post(WEB_ENTER, {"code": last_code(settings)}).status_code == 302
    assert client.get("/accounts/profile/").context["user"] == user


def test_the_sign_up_page_asks_for_phone_name_and_role_and_no_email(client):
    page = client.get(SIGNUP).content.decode()
    assert 'name="phone"' in page and 'type="tel"' in page and 'name="display_name"' in page and 'name="role"' in page
    assert re.search(r'<input type="email" name="email"[^>]*>', page) and " required" not in re.search(
        r'<input type="email" name="email"[^>]*>', page).group(0)


def test_an_account_waiting_for_its_code_cannot_sign_in_with_a_password(client, sign_up):
    sign_up(password1="golden-rice-88", password2="golden-rice-88", username="xiuying")
    response = client.post("/accounts/login/", {"username": "xiuying", "password": "golden-rice-88"})
    assert response.status_code == 200 and not response.wsgi_request.user.is_authenticated


@pytest.mark.parametrize("phone, says", [
    ("12345", "Enter a mobile number such as 13800138000."),
    ("12800000000", "Enter a mobile number such as 13800138000."),  # no such mobile range
    ("0535-1234567", "This is a landline number"),
    ("+1 202 555 0100", "Enter a mainland China mobile number"),
    ("+852 9123 4567", "Enter a mainland China mobile number"),
])
def test_a_number_that_cannot_get_an_sms_is_refused_on_its_field(sign_up, settings, phone, says):
    response = sign_up(phone=phone)
    assert response.status_code == 200
    assert says in " ".join(response.context["form"].errors["phone"])
    assert not User.objects.exists() and sent_sms(settings) == []


def test_neither_phone_nor_email_is_refused(sign_up):
    response = sign_up(phone="", username="someone", password1="golden-rice-88", password2="golden-rice-88")
    assert "phone" in response.context["form"].errors and not User.objects.exists()


def test_a_number_with_an_account_is_refused(sign_up, settings):
    BuyerFactory(phone="+86 13800138000")
    response = sign_up()
    assert "already exists" in " ".join(response.context["form"].errors["phone"])
    assert User.objects.count() == 1 and sent_sms(settings) == []


def test_a_sign_up_that_never_got_its_code_is_replaced_by_a_new_one(sign_up, settings):
    sign_up(display_name="First try")
    sign_up(display_name="Second try")
    assert list(User.objects.values_list("display_name", "is_active")) == [("Second try", False)]
    assert len(sent_sms(settings)) == 2


def test_codes_for_one_number_are_rate_limited_and_the_refused_sign_up_leaves_nothing(sign_up, settings):
    settings.RATE_LIMIT_SIGN_IN_CODE = "2/h"
    assert [sign_up(display_name=f"try {n}").status_code for n in range(2)] == [302, 302]
    refused = sign_up(display_name="try 2")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Too many codes were asked for" in refused.content.decode()
    assert list(User.objects.values_list("display_name", flat=True)) == ["try 1"]
    assert len(sent_sms(settings)) == 2


def test_a_wrong_code_then_an_expired_one_are_refused_and_the_account_stays_closed(client, sign_up, settings):
    sign_up()
    code = last_code(settings)
    refused = client.post(WEB_ENTER, {"code": wrong(code)})
    assert refused.status_code == 200 and "code" in refused.context["form"].errors
    SignInCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    late = client.post(WEB_ENTER, {"code": code})
    assert late.status_code == 200 and "code" in late.context["form"].errors
    user = User.objects.get()
    assert (user.is_active, user.signup_pending, user.phone_verified_at) == (False, True, None)


def test_the_code_is_stored_only_as_a_keyed_hash(sign_up, settings):
    sign_up()
    code, row = last_code(settings), SignInCode.objects.get()
    salt, _, digest = row.code_hash.partition("$")
    assert code not in row.code_hash and re.fullmatch(r"[0-9a-f]{64}", digest) and salt
    assert row.channel == SignInCode.Channel.SMS
    assert row.expires_at <= timezone.now() + timedelta(minutes=settings.SIGN_IN_CODE_MINUTES)


@pytest.mark.parametrize("typed", ["13800138000", "+86 138-0013-8000", "8613800138000", "0086 138 0013 8000",
                                   "(138) 0013 8000"])
def test_every_way_of_writing_a_mobile_number_is_kept_as_its_eleven_digits(typed):
    assert codes.mobile_number(typed) == PHONE


def test_email_sign_up_with_a_password_still_opens_at_once(client, sign_up):
    response = sign_up(phone="", role="buyer", username="lina", email="lina@example.com",
                       password1="golden-rice-88", password2="golden-rice-88")
    assert response.status_code == 302 and response["Location"] == "/accounts/profile/"
    assert User.objects.get(username="lina").is_active


def test_a_new_number_on_the_profile_is_no_longer_verified(client, sign_up, settings):
    sign_up()
    client.post(WEB_ENTER, {"code": last_code(settings)})
    client.post("/accounts/profile/", {"display_name": "王秀英", "email": "", "phone": "13900139000"})
    user = User.objects.get()
    assert (user.phone, user.phone_verified_at) == ("13900139000", None)


# --- API ---------------------------------------------------------------------------------------------------------

def register(api_client, django_capture_on_commit_callbacks, **body):
    with django_capture_on_commit_callbacks(execute=True):
        return api_client.post("/api/v1/auth/register/", {"role": "buyer", **body}, format="json")


def test_the_api_registers_a_phone_and_the_code_opens_it_for_a_token(api_client, settings,
                                                                     django_capture_on_commit_callbacks):
    response = register(api_client, django_capture_on_commit_callbacks, phone="+86 139 0013 9000",
                        display_name="李娜")
    assert response.status_code == 201 and set(response.json()) == {"id", "username", "role"}
    assert not User.objects.get().is_active
    refused = api_client.post("/api/v1/auth/token/", {"phone": "13900139000", "code": wrong(last_code(settings))})
    assert refused.status_code == 400 and "code" in refused.json()
    token = api_client.post("/api/v1/auth/token/", {"phone": "13900139000", "code": last_code(settings)})
    assert token.status_code == 200 and set(token.json()) == {"token", "expiry"}
    assert User.objects.get().is_active
    me = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {token.json()['token']}")
    assert me.json()["phone"] == "13900139000" and me.json()["email"] == ""


@pytest.mark.parametrize("body, field", [
    ({"phone": "0535-1234567", "display_name": "x"}, "phone"),
    ({"phone": "12345", "display_name": "x"}, "phone"),
    ({"phone": "13900139000"}, "display_name"),
    ({"username": "a", "password": "plum-blossom-9"}, "email"),
])
def test_the_api_refuses_bad_phone_registrations_on_their_field(api_client, django_capture_on_commit_callbacks,
                                                                  body, field):
    response = register(api_client, django_capture_on_commit_callbacks, **body)
    assert response.status_code == 400 and field in response.json()
    assert not User.objects.exists()


def test_the_api_register_answers_429_over_the_code_limit(api_client, settings, django_capture_on_commit_callbacks):
    settings.RATE_LIMIT_SIGN_IN_CODE = "1/h"
    assert register(api_client, django_capture_on_commit_callbacks, phone=PHONE, display_name="a").status_code == 201
    limited = register(api_client, django_capture_on_commit_callbacks, phone=PHONE, display_name="b")
    assert limited.status_code == 429
    assert list(User.objects.values_list("display_name", flat=True)) == ["a"]


def test_sms_code_endpoint_refuses_a_landline_with_a_field_error(api_client):
    response = api_client.post("/api/v1/auth/sms-code/", {"phone": "0535-1234567"})
    assert response.status_code == 400 and "landline" in response.json()["phone"][0]


def test_a_password_account_keeps_its_password(client):
    user = BuyerFactory(phone=PHONE)
    assert client.post("/accounts/login/", {"username": user.username, "password": PASSWORD}).status_code == 302
