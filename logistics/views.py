"""Logistics pages: seller packing and labels, the agent's station pages, delivery confirmation, public
tracking and reviews. Thin: forms check the shape, selectors scope the rows, services write."""
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from core import codes
from core.errors import ConflictError
from core.forms import copy_errors
from orders import selectors as order_selectors
from orders import states as order_states
from orders.models import OrderLine
from shops import stock
from shops.models import HarvestLot
from shops.selectors import public_shops

from . import flags, selectors, services
from .forms import (
    AddParcelsForm,
    DeliverForm,
    DeliveryCodeForm,
    PackForm,
    ReceiveForm,
    ReplyForm,
    ReviewForm,
    ShipmentEventForm,
    ShipmentForm,
    TrackForm,
)
from .models import Parcel
from .qr import qr_svg

PAGE_SIZE = 20
AGENT_TABS = [
    ("expected", gettext_lazy("Expected")),
    ("received_today", gettext_lazy("Received today")),
    ("waiting", gettext_lazy("Waiting for a shipment")),
    ("on_the_way", gettext_lazy("On the way")),
]


def _posted(request):
    """The POST data of a POST (even an empty one, which must show the form's errors), else None."""
    return request.POST if request.method == "POST" else None


def _page(request, queryset, size: int = PAGE_SIZE):
    return Paginator(queryset, size).get_page(request.GET.get("page"))


def _show_errors(request, exc: ValidationError) -> None:
    for msgs in exc.message_dict.values():
        for msg in msgs:
            messages.error(request, msg)


# --- Seller: pack, hand over, label -----------------------------------------------------------------------------------

def _seller_part(request, pk: int):
    return get_object_or_404(order_selectors.shop_orders_for_seller(request.user), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def seller_pack(request, pk: int):
    shop_order = _seller_part(request, pk)
    lines = list(OrderLine.objects.filter(shop_order=shop_order).order_by("id"))
    product_ids = {ln.product_id for ln in lines if ln.product_id}
    lots_by_product: dict[int, list[HarvestLot]] = {}
    for lot in HarvestLot.objects.filter(product_id__in=product_ids).order_by("-harvested_on", "-id"):
        lots_by_product.setdefault(lot.product_id, []).append(lot)
    form = PackForm(_posted(request), lines=lines, lots_by_product=lots_by_product,
                    holds=stock.lot_holds(product_ids))
    if request.method == "POST" and form.is_valid():
        try:
            services.pack_shop_order(shop_order=shop_order, actor=request.user, lots=form.lots(),
                                     weights=form.weights())
        except ValidationError as exc:
            copy_errors(form, exc)
        except ConflictError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Order %(number)s is packed. Bring it to the station and hand it over.")
                             % {"number": shop_order.order.number})
            return redirect("orders:seller_order", pk=shop_order.pk)
    return render(request, "logistics/seller_pack.html", {"so": shop_order, "form": form,
                                                          "station": selectors.station_for_village(
                                                              shop_order.shop.village_id)})


@login_required
@require_POST
def seller_hand_over(request, pk: int):
    shop_order = _seller_part(request, pk)
    try:
        parcel = services.hand_over_shop_order(shop_order=shop_order, actor=request.user)
    except ConflictError as exc:
        messages.error(request, exc.message)
        return redirect("orders:seller_order", pk=shop_order.pk)
    messages.success(request, _("Parcel %(code)s is handed over to %(station)s. Print its label and stick it on "
                                "the box.") % {"code": parcel.code, "station": parcel.station.name})
    return redirect("logistics:label", code=parcel.code)


