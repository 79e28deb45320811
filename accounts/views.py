"""Sign-up, profile and addresses pages. Thin: forms validate shape, services do the writes."""
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors, services
from .forms import AddressForm, ProfileForm, SignUpForm


def _copy_errors(form, exc: ValidationError) -> None:
    for field, msgs in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, msgs)


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.register_user(
                username=data["username"], email=data["email"], password=data["password1"],
                role=data["role"], display_name=data["display_name"],
            )
        except ValidationError as exc:
            if "password" in exc.message_dict:
                exc.error_dict["password1"] = exc.error_dict.pop("password")
            _copy_errors(form, exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome to Farmgate, %(name)s!") % {"name": user})
            return redirect("accounts:profile")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(user=request.user, **{f: form.cleaned_data[f] for f in form.Meta.fields})
        except ValidationError as exc:
            _copy_errors(form, exc)
        else:
            messages.success(request, _("Your profile is saved."))
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
def address_list(request):
    return render(request, "accounts/address_list.html", {"addresses": selectors.addresses_for(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def address_edit(request, pk: int | None = None):
    address = get_object_or_404(selectors.addresses_for(request.user), pk=pk) if pk else None
    form = AddressForm(request.POST or None, instance=address)
    if request.method == "POST" and form.is_valid():
        fields = {f: form.cleaned_data[f] for f in form.Meta.fields}
        try:
            if address:
                services.update_address(address=address, **fields)
            else:
                services.create_address(user=request.user, **fields)
        except ValidationError as exc:
            _copy_errors(form, exc)
        else:
            messages.success(request, _("Address saved."))
            return redirect("accounts:addresses")
    return render(request, "accounts/address_form.html", {"form": form, "address": address})


@login_required
@require_POST
def address_delete(request, pk: int):
    address = get_object_or_404(selectors.addresses_for(request.user), pk=pk)
    services.delete_address(address=address)
    messages.success(request, _("Address deleted."))
    return redirect("accounts:addresses")


def lockout_response(request, original_response=None, credentials=None):
    """Axes calls this when sign-in is locked: a clear 429, as JSON for the API, a page otherwise."""
    from django.conf import settings

    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    message = _("Too many failed sign-in attempts. Please wait %(minutes)d minutes and try again.") % {
        "minutes": minutes
    }
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=429)
    return render(request, "accounts/locked_out.html", {"message": message}, status=429)
