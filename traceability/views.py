"""The public lot page /t/<code>, its QR codes, and the identifiers that resolve to it.

Only what a buyer may know is shown: product, farm, village, the grower's display name, harvest, inputs,
the custody chain and the cold chain. Never a phone number, an email address or anything about buyers;
parcels are numbered, their codes are not listed (a buyer may narrow the page to theirs with ?parcel=).
"""
from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

from core import codes
from logistics.models import Station
from monitoring.charts import svg_line_chart
from monitoring.models import Sensor
from shops.models import Shop
from shops.seller_views import input_checks

from . import epcis, qr, selectors


def trace_identifier(lot) -> str:
    """What the QR code carries: the GS1 Digital Link for a product with a GTIN, else the page's address."""
    return epcis.lot_identifier(lot) if lot.product.gtin else lot.trace_url


def certifications(product) -> list[str]:
    return [str(product._meta.get_field(name).verbose_name) for name in ("organic", "green_food",
                                                                         "geographical_indication")
            if getattr(product, name)]


def _charts(trace) -> list[dict]:
    charts = []
    for series in trace.cold_chain:
        sensor = series.sensor
        title = _("%(sensor)s, shipment %(shipment)s") % {"sensor": sensor.name, "shipment": sensor.shipment.code}
        charts.append({"series": series, "title": title,
                       "svg": svg_line_chart(series.points, sensor.min_value, sensor.max_value, unit=sensor.unit,
                                             title=title)})
    return charts


@require_safe
def lot_page(request, code: str):
    lot = selectors.lot_for_trace(code)
    if lot is None:
        # A mistyped code (wrong check character) and an unknown one are simply not a page.
        raise Http404("no such lot")
    trace = selectors.trace_of(lot, parcel_code=selectors.parcel_code_or_none(request.GET.get("parcel", "")))
    product, shop = lot.product, lot.product.shop
    village = shop.village
    chinese = (get_language() or "").startswith("zh")
    return render(request, "traceability/lot.html", {
        "lot": lot, "product": product, "shop": shop, "village": village,
        "village_name": village.name if chinese or not village.name_en else f"{village.name_en} ({village.name})",
        "grower_name": lot.grower.display_name,
        "code_display": codes.display(lot.code),
        "checks": input_checks(lot),
        "certifications": certifications(product),
        "trace": trace, "check": trace.check, "charts": _charts(trace),
        "identifier": trace_identifier(lot),
    })


def _lot_or_404(code: str):
    lot = selectors.lot_with_product(code)
    if lot is None:
        raise Http404("no such lot")
    return lot


@require_safe
@cache_control(public=True, max_age=86400)
def lot_qr_svg(request, code: str):
    lot = _lot_or_404(code)
    return HttpResponse(qr.svg(trace_identifier(lot)), content_type="image/svg+xml")


@require_safe
@cache_control(public=True, max_age=86400)
def lot_qr_png(request, code: str):
    lot = _lot_or_404(code)
    return HttpResponse(qr.png(trace_identifier(lot)), content_type="image/png")


# --- Identifiers that resolve ---------------------------------------------------------------------------------------

@require_safe
def digital_link(request, gtin: str, lot_code: str):
    """GS1 Digital Link /01/<GTIN-14>/10/<lot>: to the lot's trace page, when that product has that GTIN."""
    if len(gtin) != 14 or not gtin.isdigit():
        raise Http404("not a GTIN-14")
    lot = selectors.lot_for_digital_link(epcis.gtin_variants(gtin), lot_code)
    if lot is None:
        raise Http404("no such lot")
    return redirect(lot.trace_path)


@require_safe
def lot_object(request, code: str):
    lot = _lot_or_404(code)
    return redirect(lot.trace_path)


@require_safe
def parcel_object(request, code: str):
    parcel = selectors.parcel_for_export(code)
    if parcel is None:
        raise Http404("no such parcel")
    return redirect("logistics:track_parcel", code=parcel.code)


@require_safe
def farm_location(request, slug: str):
    shop = get_object_or_404(Shop, slug=slug)
    return redirect(shop.get_absolute_url())


@require_safe
def station_location(request, pk: int):
    """A station as a place in trace records: its public name and the villages it serves."""
    station = get_object_or_404(Station.objects.prefetch_related("villages"), pk=pk)
    return JsonResponse({"id": epcis.station_uri(station.pk), "type": "Place", "name": station.name,
                         "villages": [v.name for v in station.villages.all()]},
                        json_dumps_params={"ensure_ascii": False})


@require_safe
def sensor_object(request, pk: int):
    """A sensor as a device in trace records: what it measures, never its key or owner."""
    sensor = get_object_or_404(Sensor, pk=pk)
    return JsonResponse({"id": epcis.sensor_uri(sensor.pk), "type": "Device", "name": sensor.name,
                         "kind": sensor.kind, "unit": sensor.unit}, json_dumps_params={"ensure_ascii": False})


def trace_links(lot) -> dict:
    """Absolute links shared by the page and the JSON twin."""
    base = settings.SITE_URL
    return {
        "trace_url": lot.trace_url,
        "identifier": trace_identifier(lot),
        "qr_svg": base + reverse("traceability:qr_svg", args=[lot.code]),
        "qr_png": base + reverse("traceability:qr_png", args=[lot.code]),
        "epcis": base + reverse("api-trace-epcis", args=[lot.code]),
    }