@login_required
def parcel_label(request, code: str):
    """The printable 100 x 150 mm label: codes and QR codes, the destination city, no buyer details."""
    try:
        code = services.parse_parcel_code(code)
    except ValidationError:
        raise Http404("parcel code is not valid")
    parcel = selectors.parcel_for_label(request.user, code)
    if parcel is None:
        raise Http404("no such parcel for this user")
    lots = [{"lot": lot, "url": lot.trace_url, "qr": qr_svg(lot.trace_url)} for lot in parcel.lots.all()]
    tracking = services.track_url(parcel.code)
    return render(request, "logistics/label.html", {
        "parcel": parcel, "code_display": codes.display(parcel.code), "track_url": tracking,
        "parcel_qr": qr_svg(tracking), "lots": lots, "shop": parcel.shop_order.shop,
    })


# --- Agent ------------------------------------------------------------------------------------------------------------

def agent_required(view):
    """The signed-in agent of a station: the station is passed to the view; anyone else gets a 403."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        station = selectors.agent_station(request.user)
        if station is None:
            raise PermissionDenied("not an agent")
        return view(request, station, *args, **kwargs)

    return wrapper


@agent_required
@require_http_methods(["GET", "POST"])
def agent_home(request, station):
    """Today's parcels at the station, and a big box to receive one by typing or scanning its code."""
    form = ReceiveForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            parcel = services.receive_parcel(actor=request.user, code=form.cleaned_data["code"])
        except ObjectDoesNotExist:
            form.add_error("code", _("No parcel %(code)s is expected at your station.")
                           % {"code": form.cleaned_data["code"]})
        except ValidationError as exc:
            copy_errors(form, exc)
        except ConflictError as exc:
            form.add_error("code", exc.message)
        else:
            messages.success(request, _("Parcel %(code)s received.") % {"code": parcel.code})
            return redirect(f"{reverse('logistics:agent')}?view=received_today")
    view = request.GET.get("view", "expected")
    if view not in dict(AGENT_TABS):
        view = "expected"
    page = _page(request, selectors.agent_parcel_list(request.user, view))
    counts = selectors.agent_counts(request.user)
    tabs = [(key, label, counts.get(key, 0)) for key, label in AGENT_TABS]
    rows = [(p, order_states.awaits_cash(p.shop_order.order)) for p in page.object_list]
    return render(request, "logistics/agent_home.html", {
        "station": station, "form": form, "page": page, "parcels": page.object_list, "rows": rows, "view": view,
        "tabs": tabs}, status=400 if form.errors else 200)


def _agent_parcel(request, code: str) -> Parcel:
    try:
        code = services.parse_parcel_code(code)
    except ValidationError:
        raise Http404("parcel code is not valid")
    return get_object_or_404(selectors.with_events(selectors.parcels_for_agent(request.user)), code=code)


def _parcel_page(request, station, parcel, deliver_form=None, status=200):
    order = parcel.shop_order.order
    unpaid_cash = order_states.awaits_cash(order)
    return render(request, "logistics/agent_parcel.html", {
        "station": station, "parcel": parcel, "order": order, "deliver_form": deliver_form or DeliverForm(),
        "can_deliver": flags.can_deliver(parcel),
        "unpaid_cash": unpaid_cash, "cash_due": services.cash_due(order) if unpaid_cash else None,
    }, status=status)


@agent_required
def agent_parcel(request, station, code: str):
    return _parcel_page(request, station, _agent_parcel(request, code))


@agent_required
@require_POST
def agent_deliver(request, station, code: str):
    parcel = _agent_parcel(request, code)
    form = DeliverForm(request.POST)
    if form.is_valid():
        try:
            services.deliver_parcel(parcel=parcel, actor=request.user, code=form.cleaned_data["code"],
                                    cash_collected=form.cleaned_data["cash_collected"])
        except ValidationError as exc:
            copy_errors(form, exc)
        except ConflictError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Parcel %(code)s is delivered.") % {"code": parcel.code})
            return redirect("logistics:agent_parcel", code=parcel.code)
    return _parcel_page(request, station, _agent_parcel(request, code), form, status=400)


