"""Demand board and seller insights pages. Thin: forms check the shape, services write, selectors
scope every read to the user (another buyer's post, or a shop the user does not manage, is a 404)."""
import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from core.forms import copy_errors
from shops.models import Category, Product
from shops.search import CategoryTree
from shops.selectors import shops_managed_by

from . import charts, selectors, services
from .forms import BoardFilterForm, DemandPostForm, OfferForm, PeriodForm

POSTS_PER_PAGE = 20
SUMMARY_ROWS = 100
CHART_ROWS = 10


def _forbidden(request, message: str):
    return render(request, "demand/forbidden.html", {"message": message}, status=403)


def _page(request, queryset):
    return Paginator(queryset, POSTS_PER_PAGE).get_page(request.GET.get("page"))


# --- Demand board ---------------------------------------------------------------------

@login_required
def board(request):
    """A farmer's board (demand summary and open posts, with filters); a buyer's own posts."""
    user = request.user
    if not user.is_farmer:
        return render(request, "demand/my_posts.html", {"page": _page(request, selectors.posts_of_buyer(user))})
    tree = CategoryTree.load()
    form = BoardFilterForm(request.GET or None, tree=tree, provinces=selectors.provinces_with_demand())
    form.is_valid()  # a bad field is shown and ignored; the valid ones still filter
    filters = form.filters()
    summary = _with_unit_labels(list(selectors.demand_summary(**filters)[:SUMMARY_ROWS]))
    for row in summary:
        if row["category_id"]:
            row["category_name"] = Category(name_zh=row["category__name_zh"], name_en=row["category__name_en"]).name
    posts = selectors.filter_posts(selectors.board_posts(user), **filters)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "demand/board.html", {
        "form": form, "summary": summary, "summary_capped": len(summary) == SUMMARY_ROWS,
        "page": _page(request, posts), "query": query.urlencode(),
        "shops": list(shops_managed_by(user).order_by("name").values("slug", "name")),
    })


