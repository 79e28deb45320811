"""Every write of the station's work for farmers without smartphones: registration, consent, the activity record.

Consent codes (the farmer reads the SMS code out to the agent, who types it in):
1. Six digits drawn with `secrets`; only `salt$HMAC-SHA256(key from SECRET_KEY, salt:farmer:code)` is kept on the
   AssistedFarmer row, with an expiry (CONSENT_CODE_MINUTES, the sign-in code's lifetime) and no attempts used.
   A new code replaces the old one. Codes are asked for at most RATE_LIMIT_SIGN_IN_CODE times per number.
2. The code is sent after commit through core.sms (never the notifications outbox, which keeps its text).
3. Checking counts the try with a conditional UPDATE (live, unexpired, under SIGN_IN_CODE_MAX_ATTEMPTS tries,
   still the same code) and compares hashes in constant time; a good code is cleared, so it works once.
It is not a sign-in code: the agent who hears it can give consent with it, never sign in as the farmer.
"""
from __future__ import annotations

import logging
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from accounts.codes import CODE_DIGITS, mobile_number
from accounts.models import User
from accounts.services import create_farmer_without_password
from core import codes, ratelimit
from core.errors import ConflictError
from core.sms import send_sms
from logistics.selectors import agent_station
from shops import images
from shops.models import Village

from .models import ActivityEntry, AssistedFarmer
from .texts import consent_code as consent_code_text

logger = logging.getLogger(__name__)

_CODE = re.compile(r"^[0-9]{6}$")

# View names of the registration steps, shown in the farmer's activity like any other write.
REGISTERED = "stations:registered"
CONSENT_GIVEN = "stations:consent_given"
CONSENT_WITHDRAWN = "stations:consent_withdrawn"


def consent_code_minutes() -> int:
    return settings.SIGN_IN_CODE_MINUTES


def _require_station(agent: User):
    station = agent_station(agent)
    if station is None:
        raise PermissionDenied(_("Only a village agent can register farmers."))
    return station


def _require_own_station(record: AssistedFarmer, agent: User) -> None:
    station = _require_station(agent)
    if record.station_id != station.pk:
        raise PermissionDenied(_("This farmer is registered at another station."))


def _clean_photo(upload, *, name: str) -> tuple[ContentFile, str]:
    """Decode, turn upright and re-encode without EXIF (no GPS, no file name), as shops do for licence photos."""
    with images.open_checked(upload, field=name) as image:
        content, ext, _size = images.clean_original(image)
    return content, ext


def _store_private_photo(field, photo: tuple[ContentFile, str]) -> None:
    content, ext = photo
    field.save(f"{codes.new_code('', 12).lower()}.{ext}", content, save=False)


def record_activity(*, owner: User, actor: User, method: str, path: str, view_name: str = "",
                    label: str = "") -> ActivityEntry:
    return ActivityEntry.objects.create(owner=owner, actor=actor, method=method[:7], path=path[:300],
                                        view_name=view_name[:120], label=label[:200])


@transaction.atomic
def register_farmer(*, agent: User, name: str, phone: str, village: Village | int | None, id_photo=None,
                    consent_paper=None) -> AssistedFarmer:
    """Open an account for a farmer of a village the agent's station serves, with consent still to come.

    With `consent_paper` (a photo of the signed form) consent is given at once; otherwise a consent code is sent
    to the farmer's phone after commit. Field errors come back together as one ValidationError.
    """
    station = _require_station(agent)
    errors: dict[str, list[str]] = {}
    village_id = getattr(village, "pk", village)
    if not village_id or not station.villages.filter(pk=village_id).exists():
        errors["village"] = [_("Choose a village your station serves.")]
    photos = {}
    for field, upload in (("id_photo", id_photo), ("consent_paper", consent_paper)):
        if upload:
            try:
                photos[field] = _clean_photo(upload, name=field)
            except ValidationError as exc:
                errors.update(exc.message_dict)
    try:
        farmer = create_farmer_without_password(name=name, phone=phone)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        farmer = None
    if errors:
        raise ValidationError(errors)
    record = AssistedFarmer(farmer=farmer, station=station, village_id=village_id, registered_by=agent)
    if "id_photo" in photos:
        _store_private_photo(record.id_photo, photos["id_photo"])
    record.save()
    record_activity(owner=farmer, actor=agent, method="POST", path="", view_name=REGISTERED, label=station.name)
    if "consent_paper" in photos:
        record = _paper_consent(record, agent, photos["consent_paper"])
    else:
        send_consent_code(record=record, agent=agent)
    return record


def _hash(salt: str, farmer_pk: int, code: str) -> str:
    digest = salted_hmac("stations.consent", f"{salt}:{farmer_pk}:{code}", algorithm="sha256").hexdigest()
    return f"{salt}${digest}"


