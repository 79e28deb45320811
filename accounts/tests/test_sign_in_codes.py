"""Sign-in with a one-time code by SMS or e-mail (accounts.codes): the way in the password lockout cannot block.

Codes arrive through the file SMS backend (one JSON line per message) or Django's test outbox, as a phone would
see them; state is built through the real endpoints.
"""
import json
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone, translation

from accounts import codes
from accounts.models import SignInCode
from core.throttling import ScopedRateThrottle

from .factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ASK = "/api/v1/auth/sms-code/"
TOKEN = "/api/v1/auth/token/"
WEB_ASK = "/accounts/login/code/"
WEB_ENTER = "/accounts/login/code/enter/"
PHONE = "13800138000"
LB = "10.0.0.2"


@pytest.fixture(autouse=True)
def sms_to_a_file(settings, tmp_path, monkeypatch):
    # The API's per-address throttle (20/min) would stop the loops first; the code limits are under test here.
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", {**ScopedRateThrottle.THROTTLE_RATES, "auth": "1000/min"})
    settings.SMS_BACKEND = "notifications.channels.FileSMSBackend"
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    settings.TRUSTED_PROXY_COUNT = 1
    settings.SIGN_IN_CODE_MINUTES = 10
    settings.SIGN_IN_CODE_MAX_ATTEMPTS = 5
    settings.RATE_LIMIT_SIGN_IN_CODE = "5/h"
    settings.RATE_LIMIT_SIGN_IN_CODE_ADDRESS = "20/h"
    settings.AXES_FAILURE_LIMIT = 5


@pytest.fixture
def user(db):
    return UserFactory(username="wang", phone="+86 13800138000", language="")


def sent_sms(settings) -> list[dict]:
    path = f"{settings.SMS_FILE_PATH}/sms.jsonl"
    try:
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle]
    except FileNotFoundError:
        return []


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


@pytest.fixture
def ask(api_client, django_capture_on_commit_callbacks):
    """Ask the API for a code, sent as it would be after the request's commit."""
    def ask(address="203.0.113.10", **body):
        with django_capture_on_commit_callbacks(execute=True):
            return api_client.post(ASK, body or {"phone": PHONE}, REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR=address)
    return ask


