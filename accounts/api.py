"""Accounts API: token, register, me, addresses. Thin: validate shape, call a service or selector."""
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, permissions, serializers, status, viewsets
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from . import selectors, services
from .models import Address, User


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class RegisterSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField()
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    role = serializers.ChoiceField(choices=[(r.value, r.label) for r in User.SELF_SERVICE_ROLES])
    display_name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ("id", "username", "role", "email", "display_name", "phone", "date_joined")
        read_only_fields = ("id", "username", "role", "date_joined")


class AddressSerializer(serializers.ModelSerializer):
    class Meta:
        model = Address
        fields = ("id", "name", "phone", "province", "city", "district", "line", "postal_code", "is_default")
        read_only_fields = ("id",)


class AuthThrottled:
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "auth"


class TokenView(AuthThrottled, APIView):
    """Exchange a username and password for an API token."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=TokenRequestSerializer,
        responses={200: inline_serializer("TokenResponse", {"token": serializers.CharField()})},
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The plain HttpRequest, so that a lockout flag set by the axes backend reaches its middleware.
        user = authenticate(request._request, **data.validated_data)
        if user is None:
            return Response(
                {"non_field_errors": [_("Unable to sign in with the username and password given.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


class RegisterView(AuthThrottled, APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=RegisterSerializer, responses={201: UserSerializer})
    def post(self, request):
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.register_user(**data.validated_data)
        return Response(
            {"id": user.id, "username": user.username, "role": user.role}, status=status.HTTP_201_CREATED
        )


class MeView(generics.RetrieveUpdateAPIView):
    serializer_class = UserSerializer
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        return self.request.user

    def perform_update(self, serializer):
        serializer.instance = services.update_profile(user=self.request.user, **serializer.validated_data)


class AddressViewSet(viewsets.ModelViewSet):
    """The signed-in user's delivery addresses; another user's address is a 404."""

    serializer_class = AddressSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        return selectors.addresses_for(self.request.user)

    def perform_create(self, serializer):
        serializer.instance = services.create_address(user=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.update_address(address=serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete_address(address=instance)