@transaction.atomic
def send_consent_code(*, record: AssistedFarmer, agent: User) -> AssistedFarmer:
    """A new consent code on the farmer's phone (the old one stops working)."""
    _require_own_station(record, agent)
    if record.consent == AssistedFarmer.Consent.GIVEN:
        raise ConflictError(_("This farmer has already given consent."), code="consent_given")
    farmer = record.farmer
    verdict = ratelimit.hit("stations-consent-code", mobile_number(farmer.phone), settings.RATE_LIMIT_SIGN_IN_CODE)
    if not verdict.allowed:
        raise ConflictError(_("Too many codes were sent to this number. Try again in %(minutes)d minutes.")
                            % {"minutes": max(1, verdict.retry_after // 60)}, code="too_many_codes")
    code = "".join(secrets.choice("0123456789") for _digit in range(CODE_DIGITS))
    record = AssistedFarmer.objects.select_for_update().select_related("farmer", "station").get(pk=record.pk)
    record.code_hash = _hash(secrets.token_hex(8), record.farmer_id, code)
    record.code_expires_at = timezone.now() + timedelta(minutes=consent_code_minutes())
    record.code_attempts = 0
    record.save(update_fields=["code_hash", "code_expires_at", "code_attempts"])
    language = farmer.language or settings.LANGUAGE_CODE
    phone, station_name = farmer.phone, record.station.name

    def send() -> None:
        try:
            with translation.override(language):
                send_sms(to=phone, text=consent_code_text(code=code, station=station_name,
                                                          minutes=consent_code_minutes()))
        except Exception:  # noqa: BLE001 - the agent can send the code again
            logger.exception("Could not send a consent code to farmer %s", record.farmer_id)

    transaction.on_commit(send)
    return record


def _rejected() -> ValidationError:
    return ValidationError({"code": [_("This code is wrong or no longer valid. Send a new code to the farmer's "
                                       "phone if you need to.")]})


def _give_consent(record: AssistedFarmer, agent: User, method: str) -> AssistedFarmer:
    now = timezone.now()
    record.consent, record.consent_method, record.consent_given_at = AssistedFarmer.Consent.GIVEN, method, now
    record.consent_withdrawn_at = None
    record.code_hash, record.code_expires_at = "", None
    record.save()
    record_activity(owner=record.farmer, actor=agent, method="POST", path="", view_name=CONSENT_GIVEN,
                    label=record.get_consent_method_display())
    return record


def confirm_consent(*, record: AssistedFarmer, agent: User, code: str) -> AssistedFarmer:
    """The code the farmer read out is right: consent is given. Not atomic as a whole, so a wrong try stays
    counted when the caller answers with an error."""
    _require_own_station(record, agent)
    code = re.sub(r"\s", "", code or "")
    if not _CODE.match(code):
        raise ValidationError({"code": [_("Enter the 6-digit code.")]})
    record.refresh_from_db()
    if record.consent == AssistedFarmer.Consent.GIVEN:
        return record
    if not record.code_hash:
        raise _rejected()
    live = AssistedFarmer.objects.filter(pk=record.pk, code_hash=record.code_hash, code_expires_at__gt=timezone.now(),
                                         code_attempts__lt=settings.SIGN_IN_CODE_MAX_ATTEMPTS)
    if not live.update(code_attempts=F("code_attempts") + 1):
        raise _rejected()
    salt = record.code_hash.partition("$")[0]
    if not constant_time_compare(_hash(salt, record.farmer_id, code), record.code_hash):
        raise _rejected()
    with transaction.atomic():
        locked = AssistedFarmer.objects.select_for_update().select_related("farmer").get(pk=record.pk)
        if locked.code_hash != record.code_hash:
            raise _rejected()  # used or replaced a moment ago
        return _give_consent(locked, agent, AssistedFarmer.Method.SMS)


@transaction.atomic
def record_paper_consent(*, record: AssistedFarmer, agent: User, photo) -> AssistedFarmer:
    """The farmer signed the paper consent form; its photo is kept privately and consent is given."""
    _require_own_station(record, agent)
    if not photo:
        raise ValidationError({"consent_paper": [_("Take a photo of the signed consent form.")]})
    return _paper_consent(record, agent, _clean_photo(photo, name="consent_paper"))


def _paper_consent(record: AssistedFarmer, agent: User, photo: tuple[ContentFile, str]) -> AssistedFarmer:
    record = AssistedFarmer.objects.select_for_update().select_related("farmer").get(pk=record.pk)
    previous = record.consent_paper.name
    _store_private_photo(record.consent_paper, photo)
    if previous:
        storage = record.consent_paper.storage
        transaction.on_commit(lambda: storage.delete(previous))
    return _give_consent(record, agent, AssistedFarmer.Method.PAPER)


@transaction.atomic
def withdraw_consent(*, record: AssistedFarmer, farmer: User) -> AssistedFarmer:
    """The farmer takes their consent back: from the next request on, no agent can act for them."""
    if record.farmer_id != farmer.pk:
        raise PermissionDenied(_("Only the farmer can withdraw their consent."))
    record = AssistedFarmer.objects.select_for_update().get(pk=record.pk)
    if record.consent == AssistedFarmer.Consent.WITHDRAWN:
        return record
    record.consent, record.consent_withdrawn_at = AssistedFarmer.Consent.WITHDRAWN, timezone.now()
    record.code_hash, record.code_expires_at = "", None
    record.save(update_fields=["consent", "consent_withdrawn_at", "code_hash", "code_expires_at"])
    record_activity(owner=farmer, actor=farmer, method="POST", path="", view_name=CONSENT_WITHDRAWN)
    return record


@transaction.atomic
def set_first_password(*, user: User, password: str) -> User:
    """A farmer who claimed their account by a code sets a password (only while they have none)."""
    if user.has_usable_password():
        raise PermissionDenied(_("You already have a password: change it on your account page."))
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password1": list(exc.messages)}) from None
    user.set_password(password)
    user.save()
    return user
