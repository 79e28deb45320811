"""Trace API: the public trace of a lot as JSON, its EPCIS 2.0 export (and a parcel's), and inspections."""
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from shops.seller_views import input_checks

from . import epcis, selectors, services
from .views import certifications, trace_links


class JSONLDRenderer(JSONRenderer):
    media_type = "application/ld+json"
    format = "jsonld"


def _lot_or_404(code: str, *, full: bool = True):
    lot = selectors.lot_for_trace(code) if full else selectors.lot_with_product(code)
    if lot is None:
        raise NotFound(_("No lot has this code; check each character."))
    return lot


def _decimal(value) -> str | None:
    return None if value is None else str(value)


def _time(moment) -> str:
    return timezone.localtime(moment).isoformat()


def trace_json(trace) -> dict:
    """The trace page as data: the same facts, the same omissions (no buyer, no parcel codes)."""
    lot = trace.lot
    product, shop = lot.product, lot.product.shop
    village = shop.village
    check = trace.check
    return {
        "code": lot.code,
        **trace_links(lot),
        "product": {"id": product.pk, "title": product.title, "gtin": product.gtin, "unit": product.unit,
                    "unit_weight_kg": str(product.unit_weight_kg), "origin": product.origin,
                    "certifications": services.certifications_of(product),
                    "certification_labels": certifications(product)},
        "farm": {"slug": shop.slug, "name": shop.name, "kind": shop.kind, "verified": shop.verified,
                 "village": {"name": village.name, "name_en": village.name_en, "township": village.township,
                             "county": village.county, "city": village.city, "province": village.province}},
        "grower": lot.grower.display_name,
        "plot": lot.plot,
        "harvested_on": lot.harvested_on.isoformat(),
        "quantity": lot.quantity,
        "phi_violation": lot.phi_violation,
        "inputs": [{"kind": row.application.kind, "product": row.application.product_name,
                    "applied_on": row.application.applied_on.isoformat(), "dose": row.application.dose,
                    "pre_harvest_interval_days": row.application.pre_harvest_interval_days,
                    "days_before_harvest": row.days_before_harvest, "checked": row.checked,
                    "respected": row.respected} for row in input_checks(lot)],
        "chain": {"verified": check.ok, "records": check.count, "head": check.head,
                  "altered": [{"sequence": p.sequence, "kind": p.kind, "reason": p.reason} for p in check.problems]},
        "events": [{"sequence": e.record.sequence, "kind": e.record.kind, "label": e.record.get_kind_display(),
                    "type": e.record.event_type, "action": e.record.action, "biz_step": e.record.biz_step,
                    "disposition": e.record.disposition, "time": _time(e.record.event_time), "place": e.place,
                    "parcel_number": e.parcel_number, "details": e.details, "sensors": e.sensors,
                    "hash": e.record.hash, "altered": e.altered} for e in trace.entries],
        "events_not_shown": trace.hidden,
        "cold_chain": [{"sensor": s.sensor.name, "shipment": s.sensor.shipment.code, "unit": s.sensor.unit,
                        "min_value": _decimal(s.sensor.min_value), "max_value": _decimal(s.sensor.max_value),
                        "lowest": round(s.low, 2), "highest": round(s.high, 2),
                        "points": [{"time": _time(p.time), "min": round(p.min, 2), "avg": round(p.avg, 2),
                                    "max": round(p.max, 2), "count": p.count} for p in s.points]}
                       for s in trace.cold_chain],
    }


class TraceView(APIView):
    """The public trace of a lot: origin, harvest, inputs, custody records, cold chain and chain verification."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(description="No such lot")})
    def get(self, request, code: str):
        lot = _lot_or_404(code)
        parcel_code = selectors.parcel_code_or_none(request.query_params.get("parcel", ""))
        return Response(trace_json(selectors.trace_of(lot, parcel_code=parcel_code)))


class LotEpcisView(APIView):
    """The lot's trace records as an EPCIS 2.0 document (JSON-LD), valid against the GS1 schema."""

    permission_classes = [permissions.AllowAny]
    renderer_classes = [JSONLDRenderer, JSONRenderer]

    @extend_schema(responses={(200, "application/ld+json"): OpenApiTypes.OBJECT,
                              404: OpenApiResponse(description="No such lot")})
    def get(self, request, code: str):
        lot = _lot_or_404(code, full=False)
        records = selectors.records_of(lot)
        document = epcis.document([r.document for r in records],
                                  document_id=f"{settings.SITE_URL}/api/v1/trace/{lot.code}/epcis/")
        return Response(document)


class ParcelEpcisView(APIView):
    """A parcel's trace records and the history of the lots packed in it, as an EPCIS 2.0 document."""

    permission_classes = [permissions.AllowAny]
    renderer_classes = [JSONLDRenderer, JSONRenderer]

    @extend_schema(responses={(200, "application/ld+json"): OpenApiTypes.OBJECT,
                              404: OpenApiResponse(description="No such parcel")})
    def get(self, request, code: str):
        parcel = selectors.parcel_for_export(code)
        if parcel is None:
            raise NotFound(_("No parcel has this code; check each character."))
        documents = selectors.unique_documents(selectors.parcel_records(parcel))
        return Response(epcis.document(
            documents, document_id=f"{settings.SITE_URL}/api/v1/trace/parcel/{parcel.code}/epcis/"))


class InspectionSerializer(serializers.Serializer):
    passed = serializers.BooleanField(help_text="Whether the lot passed the inspection")
    certification = serializers.ChoiceField(choices=[("", "")] + [(c, c) for c in services.CERTIFICATIONS],
                                            required=False, allow_blank=True, default="",
                                            help_text="The claim inspected, if any")
    note = serializers.CharField(max_length=services.NOTE_MAX, required=False, allow_blank=True, default="")
    certificate_url = serializers.URLField(max_length=200, required=False, allow_blank=True, default="")


class InspectionView(APIView):
    """Record an inspection (or certification check) of a lot: Farmgate staff or the village station's agent."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=InspectionSerializer, responses={201: OpenApiTypes.OBJECT, 403: OpenApiResponse(),
                                                            404: OpenApiResponse(description="No such lot")})
    def post(self, request, code: str):
        lot = _lot_or_404(code, full=False)
        data = InspectionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = services.record_inspection(lot=lot, actor=request.user, **data.validated_data)
        return Response({"sequence": record.sequence, "kind": record.kind, "hash": record.hash,
                         "event": record.document}, status=status.HTTP_201_CREATED)
