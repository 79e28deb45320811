"""Demo trace chains. Most records are written by the flows as the shops, orders and logistics demo data are
loaded (harvest, inputs, packing, station, shipping, delivery); this adds what no flow writes on its own:

- the harvest and input records of lots made before the trace log existed (a lot with no record at all);
- an inspection of each certified demo lot's claim by Farmgate staff, and a quality check by the station
  agent on the lots packed into the agent's parcels.

Idempotent: a lot that already has an inspection record gets no other.
"""
from accounts.models import User
from shops.models import HarvestLot

from . import services
from .models import TraceEvent

NOTES = {
    "organic": "有机产品认证证书核对无误 Organic certificate checked",
    "green_food": "绿色食品标志使用证书核对无误 Green food licence checked",
    "geographical_indication": "地理标志产品产地核对无误 Origin checked against the GI register",
}


def _backfill(lot: HarvestLot) -> None:
    services.record_harvest(lot=lot)
    for application in lot.inputs.order_by("applied_on", "pk"):
        services.record_input(lot=lot, application=application)


def load(out) -> None:
    admin = User.objects.filter(username="admin", is_staff=True).first()
    agent = User.objects.filter(username="agent").first()
    lots = list(HarvestLot.objects.select_related("product", "product__shop__village").order_by("pk"))
    traced = set(TraceEvent.objects.values_list("lot_id", flat=True).distinct())
    inspected = set(TraceEvent.objects.filter(kind=TraceEvent.Kind.INSPECTION).values_list("lot_id", flat=True))
    backfilled = inspections = 0
    for lot in lots:
        if lot.pk not in traced:
            _backfill(lot)
            backfilled += 1
        if lot.pk in inspected:
            continue
        claims = services.certifications_of(lot.product)
        if admin is not None and claims and not lot.phi_violation:
            services.record_inspection(lot=lot, actor=admin, passed=True, certification=claims[0],
                                       note=NOTES[claims[0]])
            inspections += 1
        elif admin is not None and lot.phi_violation:
            services.record_inspection(lot=lot, actor=admin, passed=False,
                                       note="农药安全间隔期未满，不得上市 Pre-harvest interval not respected: "
                                            "not for sale")
            inspections += 1
        elif agent is not None and lot.parcels.exists() and services.can_inspect(agent, lot):
            services.record_inspection(lot=lot, actor=agent, passed=True,
                                       note="到站抽检：外观、重量合格 Spot check at the station: look and weight fine")
            inspections += 1
    out.write(f"Demo traceability: {TraceEvent.objects.count()} trace records; {backfilled} lots backfilled, "
              f"{inspections} inspections recorded.")