@agent_required
@require_POST
def agent_cash(request, station, code: str):
    parcel = _agent_parcel(request, code)
    try:
        payment = services.collect_cash(parcel=parcel, actor=request.user)
    except ConflictError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("¥%(amount)s in cash recorded.") % {"amount": payment.amount})
    return redirect("logistics:agent_parcel", code=parcel.code)


@agent_required
@require_http_methods(["GET", "POST"])
def agent_shipments(request, station):
    form = ShipmentForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            shipment = services.create_shipment(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            messages.success(request, _("Shipment %(code)s is open: load the parcels.") % {"code": shipment.code})
            return redirect("logistics:agent_shipment", pk=shipment.pk)
    page = _page(request, selectors.shipments_for_agent(request.user))
    return render(request, "logistics/agent_shipments.html", {
        "station": station, "form": form, "page": page, "shipments": page.object_list})


def _shipment_page(request, station, shipment, *, add_form=None, event_form=None, status=200):
    parcels = list(shipment.parcels.all())
    shipment_flags = flags.shipment_flags(shipment)
    waiting = list(selectors.agent_parcel_list(request.user, "waiting")[:100]) if shipment_flags["can_load"] else []
    return render(request, "logistics/agent_shipment.html", {
        "station": station, "shipment": shipment, "parcels": parcels, "flags": shipment_flags,
        "add_form": add_form or AddParcelsForm(waiting=waiting),
        "event_form": event_form or ShipmentEventForm(parcels=parcels),
    }, status=status)


def _agent_shipment(request, pk: int):
    return get_object_or_404(selectors.shipments_for_agent(request.user), pk=pk)


@agent_required
def agent_shipment(request, station, pk: int):
    return _shipment_page(request, station, _agent_shipment(request, pk))


@agent_required
@require_POST
def agent_shipment_add(request, station, pk: int):
    shipment = _agent_shipment(request, pk)
    waiting = list(selectors.agent_parcel_list(request.user, "waiting")[:100])
    form = AddParcelsForm(request.POST, waiting=waiting)
    if form.is_valid():
        try:
            services.add_parcels_to_shipment(shipment=shipment, actor=request.user, codes=form.cleaned_data["codes"])
        except ValidationError as exc:
            form.add_error(None, [m for msgs in exc.message_dict.values() for m in msgs])
        except ConflictError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Loaded."))
            return redirect("logistics:agent_shipment", pk=shipment.pk)
    return _shipment_page(request, station, _agent_shipment(request, pk), add_form=form, status=400)


@agent_required
@require_POST
def agent_shipment_remove(request, station, pk: int):
    shipment = _agent_shipment(request, pk)
    try:
        services.remove_parcel_from_shipment(shipment=shipment, actor=request.user, code=request.POST.get("code", ""))
    except ValidationError as exc:
        _show_errors(request, exc)
    except ConflictError as exc:
        messages.error(request, exc.message)
    return redirect("logistics:agent_shipment", pk=shipment.pk)


@agent_required
@require_POST
def agent_shipment_depart(request, station, pk: int):
    shipment = _agent_shipment(request, pk)
    try:
        services.record_shipment_event(shipment=shipment, actor=request.user, kind="departed")
    except ConflictError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Shipment %(code)s has left.") % {"code": shipment.code})
    return redirect("logistics:agent_shipment", pk=shipment.pk)


@agent_required
@require_POST
def agent_shipment_event(request, station, pk: int):
    shipment = _agent_shipment(request, pk)
    form = ShipmentEventForm(request.POST, request.FILES, parcels=list(shipment.parcels.all()))
    if form.is_valid():
        data = form.cleaned_data
        try:
            events = services.record_shipment_event(
                shipment=shipment, actor=request.user, kind=data["kind"], location=data["location"],
                note=data["note"], problem=data["problem"], photo=data["photo"], parcel_codes=data["parcels"] or None)
        except ValidationError as exc:
            copy_errors(form, exc)
        except ConflictError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Recorded for %(count)d parcel(s).") % {"count": len(events)})
            return redirect("logistics:agent_shipment", pk=shipment.pk)
    return _shipment_page(request, station, _agent_shipment(request, pk), event_form=form, status=400)


# --- Buyer: confirm delivery, review ----------------------------------------------------------------------------------

@login_required
@require_POST
def confirm_delivery(request, pk: int):
    shop_order = get_object_or_404(selectors.buyer_shop_orders(request.user), pk=pk)
    form = DeliveryCodeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the 6-digit delivery code."))
    else:
        try:
            services.confirm_delivery_by_buyer(order=shop_order.order, buyer=request.user,
                                               code=form.cleaned_data["code"], shop_order=shop_order)
        except ValidationError as exc:
            _show_errors(request, exc)
        except ConflictError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Thank you! You confirmed receiving your parcel from %(shop)s.")
                             % {"shop": shop_order.shop.name})
    return redirect(shop_order.order.get_absolute_url())


