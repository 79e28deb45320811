"""Sign-in with a one-time code sent by SMS or e-mail: the way in that the password lockout does not block.

Someone failing passwords for `admin` locks (username, their address) with django-axes and slows the username
down (accounts.signin); the owner of the account's phone or mailbox can still sign in with a code. The code path
has limits of its own instead:

Asking, `send_sign_in_code`:
1. Count the request against the client address (RATE_LIMIT_SIGN_IN_CODE_ADDRESS), then against the phone number
   or e-mail address (RATE_LIMIT_SIGN_IN_CODE), whether or not an account has it, so a 429 says nothing about
   accounts. Over either limit: `CodeRequestsLimited` with the seconds to wait.
2. Find the one active account with that mobile number (any of the forms `phone_validator` accepts) or e-mail
   address; for a number no active account has, the one sign-up waiting for it (`User.signup_pending`). None, or
   several sharing the number: nothing is sent, and the caller answers exactly as if it were.
3. Draw six digits with `secrets` and keep only `salt$HMAC-SHA256(key from SECRET_KEY, salt:user:code)` in the
   user's one SignInCode row, which replaces any earlier code (one live code per user), expiring in
   SIGN_IN_CODE_MINUTES with no attempts used.
4. After commit, send the code in the user's language: SMS through SMS_BACKEND (core.sms; never through the
   notifications outbox, which would keep the text), or e-mail. A failed send is logged; the answer is the same.

Checking, `sign_in_with_code`:
1. Find the account as above; count the try with one conditional UPDATE on the row (unused, unexpired, fewer
   than SIGN_IN_CODE_MAX_ATTEMPTS tries, still the same code): a used, expired, dead or replaced code fails.
2. Compare the hash of the code given with the stored one in constant time.
3. Mark the row used with a second conditional UPDATE, so two requests with one code sign in once.
4. A code that came by SMS proves the number: `phone_verified_at` is set, and a sign-up waiting for it becomes an
   active account (sign-up by phone, `send_sign_up_code`, ends here).
Every failure raises the same ValidationError on `code`, so checking reveals neither accounts nor live codes.
No transaction around it: a wrong try stays counted when the caller answers with an error.

Numbers are checked with `phonenumbers` (region CN): only a valid mainland mobile number can receive a code,
and it is kept as its 11 national digits, the form the profile and the addresses already hold.

Why a keyed hash: six digits are a million possibilities, so a plain salted hash of a code falls to any laptop;
keyed with a secret the table alone gives nothing, and the code lives minutes anyway.
"""
import logging
import re
import secrets
from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from core import ratelimit
from core.sms import send_sms

from . import signin
from .models import SignInCode, User

logger = logging.getLogger(__name__)

CODE_DIGITS = 6
_MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
_CODE = re.compile(r"^[0-9]{6}$")


