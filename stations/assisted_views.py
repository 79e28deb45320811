"""The agent's "order for a villager" pages: the villager and the produce, a confirm screen with the total, then
the order page (what to collect in cash, what happens next, the pickup). Thin: stations.assisted does the work."""
import secrets

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ConflictError
from core.forms import copy_errors
from logistics.services import TooManyAttempts
from logistics.views import agent_required
from orders.states import awaits_cash
from shops.models import Product

from . import assisted
from .assisted_forms import QUANTITY_PREFIX, PickupForm, VillagerForm, picked_quantities

PAGE_SIZE = 20
PLACE_ONCE_SECONDS = 60 * 60


@agent_required
def villager_orders(request, station):
    """The orders to collect at the station, newest first; ?phone= finds a villager's."""
    phone = request.GET.get("phone", "").strip()[:20]
    orders = assisted.station_orders(request.user).prefetch_related("shop_orders")
    if phone:
        orders = orders.filter(phone__contains=phone)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(order, awaits_cash(order), assisted.cash_due(order)) for order in page.object_list]
    return render(request, "stations/assisted_list.html", {
        "station": station, "page": page, "rows": rows, "phone": phone})


def _form_page(request, station, form, picked: dict[int, int], *, query: str = "", problems=(), status=200):
    """The first step: the villager, the produce picked so far, and products matching the search."""
    chosen = {p.pk: p for p in Product.objects.filter(pk__in=list(picked)).select_related("shop", "shop__village")}
    chosen_rows = [(chosen[pk], picked[pk]) for pk in picked if pk in chosen]
    found = [p for p in assisted.search_catalogue(station, query) if p.pk not in picked]
    return render(request, "stations/assisted_new.html", {
        "station": station, "form": form, "chosen_rows": chosen_rows, "found": found, "query": query,
        "problems": problems, "prefix": QUANTITY_PREFIX}, status=status)


def _place_once_key(request) -> str:
    """The cache key of the confirm screen's token: a second tap on "Place the order" (or the form sent again) finds
    it taken and places nothing more. "" for a post without a token."""
    token = request.POST.get("token", "").strip()[:64]
    return f"stations:villager-order:{request.user.pk}:{token}" if token else ""


def _lines(picked: dict[int, int]) -> list[dict]:
    return [{"product": pk, "quantity": quantity} for pk, quantity in picked.items()]


@agent_required
@require_http_methods(["GET", "POST"])
def villager_order_new(request, station):
    """Search and pick (action=search, or edit from the confirm screen), check the total (review), then place the
    order (place). Every step posts the whole form, so nothing typed is lost between them."""
    if request.method == "GET":
        return _form_page(request, station, VillagerForm(), {})
    picked, problems = picked_quantities(request.POST)
    query = request.POST.get("q", "").strip()[:100]
    action = request.POST.get("action", "")
    if action not in ("review", "place"):
        # Searching: the typed values come back as they were, without errors for fields not filled in yet.
        form = VillagerForm(initial={name: request.POST.get(name, "") for name in VillagerForm.base_fields})
        return _form_page(request, station, form, picked, query=query, problems=problems)
    form = VillagerForm(request.POST)
    if not picked and not problems:
        problems = [_("Choose at least one product.")]
    if not form.is_valid() or problems:
        return _form_page(request, station, form, picked, query=query, problems=problems, status=400)
    data = form.cleaned_data
    try:
        if action == "review":
            quote = assisted.quote_lines(station=station, lines=_lines(picked))
            return render(request, "stations/assisted_confirm.html", {
                "station": station, "form": form, "quote": quote, "prefix": QUANTITY_PREFIX,
                "pickup_line": assisted.pickup_line(station), "token": secrets.token_urlsafe(16)})
        token_key = _place_once_key(request)
        if token_key and not cache.add(token_key, "", PLACE_ONCE_SECONDS):
            messages.info(request, _("This order was already sent."))
            number = cache.get(token_key)
            return redirect(reverse("stations:villager_order", args=[number]) if number
                            else reverse("stations:villager_orders"))
        try:
            order = assisted.place_order_for_villager(agent=request.user, buyer_phone=data["buyer_phone"],
                                                      buyer_name=data["buyer_name"], lines=_lines(picked))
        except Exception:
            if token_key:
                cache.delete(token_key)  # nothing was placed: the agent may correct it and try again
            raise
        if token_key:
            cache.set(token_key, order.number, PLACE_ONCE_SECONDS)
    except ValidationError as exc:
        copy_errors(form, exc)  # buyer_phone, buyer_name; lines above the form
        return _form_page(request, station, form, picked, query=query, status=400)
    except ConflictError as exc:
        return _form_page(request, station, form, picked, query=query, problems=[exc.message], status=409)
    messages.success(request, _("Order %(number)s is placed. Collect ¥%(total)s in cash.")
                     % {"number": order.number, "total": order.total})
    return redirect("stations:villager_order", number=order.number)


def _station_order(request, number: str):
    order = assisted.station_order_detail(request.user).filter(number=number).first()
    if order is None:
        raise Http404("no such order at this station")
    return order


def _order_page(request, station, order, pickup_form=None, status=200):
    ready = assisted.parcels_to_hand_over(order)
    parcels = [getattr(so, "parcel", None) for so in order.shop_orders.all()]
    return render(request, "stations/assisted_order.html", {
        "station": station, "order": order, "cash_due": assisted.cash_due(order), "awaits_cash": awaits_cash(order),
        "ready": ready, "parcels": [p for p in parcels if p is not None],
        "pickup_form": pickup_form or PickupForm()}, status=status)


@agent_required
def villager_order(request, station, number: str):
    return _order_page(request, station, _station_order(request, number))


@agent_required
@require_POST
def villager_pickup(request, station, number: str):
    """The villager takes a parcel: their code, and the cash if the order is not paid yet."""
    order = _station_order(request, number)
    form = PickupForm(request.POST)
    if form.is_valid():
        try:
            part = assisted.hand_over_to_villager(agent=request.user, order=order, code=form.cleaned_data["code"],
                                                  cash_collected=form.cleaned_data["cash_collected"])
        except ObjectDoesNotExist:
            raise Http404("no such order at this station")
        except ValidationError as exc:
            copy_errors(form, exc)
        except TooManyAttempts as exc:
            return _order_page(request, station, _station_order(request, number), _with_error(form, exc.message),
                               status=429)
        except ConflictError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Handed over: the parcel from %(shop)s.") % {"shop": part.shop.name})
            return redirect("stations:villager_order", number=order.number)
    return _order_page(request, station, _station_order(request, number), form, status=400)


def _with_error(form, message: str):
    form.add_error(None, message)
    return form


@agent_required
@require_POST
def villager_cash(request, station, number: str):
    """The villager pays now, before the parcels arrive."""
    order = _station_order(request, number)
    try:
        payment = assisted.collect_cash(agent=request.user, order=order)
    except ConflictError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("¥%(amount)s in cash recorded.") % {"amount": payment.amount})
    return redirect("stations:villager_order", number=order.number)
