"""Sensor and alert pages for their owners. Thin: selectors read, services write."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors, services
from .charts import svg_line_chart
from .forms import SensorForm
from .models import Alert

PAGE_SIZE = 20


@login_required
def sensor_list(request):
    page = Paginator(selectors.sensors_for(request.user), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "monitoring/sensor_list.html", {"page": page})


@login_required
@require_http_methods(["GET", "POST"])
def sensor_create(request):
    form = SensorForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        kind, target = form.attachment()
        data = form.cleaned_data
        try:
            sensor, key = services.create_sensor(
                user=request.user, name=data["name"], kind=data["kind"], unit=data["unit"], attached_kind=kind,
                attached_id=target, plot=data["plot"], min_value=data["min_value"], max_value=data["max_value"])
        except ValidationError as exc:
            for name, errors in exc.message_dict.items():
                name = "attach" if name == "attached_to" else name
                form.add_error(name if name in form.fields else None, errors)
        else:
            # The key is shown in this response only: it is not stored, so no redirect can show it again.
            return render(request, "monitoring/sensor_key.html", {"sensor": sensor, "key": key, "created": True},
                          status=201)
    return render(request, "monitoring/sensor_form.html", {"form": form})


@login_required
def sensor_detail(request, pk: int):
    sensor = get_object_or_404(selectors.sensors_for(request.user), pk=pk)
    range_name = request.GET.get("range", "day")
    if range_name not in selectors.CHART_RANGES:
        range_name = "day"
    end = timezone.now()
    start = end - selectors.CHART_RANGES[range_name]
    points = selectors.chart_for_sensor(sensor, range_name, now=end)
    chart = svg_line_chart(points, sensor.min_value, sensor.max_value, width=400, height=220, start=start,
                           end=end, unit=sensor.unit, title=sensor.name)
    return render(request, "monitoring/sensor_detail.html", {
        "sensor": sensor, "chart": chart, "range_name": range_name, "ranges": _range_links(),
        "open_alert": selectors.open_alert_of(sensor), "alerts": selectors.recent_alerts(sensor),
        "point_count": len(points),
    })


def _range_links() -> list[tuple[str, str]]:
    return [("day", _("Last day")), ("week", _("Last week")), ("month", _("Last month"))]


@login_required
@require_POST
def sensor_revoke(request, pk: int):
    sensor = get_object_or_404(selectors.sensors_for(request.user), pk=pk)
    services.revoke_sensor_key(sensor=sensor)
    messages.success(request, _("The device key is revoked: the sensor can no longer send readings."))
    return redirect(sensor)


@login_required
@require_POST
def sensor_rotate(request, pk: int):
    sensor = get_object_or_404(selectors.sensors_for(request.user), pk=pk)
    key = services.rotate_sensor_key(sensor=sensor)
    return render(request, "monitoring/sensor_key.html", {"sensor": sensor, "key": key, "created": False})


@login_required
def alert_list(request):
    state = request.GET.get("state", "open")
    if state not in ("open", "closed", "all"):
        state = "open"
    alerts = selectors.alerts_for(request.user, state).order_by("-started_at", "-id")
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    states = [(key, label, key == state) for key, label in (("open", _("Open")), ("closed", _("Closed")),
                                                            ("all", _("All")))]
    return render(request, "monitoring/alert_list.html",
                  {"page": page, "state": state, "states": states, "too_high": Alert.Kind.TOO_HIGH})