class CodeRequestsLimited(Exception):
    """Too many codes asked for from this address or for this number: wait `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def mobile_number(value: str) -> str:
    """The 11-digit mainland mobile number in `value` ("+86 138-0013-8000" -> "13800138000"), or ValidationError
    saying what is wrong: not a number, a landline, or a number outside mainland China."""
    try:
        number = phonenumbers.parse((value or "").strip(), "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError({"phone": [_("Enter a mobile number such as 13800138000.")]})
    if number.country_code != 86:
        raise ValidationError({"phone": [_("Enter a mainland China mobile number (+86): codes are sent by SMS "
                                           "to mainland numbers only.")]})
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise ValidationError({"phone": [_("This is a landline number; enter a mobile number that can receive "
                                           "SMS.")]})
    return phonenumbers.national_significant_number(number)


def _stored_forms(mobile: str) -> list[str]:
    """Every way `phone_validator` lets a profile hold this mobile number."""
    return [mobile, *(f"{prefix}{sep}{mobile}" for prefix in ("+86", "86") for sep in ("", " ", "-"))]


def phone_in_use(mobile: str) -> bool:
    """Whether any account (active or not) holds this 11-digit mobile number in any stored form."""
    return User.objects.filter(phone__in=_stored_forms(mobile)).exists()


def _account(*, phone: str | None, email: str | None) -> User | None:
    """The one active account with this mobile number or e-mail address, or for a number no active account has,
    the one sign-up waiting for it; None for none or several."""
    if phone:
        users = User.objects.filter(phone__in=_stored_forms(mobile_number(phone)))
        found = list(users.filter(is_active=True).order_by("pk")[:2]) or list(
            users.filter(is_active=False, signup_pending=True).order_by("pk")[:2])
    elif email:
        found = list(User.objects.filter(is_active=True, email__iexact=email.strip()).order_by("pk")[:2])
    else:
        raise ValidationError({"phone": [_("Enter a mobile number or an e-mail address.")]})
    return found[0] if len(found) == 1 else None


def _hash(salt: str, user_pk: int, code: str) -> str:
    digest = salted_hmac("accounts.SignInCode", f"{salt}:{user_pk}:{code}", algorithm="sha256").hexdigest()
    return f"{salt}${digest}"


def sms_text(code: str) -> str:
    """The SMS, in the active language; under 70 characters, one SMS even in Chinese (UCS-2)."""
    return _("Farmgate sign-in code: %(code)s. Valid %(minutes)d min. Never share it.") % {
        "code": code, "minutes": settings.SIGN_IN_CODE_MINUTES}


def sent_message(*, channel: str) -> str:
    """What to tell whoever asked, whether or not the number or address has an account."""
    if channel == SignInCode.Channel.EMAIL:
        return _("If this e-mail address has an account, a code is on its way. It works for %(minutes)d minutes.") % {
            "minutes": settings.SIGN_IN_CODE_MINUTES}
    return _("If this number has an account, a code is on its way by SMS. It works for %(minutes)d minutes.") % {
        "minutes": settings.SIGN_IN_CODE_MINUTES}


def _send(*, user: User, channel: str, code: str, language: str) -> None:
    try:
        with translation.override(language):
            if channel == SignInCode.Channel.SMS:
                send_sms(to=user.phone, text=sms_text(code))
            else:
                minutes = settings.SIGN_IN_CODE_MINUTES
                send_mail(
                    _("Your Farmgate sign-in code: %(code)s") % {"code": code},
                    _("Your code to sign in to Farmgate is %(code)s. It works once, for %(minutes)d minutes.\n\n"
                      "If you did not ask for it, ignore this e-mail: nobody can sign in without the code, and "
                      "your password still works. We never ask you for a code.")
                    % {"code": code, "minutes": minutes},
                    None, [user.email], fail_silently=False)
    except Exception:  # noqa: BLE001 - the answer must not say whether a code was sent; they can ask again
        logger.exception("Could not send a sign-in code by %s to user %s", channel, user.pk)


def send_sign_in_code(*, phone: str | None = None, email: str | None = None, ip: str) -> None:
    """Send a sign-in code to the account with this mobile number or e-mail address, if there is exactly one.

    Raises ValidationError for a malformed number and CodeRequestsLimited over a rate limit; otherwise returns
    the same way whether or not anything was sent.
    """
    if phone:
        channel, identity = SignInCode.Channel.SMS, mobile_number(phone)
    elif email:
        channel, identity = SignInCode.Channel.EMAIL, email.strip().lower()
    else:
        raise ValidationError({"phone": [_("Enter a mobile number or an e-mail address.")]})
    _count_request(channel=channel, identity=identity, ip=ip)
    user = _account(phone=identity if channel == SignInCode.Channel.SMS else None,
                    email=identity if channel == SignInCode.Channel.EMAIL else None)
    if user is None:
        return
    _issue(user=user, channel=channel)


def send_sign_up_code(*, user: User, ip: str) -> None:
    """Send the code that confirms a new account's mobile number (the account waits for it, `signup_pending`).

    Counted against the same limits as a sign-in code (CodeRequestsLimited over them); call it in the transaction
    that creates the account, so that a refused request leaves no account behind.
    """
    mobile = mobile_number(user.phone)
    _count_request(channel=SignInCode.Channel.SMS, identity=mobile, ip=ip)
    _issue(user=user, channel=SignInCode.Channel.SMS)


def _count_request(*, channel: str, identity: str, ip: str) -> None:
    for scope, key, rate in (("sign-in-code-address", ip or "-", settings.RATE_LIMIT_SIGN_IN_CODE_ADDRESS),
                             ("sign-in-code", f"{channel}:{identity}", settings.RATE_LIMIT_SIGN_IN_CODE)):
        verdict = ratelimit.hit(scope, key, rate)
        if not verdict.allowed:
            raise CodeRequestsLimited(verdict.retry_after)


def _issue(*, user: User, channel: str) -> None:
    """A new code replaces the user's earlier one; only its keyed hash is kept; sent after commit."""
    code = "".join(secrets.choice("0123456789") for _digit in range(CODE_DIGITS))
    now = timezone.now()
    with transaction.atomic():
        SignInCode.objects.update_or_create(user=user, defaults={
            "channel": channel, "code_hash": _hash(secrets.token_hex(8), user.pk, code),
            "expires_at": now + timedelta(minutes=settings.SIGN_IN_CODE_MINUTES),
            "attempts": 0, "used_at": None, "created_at": now,
        })
        language = user.language or translation.get_language() or settings.LANGUAGE_CODE
        transaction.on_commit(lambda: _send(user=user, channel=channel, code=code, language=language))


