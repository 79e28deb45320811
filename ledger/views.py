"""Money pages: a seller's balance, entries, payouts and statements; the payout account; an agent's cash.
Thin: selectors scope every read (another shop's money is a 404), services write."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import ConflictError
from core.forms import copy_errors
from shops.models import Shop

from . import selectors, services
from .api import csv_response
from .forms import CashCountForm, PayoutAccountForm, RemitForm
from .models import CashCount, CashRemittance, JournalEntry, Payout, PayoutAccount
from .statements import statement_csv

PER_PAGE = 20
LATEST = 10  # entries on the balance page (a phone screen or two); the API and the statements have them all


def _shop(request, slug=None):
    try:
        return selectors.shop_for(request.user, slug or request.GET.get("shop"))
    except ObjectDoesNotExist:
        raise Http404()


def _with_labels(rows, field: str, choices) -> list:
    """Rows with `label`, their choice's display text, translated once per request (not once per row)."""
    labels = {value: str(label) for value, label in choices}
    rows = list(rows)
    for row in rows:
        row.label = labels.get(getattr(row, field), "")
    return rows


@login_required
def balance(request):
    """The seller's money: balances, the latest entries (each with its order), the latest payouts."""
    shops = selectors.managed_shops_list(request.user)
    wanted = request.GET.get("shop")
    shop = next((s for s in shops if s.slug == wanted or not wanted), None) or _shop(request)
    summary = selectors.money_summary(shop)
    latest = selectors.latest_entry_rows(shop, LATEST + 1)
    kinds = {value: str(label) for value, label in JournalEntry.Kind.choices}
    order_link = reverse("orders:seller_order", args=[0])[:-2]  # "/seller/orders/", reversed once per page
    for row in latest:
        row["label"] = kinds.get(row["kind"], "")
        row["link"] = f"{order_link}{row['shop_order_id']}/" if row["shop_order_id"] else ""
    return render(request, "ledger/balance.html", {
        "shop": shop, "balance": summary, "rate": summary["rate"], "has_account": summary["has_account"],
        "entries": latest[:LATEST], "more_entries": len(latest) > LATEST, "shops": shops,
        "payouts": _with_labels(selectors.payouts_of(shop)[:5], "status", Payout.Status.choices),
    })


