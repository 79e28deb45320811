"""Pre-sale and group-buying pages. Thin: forms check shape, selectors scope to the user, services write."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.selectors import addresses_for
from core.errors import ConflictError
from core.forms import copy_errors
from orders.models import Order
from orders.payments import cards, gateway, intents
from orders.selectors import orders_for_buyer, reaches_seller

from . import selectors, services, stripe_holds
from .forms import (
    AddressChoiceForm,
    GroupDealForm,
    OptionalReasonForm,
    PreOrderForm,
    PreSaleForm,
    PreSaleSettingsForm,
    ReasonForm,
)
from .models import BuyingGroup, GroupMember, PreOrder

PAGE_SIZE = 10


def _page(request, queryset):
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def _after_preorder(preorder: PreOrder) -> str:
    """Where a new pre-order goes next: authorise the card, pay in full, or (cash) its own page."""
    if preorder.payment == PreOrder.Payment.CARD:
        return reverse("presales:hold", args=[preorder.order.number])
    if preorder.payment == PreOrder.Payment.ONLINE:
        return reverse("orders:pay", args=[preorder.order.number])
    return preorder.get_absolute_url()


# --- Pre-sales: buyers ---------------------------------------------------------------------------------------------

def presale_list(request):
    page = _page(request, selectors.current_presales())
    return render(request, "presales/presale_list.html", {"page": page, "presales": page.object_list})


@require_http_methods(["GET", "POST"])
def presale_detail(request, pk: int):
    presale = selectors.public_presale(pk)
    if presale is None:
        raise Http404
    if request.method == "POST" and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    addresses = list(addresses_for(request.user)) if request.user.is_authenticated else []
    saved = list(cards.usable_cards(request.user)) if request.user.is_authenticated else []
    form = PreOrderForm(request.POST if request.method == "POST" else None, addresses=addresses,
                        min_quantity=presale.product.min_order, saved_cards=saved,
                        long_presale=services.is_long_presale(presale))
    if request.method == "POST" and form.is_valid():
        try:
            preorder = services.place_preorder(buyer=request.user, presale=presale, address=form.chosen_address(),
                                               quantity=form.cleaned_data["quantity"],
                                               payment=form.cleaned_data["payment"], saved_card=form.chosen_card())
        except ValidationError as exc:
            copy_errors(form, exc)
        except ConflictError as exc:
            form.add_error(None, exc.message)
            presale.refresh_from_db()
        else:
            messages.success(request, _("Thank you! Pre-order %(number)s is placed.") % {
                "number": preorder.order.number})
            return redirect(_after_preorder(preorder))
    return render(request, "presales/presale_detail.html", {
        "presale": presale, "product": presale.product, "form": form, "addresses": addresses,
        "card_enabled": intents.card_payments_enabled()})


@login_required
def preorder_list(request):
    page = _page(request, selectors.preorders_for_buyer(request.user))
    return render(request, "presales/preorder_list.html", {"page": page, "preorders": page.object_list})


@login_required
def preorder_detail(request, pk: int):
    preorder = get_object_or_404(selectors.preorders_for_buyer(request.user), pk=pk)
    parts = list(preorder.order.shop_orders.all())
    can_cancel = preorder.is_live and all(so.status in ("awaiting_payment", "new") for so in parts)
    return render(request, "presales/preorder_detail.html", {
        "preorder": preorder, "order": preorder.order, "presale": preorder.presale, "parts": parts,
        "flags": selectors.preorder_flags(preorder), "can_cancel": can_cancel, "cancel_form": OptionalReasonForm()})


@login_required
@require_POST
def preorder_cancel(request, pk: int):
    preorder = get_object_or_404(selectors.preorders_for_buyer(request.user), pk=pk)
    form = OptionalReasonForm(request.POST)
    try:
        services.cancel_preorder(preorder=preorder, actor=request.user,
                                 reason=form.cleaned_data["reason"] if form.is_valid() else "")
    except ConflictError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Pre-order %(number)s is cancelled.") % {"number": preorder.order.number})
    return redirect(preorder.get_absolute_url())


# --- Card authorisation (pre-orders and group places) --------------------------------------------------------------

def _held_order_or_404(request, number: str) -> tuple[Order, PreOrder | None, GroupMember | None]:
    order = get_object_or_404(orders_for_buyer(request.user).select_related("preorder", "group_membership__group"),
                              number=number)
    # A missing reverse one-to-one raises an AttributeError subclass, so getattr's default applies.
    preorder = getattr(order, "preorder", None)
    member = getattr(order, "group_membership", None)
    if preorder is None and member is None:
        raise Http404
    return order, preorder, member


def _done_url(preorder: PreOrder | None, member: GroupMember | None) -> str:
    return preorder.get_absolute_url() if preorder is not None else member.group.get_absolute_url()


@login_required
@never_cache
@require_GET
def hold_page(request, number: str):
    order, preorder, member = _held_order_or_404(request, number)
    flags = selectors.preorder_flags(preorder) if preorder is not None else selectors.member_flags(member)
    if not flags["awaits_card"]:
        return redirect(_done_url(preorder, member))
    context = {"order": order, "preorder": preorder, "member": member, "error": "", "intent": None,
               "card_enabled": stripe_holds.card_holds_enabled(), "stripe_js_url": settings.STRIPE_JS_URL,
               "done_url": _done_url(preorder, member),
               "deadline": preorder.pay_by if preorder is not None else member.hold_until}
    if context["card_enabled"]:
        try:
            context["intent"] = services.card_hold_details(order=order)
        except ConflictError as exc:
            context["error"] = exc.message
        if context["intent"] and context["intent"]["status"] == "requires_capture":
            return redirect(context["done_url"])
    return render(request, "presales/hold.html", context)


def _json_error(exc: Exception) -> JsonResponse:
    if isinstance(exc, ValidationError):
        return JsonResponse(exc.message_dict, status=400)
    status = 502 if isinstance(exc, gateway.PaymentUnavailable) else 409
    return JsonResponse({"detail": exc.message, "code": exc.code}, status=status)


@login_required
@require_POST
def hold_card(request, number: str):
    """The hold page posts the Stripe.js card token here; the answer says whether 3-D Secure is needed."""
    order, _preorder, _member = _held_order_or_404(request, number)
    token = (request.POST.get("token") or "").strip()
    if not token.startswith("tok_") or len(token) > 255:
        return JsonResponse({"token": [_("The card details could not be read. Please enter them again.")]},
                            status=400)
    try:
        result = services.authorise_card(order=order, token=token)
    except ConflictError as exc:
        return _json_error(exc)
    return JsonResponse({"status": result["status"], "client_secret": result["client_secret"]})


@login_required
@never_cache
@require_GET
def hold_status(request, number: str):
    """Polled by the hold page after 3-D Secure: asks Stripe again and says whether the card is authorised."""
    order, preorder, member = _held_order_or_404(request, number)
    try:
        services.refresh_payment(order=order)
    except ConflictError:
        pass  # Stripe unreachable: answer with what is known
    if preorder is not None:
        preorder.refresh_from_db(fields=["status"])
        done = preorder.status != PreOrder.Status.PENDING
    else:
        member.refresh_from_db(fields=["status"])
        done = member.status != GroupMember.Status.PENDING
    return JsonResponse({"done": done, "next_url": _done_url(preorder, member)})


# --- Groups: buyers ------------------------------------------------------------------------------------------------

def group_list(request):
    page = _page(request, selectors.open_groups())
    return render(request, "presales/group_list.html", {"page": page, "groups": page.object_list})


def _group_or_404(code: str) -> BuyingGroup:
    code = services.parse_group_code(code)
    group = selectors.public_groups().filter(code=code).first() if code else None
    if group is None:
        raise Http404
    return group


@require_http_methods(["GET", "POST"])
def group_detail(request, code: str):
    group = _group_or_404(code)
    if request.method == "POST" and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    product = group.deal.product
    addresses = list(addresses_for(request.user)) if request.user.is_authenticated else []
    form = AddressChoiceForm(request.POST if request.method == "POST" else None, addresses=addresses,
                             min_quantity=product.min_order)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.join_group(group=group, buyer=request.user, address=form.chosen_address(),
                                         quantity=form.cleaned_data["quantity"])
        except ValidationError as exc:
            copy_errors(form, exc)
        except ConflictError as exc:
            form.add_error(None, exc.message)
            group.refresh_from_db()
        else:
            return redirect("presales:hold", number=member.order.number)
    membership = selectors.live_membership(request.user, group)
    return render(request, "presales/group_detail.html", {
        "group": group, "deal": group.deal, "product": product, "form": form, "addresses": addresses,
        "membership": membership, "member_flags": selectors.member_flags(membership) if membership else None,
        "group_filled": selectors.group_is_filled(group),
        "share_url": request.build_absolute_uri(group.get_absolute_url()),
        "card_enabled": stripe_holds.card_holds_enabled()})


@login_required
@require_http_methods(["GET", "POST"])
def group_start(request, pk: int):
    deal = selectors.public_deal(pk)
    if deal is None:
        raise Http404
    addresses = list(addresses_for(request.user))
    form = AddressChoiceForm(request.POST if request.method == "POST" else None, addresses=addresses,
                             min_quantity=deal.product.min_order)
    if request.method == "POST" and form.is_valid():
        try:
            member = services.start_group(deal=deal, buyer=request.user, address=form.chosen_address(),
                                          quantity=form.cleaned_data["quantity"])
        except ValidationError as exc:
            copy_errors(form, exc)
        except ConflictError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Your group is open: authorise your card, then share the link."))
            return redirect("presales:hold", number=member.order.number)
    return render(request, "presales/group_start.html", {
        "deal": deal, "product": deal.product, "form": form, "addresses": addresses,
        "card_enabled": stripe_holds.card_holds_enabled()})


@login_required
@require_POST
def group_leave(request, code: str):
    group = _group_or_404(code)
    member = get_object_or_404(selectors.memberships_for_buyer(request.user), group=group,
                               status__in=GroupMember.HELD)
    try:
        services.leave_group(member=member, actor=request.user)
    except ConflictError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("You left the group; the reservation on your card is released."))
    return redirect(group.get_absolute_url())


@login_required
def my_groups(request):
    page = _page(request, selectors.memberships_for_buyer(request.user))
    return render(request, "presales/my_groups.html", {
        "page": page, "memberships": page.object_list,
        "rows": [(member, selectors.member_flags(member)) for member in page.object_list]})


# --- The farm ------------------------------------------------------------------------------------------------------

@login_required
def seller_presales(request):
    page = _page(request, selectors.presales_managed_by(request.user))
    return render(request, "presales/seller/presale_list.html", {"page": page, "presales": page.object_list})


@login_required
@require_http_methods(["GET", "POST"])
def seller_presale_create(request):
    products = list(selectors.products_for_offers(request.user))
    form = PreSaleForm(request.POST or None, products=products)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            presale = services.create_presale(actor=request.user, product=form.chosen_product(),
                                              harvest_start=data["harvest_start"], harvest_end=data["harvest_end"],
                                              capacity=data["capacity"], price=data["price"])
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            messages.success(request, _("Your pre-sale is open."))
            return redirect("presales:seller_presale", pk=presale.pk)
    return render(request, "presales/seller/presale_form.html", {"form": form, "products": products})


@login_required
@require_http_methods(["GET", "POST"])
def seller_presale(request, pk: int):
    presale = get_object_or_404(selectors.presales_managed_by(request.user), pk=pk)
    form = PreSaleSettingsForm(request.POST or None, initial={
        "is_open": presale.is_open, "capacity": presale.capacity, "price": presale.price})
    if request.method == "POST" and form.is_valid():
        try:
            services.update_presale(presale=presale, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            copy_errors(form, exc)
        except ConflictError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("presales:seller_presale", pk=presale.pk)
    page = _page(request, selectors.preorders_of_presale(presale))
    # Each pre-order with its part once the farm sees it (a part still waiting for payment has no page yet).
    rows = [(p, next((so for so in p.order.shop_orders.all() if reaches_seller(so)), None)) for p in page.object_list]
    return render(request, "presales/seller/presale_detail.html", {
        "presale": presale, "form": form, "page": page, "preorders": page.object_list, "rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def seller_presale_cancel(request, pk: int):
    presale = get_object_or_404(selectors.presales_managed_by(request.user), pk=pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cancel_presale(presale=presale, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            messages.success(request, _("The pre-sale is cancelled. Every buyer is released or refunded and told "
                                        "why."))
            return redirect("presales:seller_presale", pk=presale.pk)
    return render(request, "presales/seller/presale_cancel.html", {"presale": presale, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def seller_preorder_cancel(request, pk: int):
    preorder = get_object_or_404(selectors.preorders_managed_by(request.user), pk=pk)
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.seller_cancel_preorder(preorder=preorder, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            copy_errors(form, exc)
        except ConflictError as exc:
            messages.error(request, exc.message)
            return redirect("presales:seller_presale", pk=preorder.presale_id)
        else:
            messages.success(request, _("Pre-order %(number)s is cancelled; the buyer is told why.") % {
                "number": preorder.order.number})
            return redirect("presales:seller_presale", pk=preorder.presale_id)
    return render(request, "presales/seller/preorder_cancel.html", {"preorder": preorder, "form": form})


@login_required
def seller_deals(request):
    page = _page(request, selectors.deals_managed_by(request.user))
    return render(request, "presales/seller/deal_list.html", {"page": page, "deals": page.object_list})


@login_required
@require_http_methods(["GET", "POST"])
def seller_deal_create(request):
    products = list(selectors.products_for_offers(request.user))
    form = GroupDealForm(request.POST or None, products=products)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            deal = services.create_group_deal(actor=request.user, product=form.chosen_product(),
                                              group_size=data["group_size"], group_price=data["group_price"],
                                              hours_to_fill=data["hours_to_fill"])
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            messages.success(request, _("Your group offer is on the product page."))
            return redirect("presales:seller_deal", pk=deal.pk)
    return render(request, "presales/seller/deal_form.html", {"form": form, "products": products})


@login_required
@require_http_methods(["GET", "POST"])
def seller_deal(request, pk: int):
    deal = get_object_or_404(selectors.deals_managed_by(request.user), pk=pk)
    if request.method == "POST":
        services.update_group_deal(deal=deal, actor=request.user, is_active=request.POST.get("is_active") == "1")
        messages.success(request, _("Saved."))
        return redirect("presales:seller_deal", pk=deal.pk)
    page = _page(request, selectors.groups_of_deal(deal))
    return render(request, "presales/seller/deal_detail.html", {"deal": deal, "page": page,
                                                                 "groups": page.object_list})
