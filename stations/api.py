"""The agent's farmers and the farmer's record of what was done for them, under /api/v1/.

Thin: serializers check the shape, selectors scope the rows (another station's farmer is a 404), services write.
A farmer's id here is their user id: the same id goes in `on_behalf_of`.
"""
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from logistics.selectors import agent_station

from . import selectors, services
from .activity import describe
from .models import ActivityEntry, AssistedFarmer


class FarmerSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="farmer_id", read_only=True)
    name = serializers.CharField(source="farmer.display_name", read_only=True)
    phone = serializers.CharField(source="farmer.phone", read_only=True)
    village = serializers.IntegerField(source="village_id", read_only=True)
    village_name = serializers.CharField(source="village.name", read_only=True)
    registered_by = serializers.CharField(source="registered_by.__str__", read_only=True)
    has_id_photo = serializers.SerializerMethodField()

    class Meta:
        model = AssistedFarmer
        fields = ("id", "name", "phone", "village", "village_name", "consent", "consent_method",
                  "consent_given_at", "consent_withdrawn_at", "registered_by", "has_id_photo", "created_at")
        read_only_fields = fields

    def get_has_id_photo(self, record: AssistedFarmer) -> bool:
        return bool(record.id_photo)


class RegisterFarmerSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    phone = serializers.CharField(max_length=30)
    village = serializers.IntegerField(min_value=1)
    id_photo = serializers.FileField(required=False)
    consent_paper = serializers.FileField(required=False, help_text=gettext_lazy(
        "A photo of the signed consent form: consent is given at once and no code is sent."))


class ConsentSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=12, required=False)
    consent_paper = serializers.FileField(required=False)

    def validate(self, attrs):
        if not attrs.get("code") and not attrs.get("consent_paper"):
            raise serializers.ValidationError({"code": [_("Enter the 6-digit code the farmer received.")]})
        return attrs


class ActorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="__str__")


class ActivitySerializer(serializers.ModelSerializer):
    action = serializers.SerializerMethodField()
    object = serializers.CharField(source="label")
    actor = ActorSerializer()

    class Meta:
        model = ActivityEntry
        fields = ("id", "action", "object", "method", "path", "view_name", "actor", "created_at")
        read_only_fields = fields

    def get_action(self, entry: ActivityEntry) -> str:
        return describe(entry)


class AgentFarmerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                         viewsets.GenericViewSet):
    """The farmers of the agent's station: register one, confirm their consent, send a new code."""

    serializer_class = FarmerSerializer
    permission_classes = [permissions.IsAuthenticated]
    lookup_field = "farmer_id"
    lookup_url_kwarg = "pk"
    lookup_value_regex = "[0-9]+"
    filterset_class = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.action != "withdraw" and agent_station(request.user) is None:
            raise PermissionDenied(_("Only a village agent can list and register farmers."))

    def get_queryset(self):
        return selectors.farmers_of_agent(self.request.user)

    @extend_schema(request=RegisterFarmerSerializer, responses={201: FarmerSerializer})
    def create(self, request, *args, **kwargs):
        data = RegisterFarmerSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = services.register_farmer(agent=request.user, **data.validated_data)
        return Response(FarmerSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ConsentSerializer, responses={200: FarmerSerializer})
    @action(detail=True, methods=["post"])
    def consent(self, request, pk=None):
        record = self.get_object()
        data = ConsentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data.get("consent_paper"):
            record = services.record_paper_consent(record=record, agent=request.user,
                                                   photo=data.validated_data["consent_paper"])
        else:
            record = services.confirm_consent(record=record, agent=request.user, code=data.validated_data["code"])
        return Response(FarmerSerializer(self.get_queryset().get(pk=record.pk)).data)

    @extend_schema(request=None, responses={202: None})
    @action(detail=True, methods=["post"])
    def code(self, request, pk=None):
        services.send_consent_code(record=self.get_object(), agent=request.user)
        return Response(status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: FarmerSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """The farmer withdraws their consent (an agent cannot do it for them)."""
        record = get_object_or_404(AssistedFarmer.objects.select_related("farmer", "village", "registered_by"),
                                   farmer_id=pk)
        if record.farmer_id != request.user.pk:
            if selectors.farmers_of_agent(request.user).filter(pk=record.pk).exists():
                raise PermissionDenied(_("Only the farmer can withdraw their consent."))
            raise Http404
        record = services.withdraw_consent(record=record, farmer=request.user)
        return Response(FarmerSerializer(record).data)


class MyActivityView(generics.ListAPIView):
    """Everything done on the signed-in user's behalf, newest first, each with who did it."""

    serializer_class = ActivitySerializer
    permission_classes = [permissions.IsAuthenticated]
    filterset_class = None

    def get_queryset(self):
        return selectors.activity_of(self.request.user)