@login_required
@require_http_methods(["GET", "POST"])
def post_create(request):
    if not request.user.is_buyer:
        return _forbidden(request, _("Only buyers can post what they want to buy."))
    form = DemandPostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            post = services.create_post(buyer=request.user, **form.cleaned_data)
        except ValidationError as exc:
            copy_errors(form, exc)
        else:
            messages.success(request, _("Your request is on the board. Farmers can now send you offers."))
            return redirect(post.get_absolute_url())
    return render(request, "demand/post_form.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def post_detail(request, pk: int):
    """The post; for its buyer the offers, for a farmer their offers and the offer form (POST makes one)."""
    user = request.user
    post = get_object_or_404(selectors.visible_posts(user), pk=pk)
    offer_form = None
    if user.is_farmer:
        offer_form = OfferForm(request.POST or None, products=selectors.products_to_offer(user).select_related("shop"))
        if request.method == "POST" and offer_form.is_valid():
            try:
                services.make_offer(post=post, farmer=user, **offer_form.cleaned_data)
            except ValidationError as exc:
                copy_errors(offer_form, exc)
            else:
                messages.success(request, _("Your offer is sent. The buyer has been told."))
                return redirect(post.get_absolute_url())
    elif request.method == "POST":
        return _forbidden(request, _("Only farmers can answer with an offer."))
    status = 400 if request.method == "POST" else 200
    return render(request, "demand/post_detail.html", {
        "post": post, "offers": selectors.offers_visible_on(post, user), "offer_form": offer_form,
        "mine": post.buyer_id == user.pk,
    }, status=status)


@login_required
@require_POST
def post_close(request, pk: int):
    post = get_object_or_404(selectors.posts_of_buyer(request.user), pk=pk)
    services.close_post(post=post)
    messages.success(request, _("Your request is closed."))
    return redirect(post.get_absolute_url())


# --- Seller insights ------------------------------------------------------------------

@login_required
def insights_index(request):
    shops = list(shops_managed_by(request.user).order_by("name"))
    if len(shops) == 1:
        return redirect("demand:insights", slug=shops[0].slug)
    return render(request, "demand/insights_index.html", {"shops": shops})


def _with_unit_labels(rows: list[dict]) -> list[dict]:
    labels = dict(Product.Unit.choices)
    for row in rows:
        row["unit_label"] = str(labels.get(row["unit"], row["unit"]))
    return rows


def _money(value) -> str:
    return f"¥{value:.2f}"


def _csv_cell(value) -> str:
    """A cell Excel shows as text: typed words that start like a formula are quoted, never run."""
    text = "" if value is None else str(value)
    if text and text[0] in "=+-@\t\r":
        return "'" + text
    return text


def _csv_rows(dataset: str, data: dict) -> tuple[list[str], list[list]]:
    if dataset == "sales":
        return ([_("Week"), _("Week starting"), _("Orders"), _("Units"), _("Revenue (CNY)")],
                [[w["label"], w["monday"].isoformat(), w["orders"], w["units"], f"{w['revenue']:.2f}"]
                 for w in data["weeks"]])
    if dataset == "products":
        return ([_("Product id"), _("Product"), _("Unit"), _("Orders"), _("Units"), _("Revenue (CNY)")],
                [[p["product_id"] or "", p["title"], p["unit_label"], p["orders"], p["units"], f"{p['revenue']:.2f}"]
                 for p in data["products"]])
    return ([_("Search words"), _("Category"), _("Category slug"), _("Searches"), _("Days"), _("Last searched")],
            [[s["query"], s["category_name"], s["category"], s["searches"], s["days"], s["last_day"].isoformat()]
             for s in data["searches"]])


def _csv_response(shop, period, dataset: str, data: dict) -> HttpResponse:
    header, rows = _csv_rows(dataset, data)
    buffer = io.StringIO()
    buffer.write("\ufeff")  # the byte order mark makes Excel read UTF-8 (Chinese) correctly
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([[_csv_cell(cell) for cell in row] for row in rows])
    response = HttpResponse(buffer.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    filename = f"{shop.slug}-{dataset}-{period.start.isoformat()}-{period.end.isoformat()}.csv"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


DATASETS = ("sales", "products", "searches")


@login_required
def insights(request, slug: str):
    shop = selectors.insight_shop(request.user, slug)
    if shop is None:
        raise Http404
    form = PeriodForm(request.GET if ("start" in request.GET or "end" in request.GET) else None)
    period = form.period()
    if not form.is_bound:
        form = PeriodForm(initial={"start": period.start, "end": period.end})  # show the default dates
    wants_csv = request.GET.get("format") == "csv"
    dataset = request.GET.get("dataset", "")
    if wants_csv and (dataset not in DATASETS or (form.is_bound and not form.is_valid())):
        return HttpResponse(_("Choose dataset=sales, products or searches and valid dates."), status=400,
                            content_type="text/plain; charset=utf-8")
    if wants_csv:
        if dataset == "sales":
            data = {"weeks": selectors.sales_by_week(shop, period)}
        elif dataset == "products":
            data = {"products": _with_unit_labels(selectors.sales_by_product(shop, period))}
        else:
            data = {"searches": selectors.shop_searches_without_results(shop, period, limit=None)}
        return _csv_response(shop, period, dataset, data)

    weeks = selectors.sales_by_week(shop, period)
    products = _with_unit_labels(selectors.sales_by_product(shop, period))
    searches = selectors.shop_searches_without_results(shop, period)
    totals = {"orders": sum(w["orders"] for w in weeks), "revenue": sum(w["revenue"] for w in weeks)}
    dates = f"start={period.start.isoformat()}&end={period.end.isoformat()}"
    return render(request, "demand/insights.html", {
        "shop": shop, "form": form, "period": period, "weeks": weeks, "products": products,
        "searches": searches, "buyers": selectors.repeat_buyers(shop, period),
        "rating": selectors.rating(shop, period), "totals": totals, "dates": dates,
        "weeks_chart": charts.svg_bar_chart([(w["label"], w["revenue"], _money(w["revenue"])) for w in weeks],
                                            title=_("Revenue by ISO week")),
        "products_chart": charts.svg_bar_chart(
            [(p["title"], p["revenue"], _money(p["revenue"])) for p in products[:CHART_ROWS]],
            title=_("Revenue by product")),
        "searches_chart": charts.svg_bar_chart(
            [(s["query"], s["searches"], str(s["searches"])) for s in searches[:CHART_ROWS]],
            title=_("Searches that found nothing")),
    })
