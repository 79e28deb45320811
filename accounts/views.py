"""Sign-up, sign-in with a code, profile and addresses pages. Thin: forms validate shape, services do the writes."""
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from core import ratelimit
from core.forms import copy_errors
from core.net import client_ip

from . import codes, selectors, services
from .forms import AddressForm, ProfileForm, SignInCodeForm, SignInCodeRequestForm, SignUpForm

# The session remembers whom the code was asked for, between the two pages of sign-in with a code.
CODE_FOR_SESSION_KEY = "sign_in_code_for"


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
                role=data["role"], display_name=data["display_name"], phone=data["phone"], ip=client_ip(request),
            )
        except codes.CodeRequestsLimited as limited:
            return _codes_limited(request, form, limited, "accounts/signup.html", {"form": form})
        except ValidationError as exc:
            copy_errors(form, exc, rename={"password": "password1"})
        else:
            if user.signup_pending:
                # The account opens when the code sent to the number is entered, on the sign-in-with-code page.
                request.session[CODE_FOR_SESSION_KEY] = {"phone": user.phone}
                messages.info(request, _("We sent a 6-digit code by SMS to %(phone)s. Enter it to confirm your "
                                         "number and open your account.") % {"phone": user.phone})
                first_page = reverse("shops:seller_shop_create" if user.is_farmer else "accounts:profile")
                return redirect(_with_next(reverse("accounts:sign_in_code_enter"), first_page))
            login(request, user, backend="accounts.backends.GuardedModelBackend")
            if user.is_farmer:
                # A new farmer's next step is their shop; opening it leads on to its first product.
                messages.success(request, _("Welcome to Farmgate, %(name)s! Open your shop to start selling.")
                                 % {"name": user})
                return redirect("shops:seller_shop_create")
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


# --- Sign-in with a one-time code (accounts.codes): not blocked by the password lockout ----------------

def _safe_next(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return wanted
    return ""


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _codes_limited(request, form, limited: codes.CodeRequestsLimited, template: str, context: dict):
    """The form again with why no code was sent: 429 with Retry-After."""
    minutes = max(1, -(-limited.retry_after // 60))
    form.add_error(None, ngettext(
        "Too many codes were asked for. Please try again in %(minutes)d minute.",
        "Too many codes were asked for. Please try again in %(minutes)d minutes.", minutes)
        % {"minutes": minutes})
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(limited.retry_after)
    return response


@require_http_methods(["GET", "POST"])
def sign_in_code_request(request):
    """Ask for a code by SMS or e-mail; the next page takes it. The same answer whether or not an account exists."""
    next_url = _safe_next(request)
    form = SignInCodeRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        kind, value = form.cleaned_data["contact"]
        try:
            codes.send_sign_in_code(**{kind: value}, ip=client_ip(request))
        except codes.CodeRequestsLimited as limited:
            return _codes_limited(request, form, limited, "accounts/sign_in_code_request.html",
                                  {"form": form, "next": next_url})
        except ValidationError as exc:
            copy_errors(form, exc, rename={kind: "contact"})
        else:
            request.session[CODE_FOR_SESSION_KEY] = {kind: value}
            messages.info(request, codes.sent_message(channel="email" if kind == "email" else "sms"))
            return redirect(_with_next(reverse("accounts:sign_in_code_enter"), next_url))
    return render(request, "accounts/sign_in_code_request.html", {"form": form, "next": next_url})


@require_http_methods(["GET", "POST"])
def sign_in_code_enter(request):
    """Enter the code; a good one signs in (whatever the password lockout says) and goes on to `next`."""
    next_url = _safe_next(request)
    wanted = request.session.get(CODE_FOR_SESSION_KEY)
    if not isinstance(wanted, dict) or len(wanted) != 1 or not set(wanted) <= {"phone", "email"}:
        return redirect(_with_next(reverse("accounts:sign_in_code"), next_url))
    form = SignInCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = codes.sign_in_with_code(**wanted, code=form.cleaned_data["code"], ip=client_ip(request))
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            request.session.pop(CODE_FOR_SESSION_KEY, None)
            login(request, user, backend="accounts.backends.GuardedModelBackend")
            return redirect(next_url or settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/sign_in_code_enter.html",
                  {"form": form, "next": next_url, "sent_to": next(iter(wanted.values()))})