@login_required
@require_http_methods(["GET", "POST"])
def review_create(request, pk: int):
    shop_order = get_object_or_404(selectors.buyer_shop_orders(request.user), pk=pk)
    form = ReviewForm(_posted(request), request.FILES if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.create_review(shop_order=shop_order, buyer=request.user, **form.cleaned_data)
        except ValidationError as exc:
            copy_errors(form, exc)
        except ConflictError as exc:
            messages.error(request, exc.message)
            return redirect(shop_order.order.get_absolute_url())
        else:
            messages.success(request, _("Thank you for rating %(shop)s.") % {"shop": shop_order.shop.name})
            return redirect(shop_order.order.get_absolute_url())
    return render(request, "logistics/review_form.html", {"so": shop_order, "form": form},
                  status=400 if form.errors else 200)


# --- Shop managers: reviews and replies -------------------------------------------------------------------------------

@login_required
def seller_reviews(request):
    page = _page(request, selectors.reviews_to_reply(request.user), 10)
    return render(request, "logistics/seller_reviews.html", {"page": page, "reviews": page.object_list,
                                                             "reply_form": ReplyForm()})


@login_required
@require_POST
def review_reply(request, pk: int):
    review = get_object_or_404(selectors.reviews_to_reply(request.user), pk=pk)
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            services.reply_to_review(review=review, actor=request.user, text=form.cleaned_data["reply"])
        except ValidationError as exc:
            _show_errors(request, exc)
        except ConflictError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Your reply is published."))
    else:
        messages.error(request, _("Write your reply."))
    return redirect("logistics:seller_reviews")


def shop_reviews(request, slug: str):
    shop = get_object_or_404(public_shops(), slug=slug)
    page = _page(request, selectors.reviews_of_shop(shop), 10)
    return render(request, "logistics/shop_reviews.html", {
        "shop": shop, "rating": selectors.shop_rating(shop), "page": page, "reviews": page.object_list})


# --- Public tracking --------------------------------------------------------------------------------------------------

def track(request):
    """A box to type a parcel code; a valid code goes to its tracking page."""
    form = TrackForm(request.GET or None)
    if request.GET and form.is_valid():
        return redirect("logistics:track_parcel", code=form.cleaned_data["code"])
    return render(request, "logistics/track.html", {"form": form}, status=400 if form.errors else 200)


def track_parcel(request, code: str):
    """Status and events of a parcel, for anyone holding its code: no name, phone, address or note."""
    try:
        canonical = services.parse_parcel_code(code)
    except ValidationError:
        raise Http404("parcel code is not valid")
    if canonical != code:
        return redirect("logistics:track_parcel", code=canonical)
    parcel = selectors.parcel_for_tracking(canonical)
    if parcel is None:
        raise Http404("no such parcel")
    # Newest first: the buyer opens the page to see where the parcel is now.
    events = sorted(parcel.events.all(), key=lambda e: (e.occurred_at, e.pk), reverse=True)
    return render(request, "logistics/track_parcel.html", {
        "parcel": parcel, "events": events, "code_display": codes.display(parcel.code)})