@pytest.fixture
def web_ask(client, django_capture_on_commit_callbacks):
    def web_ask(contact=PHONE, address="203.0.113.10", **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(WEB_ASK, {"contact": contact, **extra}, REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR=address)
    return web_ask


def token(api_client, address="203.0.113.10", **body):
    return api_client.post(TOKEN, body, REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR=address)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_code_by_sms_signs_in_on_the_api(api_client, user, settings, ask):
    answer = ask()
    assert answer.status_code == 202 and "code is on its way" in answer.json()["detail"]
    [sms] = sent_sms(settings)
    assert sms["to"] == user.phone
    signed_in = token(api_client, phone=PHONE, code=code_in(sms["text"]))
    assert signed_in.status_code == 200 and signed_in.json()["token"] and signed_in.json()["expiry"]
    me = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {signed_in.json()['token']}")
    assert me.json()["username"] == "wang"


def test_a_code_by_sms_signs_in_on_the_site_and_goes_on_to_next(client, user, settings, web_ask):
    page = client.get("/accounts/login/?next=/orders/")
    assert f'href="{WEB_ASK}?next=/orders/"' in page.content.decode()
    asked = web_ask("138 0013 8000", next="/orders/")
    assert asked.status_code == 302 and asked["Location"] == f"{WEB_ENTER}?next=%2Forders%2F"
    form = client.get(asked["Location"]).content.decode()
    assert 'autocomplete="one-time-code"' in form and 'inputmode="numeric"' in form and "style=" not in form
    code = code_in(sent_sms(settings)[0]["text"])
    done = client.post(WEB_ENTER, {"code": code, "next": "/orders/"})
    assert done.status_code == 302 and done["Location"] == "/orders/"
    assert client.get("/accounts/profile/").status_code == 200


def test_the_site_does_not_go_on_to_another_host(client, user, settings, web_ask):
    web_ask()
    code = code_in(sent_sms(settings)[0]["text"])
    done = client.post(WEB_ENTER, {"code": code, "next": "https://evil.example/"})
    assert done.status_code == 302 and done["Location"] == "/accounts/profile/"


def test_a_code_by_email_signs_in(api_client, user, ask):
    assert ask(email="WANG@example.com").status_code == 202
    [message] = mail.outbox
    assert message.to == ["wang@example.com"]
    assert token(api_client, email="wang@example.com", code=code_in(message.body)).status_code == 200


def test_the_stored_code_is_a_keyed_hash_not_the_code(api_client, user, settings, ask):
    ask()
    code = code_in(sent_sms(settings)[0]["text"])
    row = SignInCode.objects.get(user=user)
    assert code not in row.code_hash and len(row.code_hash.partition("$")[2]) == 64
    assert row.channel == "sms" and row.attempts == 0 and row.used_at is None
    assert timedelta(minutes=9) < row.expires_at - timezone.now() <= timedelta(minutes=10)


def test_five_wrong_codes_kill_the_code(api_client, user, settings, ask):
    ask()
    code = code_in(sent_sms(settings)[0]["text"])
    for _ in range(5):
        refused = token(api_client, phone=PHONE, code=wrong(code))
        assert refused.status_code == 400 and list(refused.json()) == ["code"]
    assert token(api_client, phone=PHONE, code=code).status_code == 400  # the right one, too late
    assert SignInCode.objects.get(user=user).attempts == 5


def test_an_expired_code_fails(api_client, user, settings, ask):
    ask()
    code = code_in(sent_sms(settings)[0]["text"])
    SignInCode.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert token(api_client, phone=PHONE, code=code).json() == token(api_client, phone=PHONE, code=wrong(code)).json()
    assert token(api_client, phone=PHONE, code=code).status_code == 400


def test_a_code_works_once(api_client, user, settings, ask):
    ask()
    code = code_in(sent_sms(settings)[0]["text"])
    assert token(api_client, phone=PHONE, code=code).status_code == 200
    assert token(api_client, phone=PHONE, code=code).status_code == 400


def test_a_new_code_replaces_the_old_one(api_client, user, settings, ask):
    ask()
    ask()
    first, second = (code_in(sms["text"]) for sms in sent_sms(settings))
    assert SignInCode.objects.filter(user=user).count() == 1
    if first != second:
        assert token(api_client, phone=PHONE, code=first).status_code == 400
    assert token(api_client, phone=PHONE, code=second).status_code == 200


def test_an_unknown_number_gets_the_same_answer_and_nothing_is_sent(api_client, user, settings, ask):
    known = ask()
    unknown = ask(phone="13900139000")
    assert (unknown.status_code, unknown.json()) == (known.status_code, known.json())
    assert [sms["to"] for sms in sent_sms(settings)] == [user.phone]
    assert ask(email="nobody@example.com").status_code == 202 and mail.outbox == []
    assert token(api_client, phone="13900139000", code="123456").json() == \
        token(api_client, phone=PHONE, code=wrong(code_in(sent_sms(settings)[0]["text"]))).json()


def test_a_number_shared_by_two_accounts_gets_no_code(api_client, user, settings, ask):
    UserFactory(username="wife", phone=PHONE)
    assert ask().status_code == 202
    assert sent_sms(settings) == []


def test_bad_input_is_a_400_with_field_errors(api_client, user, ask):
    assert list(ask(phone="12345").json()) == ["phone"]
    assert list(ask(phone=PHONE, email="wang@example.com").json()) == ["phone"]
    assert list(token(api_client, phone=PHONE).json()) == ["code"]
    assert list(token(api_client, phone=PHONE, code="12ab56").json()) == ["code"]
    assert set(token(api_client).json()) == {"username", "password"}


def test_codes_for_one_number_are_limited(api_client, user, settings, ask):
    for n in range(5):
        assert ask(address=f"198.51.100.{n + 1}").status_code == 202
    limited = ask(address="198.51.100.99")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert len(sent_sms(settings)) == 5


def test_an_unknown_number_is_limited_the_same_way(api_client, user, ask):
    for n in range(5):
        assert ask(address=f"198.51.100.{n + 1}", phone="13900139000").status_code == 202
    assert ask(address="198.51.100.99", phone="13900139000").status_code == 429


def test_codes_from_one_address_are_limited(api_client, user, settings, ask):
    for n in range(20):
        assert ask(address="198.51.100.66", phone=f"1390013{n:04d}").status_code == 202
    limited = ask(address="198.51.100.66")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert sent_sms(settings) == []
    assert ask(address="203.0.113.10").status_code == 202  # the owner, elsewhere


def test_the_site_says_when_to_try_again(client, user, web_ask):
    for n in range(5):
        web_ask(address=f"198.51.100.{n + 1}")
    page = web_ask(address="198.51.100.99")
    assert page.status_code == 429 and int(page["Retry-After"]) > 0
    assert "Too many codes" in page.content.decode()


def test_a_user_locked_out_by_bad_passwords_still_signs_in_with_a_code(api_client, client, user, settings, ask,
                                                                        web_ask):
    address = "203.0.113.10"  # the owner's own address, locked by someone guessing from behind the same NAT
    for _ in range(6):
        token(api_client, address=address, username="wang", password="guess-guess")
    assert token(api_client, address=address, username="wang", password=PASSWORD).status_code == 429
    locked = client.post("/accounts/login/", {"username": "wang", "password": PASSWORD, "next": "/orders/"},
                         REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR=address)
    assert locked.status_code == 429 and f'href="{WEB_ASK}?next=/orders/"' in locked.content.decode()

    ask(address=address)
    code = code_in(sent_sms(settings)[0]["text"])
    assert token(api_client, address=address, phone=PHONE, code=code).status_code == 200

    web_ask(address=address)
    code = code_in(sent_sms(settings)[1]["text"])
    done = client.post(WEB_ENTER, {"code": code, "next": "/orders/"}, REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR=address)
    assert done.status_code == 302 and done["Location"] == "/orders/"


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_sms_is_one_short_message_in_the_users_language(api_client, user, settings, language, ask):
    user.language = language
    user.save()
    ask()
    [sms] = sent_sms(settings)
    assert len(sms["text"]) < 70
    with translation.override(language):
        assert sms["text"] == codes.sms_text(code_in(sms["text"]))
    assert ("验证码" in sms["text"]) == (language == "zh-hans")


def test_staff_see_when_a_code_went_out_but_never_the_code(client, user, ask):
    ask()
    client.force_login(UserFactory(username="support", is_staff=True, is_superuser=True))
    page = client.get("/admin/accounts/signincode/")
    assert page.status_code == 200 and str(user) in page.content.decode()
    detail = client.get(f"/admin/accounts/signincode/{SignInCode.objects.get().pk}/change/").content.decode()
    assert SignInCode.objects.get().code_hash not in detail


def test_the_pages_speak_chinese(client, user, web_ask):
    client.cookies["django_language"] = "zh-hans"
    assert "验证码登录" in client.get(WEB_ASK).content.decode()
    web_ask()
    page = client.get(WEB_ENTER).content.decode()
    assert "输入验证码" in page and "验证码短信正在发送中" in page
    assert "改用验证码登录" in client.get("/accounts/login/").content.decode()
