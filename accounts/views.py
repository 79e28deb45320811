"""Sign-up, profile and addresses pages. Thin: forms validate shape, services do the writes."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from core import ratelimit
from core.forms import copy_errors
from core.net import client_ip

from . import selectors, services
from .forms import AddressForm, ProfileForm, SignUpForm


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("accounts:profile")
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        verdict = ratelimit.hit("signup", client_ip(request), settings.RATE_LIMIT_SIGNUP)
        if not verdict.allowed:
            form.add_error(None, rate_limited_message(verdict.retry_after))
            response = render(request, "accounts/signup.html", {"form": form}, status=429)
            response["Retry-After"] = str(verdict.retry_after)
            return response
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.register_user(
                username=data["username"], email=data["email"], password=data["password1"],
                role=data["role"], display_name=data["display_name"],
            )
        except ValidationError as exc:
            copy_errors(form, exc, rename={"password": "password1"})
        else:
            login(request, user, backend="accounts.backends.GuardedModelBackend")
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
            copy_errors(form, exc)
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
            copy_errors(form, exc)
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


def rate_limited_message(retry_after: int) -> str:
    minutes = max(1, -(-retry_after // 60))
    return ngettext("Too many attempts from your network. Please try again in %(minutes)d minute.",
                    "Too many attempts from your network. Please try again in %(minutes)d minutes.",
                    minutes) % {"minutes": minutes}


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset form, rate limited per client address (429) and, silently, per e-mail address, so the
    form can be used neither to flood someone's mailbox nor to learn whether an address has an account."""

    def post(self, request, *args, **kwargs):
        verdict = ratelimit.hit("password-reset", client_ip(request), settings.RATE_LIMIT_PASSWORD_RESET)
        if not verdict.allowed:
            form = self.get_form()
            form.add_error(None, rate_limited_message(verdict.retry_after))
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(verdict.retry_after)
            return response
        return super().post(request, *args, **kwargs)

    def form_valid(self, form):
        email = form.cleaned_data["email"].strip().lower()
        if not ratelimit.hit("password-reset-email", email, settings.RATE_LIMIT_PASSWORD_RESET).allowed:
            return redirect(self.get_success_url())  # the same answer as a sent link
        return super().form_valid(form)
