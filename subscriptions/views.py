"""Standing-order pages, phones first: boxes to subscribe to, the buyer's subscriptions, the farm's boxes and
what to prepare. Thin: forms check shape, selectors scope to the user, services write."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ConflictError
from core.forms import copy_errors
from shops.selectors import shops_managed_by

from . import schedule, selectors, services
from .forms import BoxEditForm, BoxForm, CapacityForm, SkipForm, SubscribeForm
from .models import Box
from .states import SS, can_move_subscription


def box_list(request):
    return render(request, "subscriptions/box_list.html", {"boxes": selectors.public_boxes().order_by("id")[:50]})


@require_http_methods(["GET", "POST"])
def box_detail(request, pk: int):
    box = get_object_or_404(selectors.public_boxes(), pk=pk)
    form = None
    if request.user.is_authenticated:
        form = SubscribeForm(request.POST if request.method == "POST" else None, user=request.user)
        if request.method == "POST" and form.is_valid():
            try:
                services.subscribe(buyer=request.user, box=box, address=form.cleaned_data["address"],
                                   payment_method=form.cleaned_data["payment_method"])
            except ValidationError as exc:
                copy_errors(form, exc)
            except ConflictError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("You subscribe to %(title)s.") % {"title": box.title})
                return redirect("subscriptions:mine")
    elif request.method == "POST":
        return redirect_to_login(request.get_full_path())
    deliveries = schedule.deliveries_from(box, timezone.localdate(), 3)
    return render(request, "subscriptions/box_detail.html", {
        "box": box, "form": form, "deliveries": deliveries, "full": box.taken >= box.capacity,
        "farm_choice": box.kind == Box.Kind.FARM_CHOICE})


@login_required
def my_subscriptions(request):
    rows = []
    today = timezone.localdate()
    for subscription in selectors.subscriptions_for_buyer(request.user):
        upcoming = selectors.next_delivery(subscription, today)
        rows.append({"subscription": subscription, "next_delivery": upcoming,
                     "can_pause": can_move_subscription(subscription, SS.PAUSED),
                     "can_resume": can_move_subscription(subscription, SS.ACTIVE),
                     "can_cancel": can_move_subscription(subscription, SS.CANCELLED)})
    return render(request, "subscriptions/my_subscriptions.html", {"rows": rows})


def _own(request, pk: int):
    return get_object_or_404(selectors.subscriptions_for_buyer(request.user), pk=pk)


@login_required
@require_POST
def subscription_action(request, pk: int, action: str):
    if action not in ("skip", "pause", "resume", "cancel"):
        raise Http404
    subscription = _own(request, pk)
    try:
        if action == "skip":
            form = SkipForm(request.POST)
            if not form.is_valid():
                raise ValidationError(_("Choose a delivery to skip."))
            services.skip_delivery(subscription=subscription, actor=request.user,
                                   delivery_date=form.cleaned_data["date"])
            messages.success(request, _("That delivery is skipped."))
        elif action == "pause":
            services.pause_subscription(subscription=subscription, actor=request.user)
            messages.success(request, _("Paused: no orders until you resume."))
        elif action == "resume":
            services.resume_subscription(subscription=subscription, actor=request.user)
            messages.success(request, _("Resumed: your next box is on its way at the next cut-off."))
        elif action == "cancel":
            services.cancel_subscription(subscription=subscription, actor=request.user)
            messages.success(request, _("Cancelled: no more orders."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except ConflictError as exc:
        messages.error(request, exc.message)
    return redirect("subscriptions:mine")


@login_required
@require_http_methods(["GET", "POST"])
def subscription_change(request, pk: int):
    subscription = _own(request, pk)
    initial = {"address": subscription.address_id, "payment_method": subscription.payment_method_id}
    form = SubscribeForm(request.POST if request.method == "POST" else None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        card = form.cleaned_data["payment_method"]
        try:
            services.change_subscription(subscription=subscription, actor=request.user,
                                         address=form.cleaned_data["address"], payment_method=card,
                                         cash=card is None)
        except ValidationError as exc:
            copy_errors(form, exc)
        except ConflictError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Saved: it applies from the next order on."))
            return redirect("subscriptions:mine")
    return render(request, "subscriptions/subscription_change.html", {"subscription": subscription, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def seller_boxes(request):
    """The farm's boxes: next delivery's boxes and units of each product, and the cap on boxes per delivery."""
    boxes = list(selectors.boxes_for_seller(request.user).order_by("id"))
    if request.method == "POST":
        box = get_object_or_404(selectors.boxes_for_seller(request.user), pk=request.POST.get("box") or 0)
        form = CapacityForm(request.POST)
        if form.is_valid():
            try:
                services.update_box(box=box, actor=request.user, capacity=form.cleaned_data["capacity"])
            except (ConflictError, ValidationError) as exc:
                messages.error(request, getattr(exc, "message", None) or " ".join(exc.messages))
            else:
                messages.success(request, _("Saved."))
        else:
            messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("subscriptions:seller_boxes")
    plans = [{"plan": selectors.preparation(box), "form": CapacityForm(initial={"capacity": box.capacity})}
             for box in boxes]
    shops = list(shops_managed_by(request.user).order_by("name"))
    return render(request, "subscriptions/seller_boxes.html", {"plans": plans, "shops": shops})


@login_required
@require_http_methods(["GET", "POST"])
def seller_box_create(request):
    """A new box for one of the shops the user manages (`?shop=<slug>`; another shop is a 404)."""
    shop = get_object_or_404(shops_managed_by(request.user), slug=request.GET.get("shop") or "")
    form = BoxForm(request.POST if request.method == "POST" else None, shop=shop)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.create_box(shop=shop, actor=request.user, title=data["title"], description=data["description"],
                                kind=data["kind"], price=data["price"], frequency=data["frequency"],
                                cutoff_weekday=data["cutoff_weekday"], delivery_weekday=data["delivery_weekday"],
                                capacity=data["capacity"], items=data["items"])
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            messages.success(request, _("Your box is on offer."))
            return redirect("subscriptions:seller_boxes")
    return render(request, "subscriptions/seller_box_form.html", {"form": form, "shop": shop})


@login_required
@require_http_methods(["GET", "POST"])
def seller_box_edit(request, pk: int):
    """Change a box's cap, whether it takes subscribers, and (the farm's choice) its price."""
    box = get_object_or_404(selectors.boxes_for_seller(request.user), pk=pk)
    initial = {"capacity": box.capacity, "is_active": box.is_active, "price": box.price}
    form = BoxEditForm(request.POST if request.method == "POST" else None, box=box, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_box(box=box, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            copy_errors(form, exc)
        except ConflictError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("subscriptions:seller_boxes")
    return render(request, "subscriptions/seller_box_edit.html", {"form": form, "box": box})
