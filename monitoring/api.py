"""Monitoring API: the user's sensors and alerts, and readings posted by devices. Thin."""
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core.parsers import JSONParser

from . import selectors, services
from .authentication import DeviceKeyAuthentication, IsDevice, SensorRateThrottle
from .models import Alert, Sensor

ALERT_STATES = ("open", "closed", "all")


class AttachedToSerializer(serializers.Serializer):
    """What a new sensor is on, named by what the other endpoints return: a shop's `slug` (from /shops/), a
    station's `id` (from /stations/), a shipment's `code` or `id` (from /shipments/)."""

    kind = serializers.ChoiceField(choices=Sensor.Attachment.choices)
    shop = serializers.SlugField(max_length=60, required=False,
                                 help_text=_("The slug of a shop you manage, for a sensor on one of its plots."))
    shipment = serializers.CharField(max_length=20, required=False,
                                     help_text=_("The code of a shipment of your station."))
    id = serializers.IntegerField(required=False, min_value=1, max_value=2**62,
                                  help_text=_("The station id (cold store) or shipment id; a shop's id also works."))
    plot = serializers.CharField(max_length=80, required=False, allow_blank=True, default="",
                                 help_text=_("The plot or field, for a sensor on a shop's plot."))

    def validate(self, data):
        if not ({"shop", "shipment", "id"} & set(data)):
            raise serializers.ValidationError(
                _("Name what the sensor is on: a shop's slug (plot), a station's id (cold store), or a shipment's "
                  "code or id."))
        return data


class AlertSerializer(serializers.ModelSerializer):
    sensor_name = serializers.CharField(source="sensor.name", read_only=True)
    is_open = serializers.BooleanField(read_only=True)

    class Meta:
        model = Alert
        fields = ("id", "sensor", "sensor_name", "kind", "threshold", "started_at", "ended_at", "first_value",
                  "worst_value", "reading_count", "is_open")
        read_only_fields = fields


class OpenAlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = ("id", "kind", "threshold", "started_at", "first_value", "worst_value", "reading_count")
        read_only_fields = fields


class SensorSerializer(serializers.ModelSerializer):
    attached_to = serializers.SerializerMethodField()
    latest = serializers.SerializerMethodField()
    open_alert = serializers.SerializerMethodField()
    key_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = Sensor
        fields = ("id", "name", "kind", "unit", "min_value", "max_value", "attached_to", "key_prefix", "key_active",
                  "latest", "open_alert", "created_at")
        read_only_fields = fields

    @extend_schema(responses=inline_serializer("AttachedTo", {
        "kind": serializers.CharField(), "id": serializers.IntegerField(), "name": serializers.CharField(),
        "plot": serializers.CharField(required=False, help_text=_("For a plot: the plot or field.")),
        "shop": serializers.CharField(required=False, help_text=_("For a plot: the shop's slug.")),
        "shipment": serializers.CharField(required=False, help_text=_("For a shipment: its code."))}))
    def get_attached_to(self, sensor: Sensor) -> dict:
        if sensor.shop_id:
            return {"kind": "plot", "id": sensor.shop_id, "plot": sensor.plot, "name": sensor.shop.name,
                    "shop": sensor.shop.slug}
        if sensor.station_id:
            return {"kind": "cold_store", "id": sensor.station_id, "name": sensor.station.name}
        return {"kind": "shipment", "id": sensor.shipment_id, "name": sensor.shipment.code,
                "shipment": sensor.shipment.code}

    @extend_schema(responses=inline_serializer("LatestReading", {
        "time": serializers.DateTimeField(), "value": serializers.FloatField()}))
    def get_latest(self, sensor: Sensor) -> dict | None:
        if sensor.last_reading_at is None:
            return None
        return {"time": serializers.DateTimeField().to_representation(sensor.last_reading_at),
                "value": sensor.last_value}

    @extend_schema(responses=OpenAlertSerializer(allow_null=True))
    def get_open_alert(self, sensor: Sensor) -> dict | None:
        alert = selectors.open_alert_of(sensor)
        return OpenAlertSerializer(alert).data if alert else None


class SensorWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    kind = serializers.ChoiceField(choices=Sensor.Kind.choices)
    unit = serializers.ChoiceField(choices=Sensor.Unit.choices)
    min_value = serializers.DecimalField(max_digits=9, decimal_places=2, required=False, allow_null=True)
    max_value = serializers.DecimalField(max_digits=9, decimal_places=2, required=False, allow_null=True)
    attached_to = AttachedToSerializer()


class SensorUpdateSerializer(SensorWriteSerializer):
    attached_to = None  # a sensor stays where it was attached; make a new one to move it


class SensorWithKeySerializer(SensorSerializer):
    key = serializers.CharField(read_only=True, help_text=_("The device key, shown this once."))

    class Meta(SensorSerializer.Meta):
        fields = (*SensorSerializer.Meta.fields, "key")


class SensorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The signed-in user's sensors; another user's sensor is a 404."""

    serializer_class = SensorSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return selectors.sensors_for(self.request.user)

    def _with_key(self, sensor: Sensor, key: str) -> dict:
        sensor = self.get_queryset().get(pk=sensor.pk)
        return {**SensorSerializer(sensor).data, "key": key}

    @extend_schema(request=SensorWriteSerializer, responses={201: SensorWithKeySerializer})
    def create(self, request):
        data = SensorWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        attached = fields.pop("attached_to")
        sensor, key = services.create_sensor(user=request.user, attached_kind=attached["kind"],
                                             attached_id=attached.get("id"), plot=attached.get("plot", ""),
                                             shop_slug=attached.get("shop", ""),
                                             shipment_code=attached.get("shipment", ""), **fields)
        return Response(self._with_key(sensor, key), status=status.HTTP_201_CREATED)

    @extend_schema(request=SensorUpdateSerializer, responses=SensorSerializer)
    def partial_update(self, request, pk=None):
        sensor = self.get_object()
        data = SensorUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.update_sensor(sensor=sensor, **data.validated_data)
        return Response(SensorSerializer(self.get_queryset().get(pk=sensor.pk)).data)

    @extend_schema(request=None, responses=SensorSerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        """Revoke the device key: the sensor's posts are refused (401) until the key is rotated."""
        sensor = services.revoke_sensor_key(sensor=self.get_object())
        return Response(SensorSerializer(sensor).data)

    @extend_schema(request=None, responses=SensorWithKeySerializer)
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request, pk=None):
        """A new device key, shown this once; the old key stops working."""
        sensor = self.get_object()
        key = services.rotate_sensor_key(sensor=sensor)
        return Response(self._with_key(sensor, key))


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    """Alerts of the user's sensors, newest first: `?state=open` (default), `closed` or `all`."""

    serializer_class = AlertSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        state = self.request.query_params.get("state", "open") if self.action == "list" else "all"
        if state not in ALERT_STATES:
            raise serializers.ValidationError({"state": [_("Choose open, closed or all.")]})
        return selectors.alerts_for(self.request.user, state).order_by("-started_at", "-id")

    @extend_schema(parameters=[OpenApiParameter("state", enum=ALERT_STATES, default="open")])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


class ReadingsView(APIView):
    """Readings from a sensor, `Authorization: Device <key>`: one `{"time","value"}` or `{"readings":[...]}`.

    Up to 1000 per batch; any malformed row rejects the whole batch (400 names the rows);
    readings already stored for the same time are skipped and counted as duplicates.
    """

    authentication_classes = [DeviceKeyAuthentication]
    permission_classes = [IsDevice]
    throttle_classes = [SensorRateThrottle]
    parser_classes = [JSONParser]

    @extend_schema(
        request=inline_serializer("ReadingBatch", {"readings": serializers.ListField(child=inline_serializer(
            "ReadingIn", {"time": serializers.DateTimeField(), "value": serializers.FloatField()}))}),
        responses={201: inline_serializer("ReadingsAccepted", {
            "accepted": serializers.IntegerField(), "duplicates": serializers.IntegerField()})},
    )
    def post(self, request):
        try:
            result = services.record_readings(sensor=request.auth, payload=request.data)
        except services.ReadingsInvalid as exc:
            raise serializers.ValidationError(exc.errors)
        return Response({"accepted": result.accepted, "duplicates": result.duplicates},
                        status=status.HTTP_201_CREATED)
