"""Pages of the station's work for farmers without smartphones: the agent's farmers, registration, consent and
"act for"; the farmer's own record of what was done for them."""
from functools import wraps

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ConflictError
from core.forms import copy_errors
from logistics.selectors import agent_station

from . import selectors, services
from .acting import SESSION_KEY
from .activity import describe
from .forms import ConsentCodeForm, PaperConsentForm, RegisterFarmerForm
from .models import AssistedFarmer

PAGE_SIZE = 20


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _activity_rows(page):
    return [(entry, describe(entry)) for entry in page]


def agent_required(view):
    """The signed-in agent of a station (the station is passed on); anyone else gets a 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        station = agent_station(request.user)
        if station is None:
            raise PermissionDenied("not an agent")
        return view(request, station, *args, **kwargs)

    return wrapper


def _farmer(request, farmer_id: int) -> AssistedFarmer:
    return get_object_or_404(selectors.farmers_of_agent(request.user), farmer_id=farmer_id)


@agent_required
def farmer_list(request, station):
    page = _page(request, selectors.farmers_of_agent(request.user))
    return render(request, "stations/farmer_list.html", {"station": station, "page": page})


@agent_required
@require_http_methods(["GET", "POST"])
def farmer_register(request, station):
    form = RegisterFarmerForm(request.POST or None, request.FILES or None, station=station)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        paper = data["consent_method"] == AssistedFarmer.Method.PAPER
        try:
            record = services.register_farmer(
                agent=request.user, name=data["name"], phone=data["phone"], village=data["village"],
                id_photo=data["id_photo"], consent_paper=data["consent_paper"] if paper else None)
        except ValidationError as exc:
            copy_errors(form, exc)
        except ConflictError as exc:
            form.add_error(None, exc.message)
        else:
            if record.consent_given:
                messages.success(request, _("%(name)s is registered and their consent is recorded.")
                                 % {"name": record.farmer})
            else:
                messages.success(request, _("%(name)s is registered. A code is on its way to their phone: enter it "
                                            "below when they read it to you.") % {"name": record.farmer})
            return redirect("stations:farmer", farmer_id=record.farmer_id)
    return render(request, "stations/farmer_register.html", {"station": station, "form": form})


@agent_required
@require_http_methods(["GET", "POST"])
def farmer_detail(request, station, farmer_id: int):
    record = _farmer(request, farmer_id)
    code_form = ConsentCodeForm(request.POST if "code" in request.POST else None)
    paper_form = PaperConsentForm(request.POST if "paper" in request.POST else None,
                                  request.FILES if "paper" in request.POST else None)
    if request.method == "POST":
        try:
            if "code" in request.POST and code_form.is_valid():
                services.confirm_consent(record=record, agent=request.user, code=code_form.cleaned_data["code"])
                messages.success(request, _("Consent confirmed. You can now act for %(name)s.")
                                 % {"name": record.farmer})
                return redirect("stations:farmer", farmer_id=farmer_id)
            if "paper" in request.POST and paper_form.is_valid():
                services.record_paper_consent(record=record, agent=request.user,
                                              photo=paper_form.cleaned_data["consent_paper"])
                messages.success(request, _("Consent recorded from the signed form."))
                return redirect("stations:farmer", farmer_id=farmer_id)
            if "resend" in request.POST:
                services.send_consent_code(record=record, agent=request.user)
                messages.success(request, _("A new code is on its way to the farmer's phone."))
                return redirect("stations:farmer", farmer_id=farmer_id)
        except ValidationError as exc:
            copy_errors(paper_form if "paper" in request.POST else code_form, exc)
        except ConflictError as exc:
            messages.error(request, exc.message)
            return redirect("stations:farmer", farmer_id=farmer_id)
    page = _page(request, selectors.activity_of(record.farmer))
    return render(request, "stations/farmer_detail.html", {
        "station": station, "record": record, "code_form": code_form, "paper_form": paper_form,
        "can_act": selectors.can_act_for(actor=request.user, farmer_id=record.farmer_id),
        "page": page, "rows": _activity_rows(page),
    })


@agent_required
@require_POST
def act_for(request, station, farmer_id: int):
    record = _farmer(request, farmer_id)
    try:
        selectors.acting_farmer(actor=request.user, farmer_id=record.farmer_id)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect("stations:farmer", farmer_id=farmer_id)
    request.session[SESSION_KEY] = record.farmer_id
    messages.success(request, _("You are acting for %(name)s on their shop pages. Everything you change is shown "
                                "to them.") % {"name": record.farmer})
    return redirect("shops:seller_shops")


@login_required
@require_POST
def stop_acting(request):
    farmer_id = request.session.pop(SESSION_KEY, None)
    if farmer_id is not None and agent_station(request.user) is not None:
        return redirect("stations:farmer", farmer_id=farmer_id)
    return redirect("stations:farmers")


@login_required
def on_my_behalf(request):
    """The farmer's page: the station's consent, everything done for them, the withdraw button."""
    record = selectors.assisted_record_of(request.user)
    page = _page(request, selectors.activity_of(request.user))
    return render(request, "stations/on_my_behalf.html", {
        "record": record, "page": page, "rows": _activity_rows(page),
        "needs_password": not request.user.has_usable_password(),
    })


@login_required
@require_POST
def withdraw(request):
    record = selectors.assisted_record_of(request.user)
    if record is None:
        raise PermissionDenied("not an assisted farmer")
    services.withdraw_consent(record=record, farmer=request.user)
    messages.success(request, _("Your consent is withdrawn: the station can no longer act for you."))
    return redirect("stations:on_my_behalf")


@login_required
@require_http_methods(["GET", "POST"])
def set_password(request):
    """A farmer who claimed their account with a code sets their first password (no old one to give)."""
    if request.user.has_usable_password():
        return redirect("accounts:password_change")
    form = SetPasswordForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.set_first_password(user=request.user, password=form.cleaned_data["new_password1"])
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            update_session_auth_hash(request, user)
            messages.success(request, _("Your password is set. You can now sign in with it too."))
            return redirect(reverse("stations:on_my_behalf"))
    return render(request, "stations/set_password.html", {"form": form})
