"""Every write to accounts: one function per action, keyword-only, one transaction each."""
from datetime import datetime

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from knox.models import AuthToken

from .codes import _stored_forms, mobile_number, phone_in_use, send_sign_up_code
from .models import Address, User

ADDRESS_FIELDS = ("name", "phone", "province", "city", "district", "line", "postal_code")


@transaction.atomic
def register_user(*, username: str = "", email: str = "", password: str = "", role: str = User.Role.BUYER,
                  display_name: str = "", phone: str = "", ip: str = "") -> User:
    """Create a buyer or farmer with an e-mail address, a mainland mobile number or both. Agents and staff are
    appointed, never self-registered.

    Without a number the account is active at once and needs a password. With one it waits, inactive
    (`signup_pending`), for the code sent to the number by SMS (`codes.send_sign_up_code`, whose limits may raise
    CodeRequestsLimited: then nothing is created); entering that code activates it. A password is optional then:
    the account signs in with codes; a blank username becomes one made from the number.
    """
    if role not in User.SELF_SERVICE_ROLES:
        raise ValidationError({"role": _("Choose buyer or farmer; village agents are appointed by staff.")})
    username, display_name = (username or "").strip(), (display_name or "").strip()
    email = User.objects.normalize_email((email or "").strip())
    errors: dict[str, list[str]] = {}
    mobile = ""
    if phone and phone.strip():
        try:
            mobile = mobile_number(phone)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    elif not email:
        errors["phone"] = [_("Give a mobile number or an e-mail address (or both).")]
    if mobile:
        # A sign-up for this number that never got its code holds nothing: a new one replaces it.
        User.objects.filter(phone__in=_stored_forms(mobile), is_active=False, signup_pending=True).delete()
        if phone_in_use(mobile):
            errors["phone"] = [_("An account with this mobile number already exists: sign in with a code sent "
                                 "to it.")]
        if not username:
            if not display_name:
                errors["display_name"] = [_("Enter your name, as buyers and sellers will see it.")]
            username, n = f"u{mobile}", 2
            while User.objects.filter(username__iexact=username).exists():
                username, n = f"u{mobile}-{n}", n + 1
    user = User(username=username, email=email, phone=mobile, role=role, display_name=display_name)
    try:
        user.full_clean(exclude=["password", *errors])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if username and User.objects.filter(username__iexact=username).exists():
        errors["username"] = [_("This username is taken.")]
    if email and User.objects.filter(email__iexact=email).exists():
        errors["email"] = [_("An account with this email already exists.")]
    if password or not mobile:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    if mobile:
        user.is_active, user.signup_pending = False, True
    user.save()
    if mobile:
        send_sign_up_code(user=user, ip=ip)
    return user


@transaction.atomic
def update_profile(*, user: User, **fields) -> User:
    allowed = {"display_name", "email", "phone", "first_name", "last_name"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in unknown})
    # From the row: a bound ModelForm has already copied the new values onto the instance.
    old_phone = User.objects.filter(pk=user.pk).values_list("phone", flat=True).first()
    for name, value in fields.items():
        setattr(user, name, value.strip() if isinstance(value, str) else value)
    if user.phone != old_phone:
        user.phone_verified_at = None  # a new number is verified by the next code sent to it
    user.full_clean(exclude=["password"])
    email = user.email
    if email and User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": [_("An account with this email already exists.")]})
    user.save()
    return user


def _make_default(address: Address) -> None:
    Address.objects.filter(user=address.user, is_default=True).exclude(pk=address.pk).update(is_default=False)


@transaction.atomic
def create_address(*, user: User, is_default: bool = False, **fields) -> Address:
    address = Address(user=user, **{k: fields.get(k, "") for k in ADDRESS_FIELDS})
    address.full_clean(exclude=["user"])
    # The first address a buyer saves is their default.
    address.is_default = is_default or not Address.objects.filter(user=user).exists()
    if address.is_default:
        _make_default(address)
    address.save()
    return address