def _rejected() -> ValidationError:
    return ValidationError({"code": [_("This code is wrong or no longer valid. A code works once, for %(minutes)d "
                                       "minutes and %(tries)d tries: ask for a new one if you need to.")
                                     % {"minutes": settings.SIGN_IN_CODE_MINUTES,
                                        "tries": settings.SIGN_IN_CODE_MAX_ATTEMPTS}]})


def sign_in_with_code(*, phone: str | None = None, email: str | None = None, code: str, ip: str = "") -> User:
    """The user whose live code this is, the code now used; ValidationError on `code` otherwise.

    Not blocked by the password lockout or back-off; the address it succeeds from becomes one of the user's known
    addresses (accounts.signin). Call it outside a transaction that would roll back the count of a wrong try.
    """
    code = re.sub(r"\s", "", code or "")
    if not _CODE.match(code):
        raise ValidationError({"code": [_("Enter the 6-digit code.")]})
    user = _account(phone=phone, email=email)
    row = SignInCode.objects.filter(user=user).first() if user is not None else None
    if row is None:
        raise _rejected()
    now = timezone.now()
    live = SignInCode.objects.filter(pk=row.pk, code_hash=row.code_hash, used_at__isnull=True, expires_at__gt=now,
                                     attempts__lt=settings.SIGN_IN_CODE_MAX_ATTEMPTS)
    if not live.update(attempts=F("attempts") + 1):
        raise _rejected()
    salt = row.code_hash.partition("$")[0]
    if not constant_time_compare(_hash(salt, user.pk, code), row.code_hash):
        raise _rejected()
    if not SignInCode.objects.filter(pk=row.pk, code_hash=row.code_hash, used_at__isnull=True).update(used_at=now):
        raise _rejected()  # the same code, used by a request a moment ago
    if row.channel == SignInCode.Channel.SMS and (user.phone_verified_at is None or user.signup_pending):
        user.phone_verified_at = now
        if user.signup_pending:
            user.is_active, user.signup_pending = True, False
        user.save(update_fields=["phone_verified_at", "is_active", "signup_pending"])
    if ip:
        signin.record_success(user, ip)
    return user