@login_required
def entries(request):
    """Every entry of the shop, newest first, a page at a time."""
    shop = _shop(request)
    page = Paginator(selectors.seller_entries(shop), PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = _with_labels(page.object_list, "kind", JournalEntry.Kind.choices)
    return render(request, "ledger/entries.html", {"shop": shop, "page": page})


@login_required
def payouts(request):
    shop = _shop(request)
    page = Paginator(selectors.payouts_of(shop), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "ledger/payouts.html", {"shop": shop, "page": page})


@login_required
def payout(request, pk: int):
    """A payout's statement: the sales, commission, refunds and adjustments it paid (prints on one page)."""
    item = get_object_or_404(selectors.payouts_for(request.user), pk=pk)
    return render(request, "ledger/statement.html", {"payout": item, "entries": selectors.statement_entries(item)})


@login_required
def payout_csv(request, pk: int):
    item = get_object_or_404(selectors.payouts_for(request.user), pk=pk)
    return csv_response(statement_csv(item), f"statement-{item.number}.csv")


@login_required
@require_http_methods(["GET", "POST"])
def payout_account(request, slug: str):
    shop = _shop(request, slug)
    account = PayoutAccount.objects.filter(shop=shop).first()
    form = PayoutAccountForm(request.POST or None,
                             initial={"holder": account.holder, "bank": account.bank} if account else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.set_payout_account(shop=shop, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            copy_errors(form, exc)
        except PermissionDenied:
            raise Http404()
        else:
            messages.success(request, _("The payout account is saved."))
            return redirect(f"{request.path}")
    return render(request, "ledger/payout_account.html", {"shop": shop, "account": account, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def agent_cash(request):
    """The agent's drawer: what the station holds, handing cash over, and the end-of-day count."""
    try:
        station = services.station_of_agent(request.user)
    except PermissionDenied:
        raise Http404()
    count_form = CashCountForm(request.POST if "count" in request.POST else None, prefix="count")
    remit_form = RemitForm(request.POST if "remit" in request.POST else None, prefix="remit")
    if request.method == "POST":
        try:
            if "count" in request.POST and count_form.is_valid():
                counted = services.record_cash_count(agent=request.user, **count_form.cleaned_data)
                messages.success(request, _("Count saved: difference ¥%(d)s.") % {"d": counted.difference})
                return redirect(request.path)
            if "remit" in request.POST and remit_form.is_valid():
                services.remit_cash(agent=request.user, amount=remit_form.cleaned_data["amount"])
                messages.success(request, _("Remittance recorded; staff confirm it when they receive the cash."))
                return redirect(request.path)
        except ValidationError as exc:
            copy_errors(count_form if "count" in request.POST else remit_form, exc)
        except ConflictError as exc:
            (count_form if "count" in request.POST else remit_form).add_error(None, exc.message)
    return render(request, "ledger/agent_cash.html", {
        "station": station, "cash": selectors.cash_position(station), "count_form": count_form,
        "remit_form": remit_form,
        "remittances": list(selectors.remittances_of(station.pk)[:10]),
        "counts": list(CashCount.objects.filter(station=station).order_by("-created_at", "-id")[:5]),
    })


# --- Staff ------------------------------------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def staff_money(request):
    """Staff: run payouts, export a batch, mark transfers paid or failed, adjust a balance, confirm station cash."""
    if not request.user.is_staff:
        raise Http404()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            _staff_action(request, action)
        except (ValidationError, ConflictError) as exc:
            text = exc.message if isinstance(exc, ConflictError) else " ".join(exc.messages)
            messages.error(request, text)
        except ObjectDoesNotExist:
            messages.error(request, _("Not found."))
        return redirect(request.path)
    return render(request, "ledger/staff.html", {
        "batches": list(selectors.batches()[:10]),
        "scheduled": list(Payout.objects.filter(status=Payout.Status.SCHEDULED).select_related("shop")
                          .order_by("created_at", "id")[:100]),
        "failed": list(Payout.objects.filter(status=Payout.Status.FAILED).select_related("shop")
                       .order_by("-failed_at", "-id")[:20]),
        "remittances": list(CashRemittance.objects.filter(status=CashRemittance.Status.PENDING)
                            .select_related("station", "agent").order_by("created_at")[:50]),
        "period": services.current_period(),
    })


def _staff_action(request, action: str) -> None:
    data, user = request.POST, request.user
    if action == "run":
        batch, made = services.run_payouts(actor=user)
        messages.success(request, _("Batch %(period)s: %(n)d new payout(s).") % {"period": batch.period, "n": made})
    elif action == "paid":
        payout = Payout.objects.get(pk=data.get("payout") or 0)
        services.mark_payout_paid(payout=payout, actor=user, reference=data.get("reference", ""))
        messages.success(request, _("Payout %(number)s is paid.") % {"number": payout.number})
    elif action == "failed":
        payout = Payout.objects.get(pk=data.get("payout") or 0)
        services.mark_payout_failed(payout=payout, actor=user, reason=data.get("reason", ""))
        messages.success(request, _("Payout %(number)s failed; the money is back in the shop's balance.")
                         % {"number": payout.number})
    elif action == "adjust":
        shop = Shop.objects.get(slug=data.get("shop", ""))
        services.adjust_balance(shop=shop, actor=user, amount=data.get("amount", ""), reason=data.get("reason", ""),
                                direction=data.get("direction", "credit"))
        messages.success(request, _("The adjustment is booked."))
    elif action == "confirm":
        remittance = CashRemittance.objects.get(pk=data.get("remittance") or 0)
        services.confirm_remittance(remittance=remittance, actor=user)
        messages.success(request, _("The cash is confirmed."))
