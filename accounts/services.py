"""Every write to accounts: one function per action, keyword-only, one transaction each."""
from datetime import datetime

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from knox.models import AuthToken

from .models import Address, User

ADDRESS_FIELDS = ("name", "phone", "province", "city", "district", "line", "postal_code")


@transaction.atomic
def register_user(*, username: str, email: str, password: str, role: str = User.Role.BUYER,
                  display_name: str = "") -> User:
    """Create a buyer or farmer. Agents and staff are appointed, never self-registered."""
    if role not in User.SELF_SERVICE_ROLES:
        raise ValidationError({"role": _("Choose buyer or farmer; village agents are appointed by staff.")})
    username = (username or "").strip()
    email = User.objects.normalize_email((email or "").strip())
    user = User(username=username, email=email, role=role, display_name=display_name.strip())
    errors: dict[str, list[str]] = {}
    try:
        user.full_clean(exclude=["password"])
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if username and User.objects.filter(username__iexact=username).exists():
        errors["username"] = [_("This username is taken.")]
    if email and User.objects.filter(email__iexact=email).exists():
        errors["email"] = [_("An account with this email already exists.")]
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def update_profile(*, user: User, **fields) -> User:
    allowed = {"display_name", "email", "phone", "first_name", "last_name"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError({name: [_("This field cannot be changed here.")] for name in unknown})
    for name, value in fields.items():
        setattr(user, name, value.strip() if isinstance(value, str) else value)
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