@transaction.atomic
def update_address(*, address: Address, is_default: bool | None = None, **fields) -> Address:
    for name in ADDRESS_FIELDS:
        if name in fields:
            setattr(address, name, fields[name])
    address.full_clean(exclude=["user"])
    if is_default:
        address.is_default = True
        _make_default(address)
    address.save()
    return address


@transaction.atomic
def delete_address(*, address: Address) -> None:
    was_default = address.is_default
    user = address.user
    address.delete()
    if was_default:
        successor = Address.objects.filter(user=user).order_by("-created_at", "-id").first()
        if successor:
            successor.is_default = True
            successor.save(update_fields=["is_default"])


# --- API tokens (django-rest-knox: stored as a hash, with an expiry) ---------------------

def issue_token(*, user: User) -> tuple[str, datetime | None]:
    """A new API token for one device: the token (shown this once, only its hash is kept) and its expiry."""
    instance, token = AuthToken.objects.create(user=user)
    return token, instance.expiry


@transaction.atomic
def rotate_token(*, token: AuthToken) -> tuple[str, datetime | None]:
    """Swap a device's token for a fresh one with a new expiry; the old one stops working at once."""
    user = token.user
    token.delete()
    return issue_token(user=user)


def revoke_token(*, token: AuthToken) -> None:
    token.delete()


def revoke_all_tokens(*, user: User) -> int:
    """Sign out everywhere: every API token of the user stops working."""
    deleted, _per_model = AuthToken.objects.filter(user=user).delete()
    return deleted


@transaction.atomic
def change_password(*, user: User, old_password: str, new_password: str) -> User:
    """Check the current password, set the new one; saving it revokes every API token (User.save)."""
    if not user.check_password(old_password):
        raise ValidationError({"old_password": [_("Your current password was entered incorrectly.")]})
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": list(exc.messages)})
    user.set_password(new_password)
    user.save()
    return user


@transaction.atomic
def create_farmer_without_password(*, name: str, phone: str) -> User:
    """A farmer account known by its mobile number alone, opened for someone without a smartphone.

    No password: the farmer claims it by signing in with a code sent to that number (accounts.codes),
    then may set one. A number another account already has is refused, so the code finds one account.
    """
    mobile = mobile_number(phone)
    if phone_in_use(mobile):
        raise ValidationError({"phone": [_("An account with this mobile number already exists; its owner can "
                                           "sign in with a code sent to it.")]})
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Enter the farmer's name.")]})
    username, n = f"m{mobile}", 2
    while User.objects.filter(username__iexact=username).exists():
        username, n = f"m{mobile}-{n}", n + 1
    user = User(username=username, display_name=name[:80], phone=mobile, role=User.Role.FARMER)
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def find_or_create_buyer_by_phone(*, phone: str, name: str, language: str = "") -> tuple[User, bool]:
    """The one account with this mainland mobile number, or a new buyer account for it: (user, created).

    For someone buying at a village station without a smartphone. A new account has no usable password; its owner
    may claim it later by signing in with a code sent to that number (accounts.codes). An existing account keeps its
    name. A number held by several accounts, or by a staff or agent account, is refused.
    """
    mobile = mobile_number(phone)
    found = list(User.objects.filter(phone__in=_stored_forms(mobile)).order_by("pk")[:2])
    if len(found) > 1:
        raise ValidationError({"phone": [_("Several accounts have this mobile number; please ask Farmgate staff "
                                           "to sort them out.")]})
    if found:
        user = found[0]
        if user.is_staff or user.role in (User.Role.AGENT, User.Role.STAFF) or not user.is_active:
            raise ValidationError({"phone": [_("This mobile number belongs to an account that cannot buy here.")]})
        return user, False
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": [_("Enter the buyer's name.")]})
    username, n = f"b{mobile}", 2
    while User.objects.filter(username__iexact=username).exists():
        username, n = f"b{mobile}-{n}", n + 1
    user = User(username=username, display_name=name[:80], phone=mobile, role=User.Role.BUYER, language=language)
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user, True
