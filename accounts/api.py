"""Accounts API: tokens (sign in, rotate, sign out, sign out everywhere), register, password, me, addresses.

Thin: validate shape, call a service or selector. Tokens are django-rest-knox's: stored as a hash, each with an
expiry (API_TOKEN_TTL_DAYS), one per device, all revoked by a password change.
"""
from django.conf import settings
from django.contrib.auth import authenticate, update_session_auth_hash, user_logged_in, user_logged_out
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from knox.auth import TokenAuthentication
from rest_framework import generics, permissions, serializers, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import Throttled
from rest_framework.response import Response
from rest_framework.views import APIView

from core import ratelimit
from core.net import client_ip
from core.throttling import ScopedRateThrottle

from . import codes, selectors, services
from .models import Address, User


class TokenRequestSerializer(serializers.Serializer):
    """Either `username` and `password`, or `phone` (or `email`) and the `code` sent to it."""

    username = serializers.CharField(max_length=150, required=False)
    password = serializers.CharField(max_length=128, trim_whitespace=False, required=False,
                                     style={"input_type": "password"})
    phone = serializers.CharField(max_length=20, required=False,
                                  help_text=_("A mainland mobile number, with `code`, instead of a password."))
    email = serializers.EmailField(required=False, help_text=_("An e-mail address, with `code`, instead of a phone."))
    code = serializers.CharField(max_length=12, required=False,
                                 help_text=_("The 6-digit code from `POST /api/v1/auth/sms-code/`."))

    def validate(self, data):
        required = _("This field is required.")
        if {"phone", "email", "code"} & data.keys():
            errors = {}
            if "code" not in data:
                errors["code"] = [required]
            if ("phone" in data) == ("email" in data):
                errors["phone"] = [_("Give either a phone number or an e-mail address.")]
            if {"username", "password"} & data.keys():
                errors["non_field_errors"] = [_("Sign in with a password or with a code, not both.")]
        else:
            errors = {name: [required] for name in ("username", "password") if name not in data}
        if errors:
            raise serializers.ValidationError(errors)
        return data


class SignInCodeSerializer(serializers.Serializer):
    """A mobile number or an e-mail address (one of them) to send a sign-in code to."""

    phone = serializers.CharField(max_length=20, required=False,
                                  help_text=_("A mainland mobile number: a code by SMS."))
    email = serializers.EmailField(required=False, help_text=_("Or an e-mail address: a code by e-mail."))

    def validate(self, data):
        if ("phone" in data) == ("email" in data):
            raise serializers.ValidationError({"phone": [_("Give either a phone number or an e-mail address.")]})
        return data


class SignInCodeSentSerializer(serializers.Serializer):
    detail = serializers.CharField()


class TokenResponseSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_("Send it as `Authorization: Token <token>`; shown this once."))
    expiry = serializers.DateTimeField(allow_null=True, help_text=_("When the token stops working."))


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class RegisterSerializer(serializers.Serializer):
    """`username`, `email` and `password`; or a mainland mobile `phone` (with `display_name`), the rest optional."""

    username = serializers.CharField(max_length=150, required=False, allow_blank=True, default="",
                                     help_text=_("Optional with `phone`: one is made from the number."))
    email = serializers.EmailField(required=False, allow_blank=True, default="",
                                   help_text=_("Optional with `phone`."))
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False, required=False,
                                     allow_blank=True, default="",
                                     help_text=_("Optional with `phone`: the account signs in with codes."))
    role = serializers.ChoiceField(choices=[(r.value, r.label) for r in User.SELF_SERVICE_ROLES])
    display_name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=20, required=False, allow_blank=True, default="",
                                  help_text=_("A mainland mobile number. The account opens when the code sent to it "
                                              "by SMS is exchanged for a token: `POST /api/v1/auth/token/` "
                                              "`{\"phone\", \"code\"}`."))

    def validate(self, data):
        if not data["phone"]:
            required = [_("This field is required.")]
            errors = {name: required for name in ("username", "email", "password") if not data[name]}
            if errors:
                raise serializers.ValidationError(errors)
        return data


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


def _token_response(token: str, expiry) -> dict:
    return {"token": token, "expiry": serializers.DateTimeField().to_representation(expiry) if expiry else None}


class TokenView(AuthThrottled, APIView):
    """Exchange a username and password for a new API token for this device, with its expiry."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=TokenRequestSerializer, responses={200: TokenResponseSerializer},
                   description=_("Sign in with `username` and `password`, or with `phone` (or `email`) and the "
                                 "`code` sent by `POST /api/v1/auth/sms-code/`. The password lockout does not "
                                 "stop a code; a code works once, for a few minutes and a few tries (400 on "
                                 "`code` after that)."))
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "code" in data.validated_data:
            user = codes.sign_in_with_code(**data.validated_data, ip=client_ip(request))
            return self._signed_in(request, user)
        # The plain HttpRequest, so that a lockout flag set by the axes backend reaches its middleware.
        user = authenticate(request._request, **data.validated_data)
        if user is None:
            return Response(
                {"non_field_errors": [_("Unable to sign in with the username and password given.")]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return self._signed_in(request, user)

    def _signed_in(self, request, user):
        token, expiry = services.issue_token(user=user)
        user_logged_in.send(sender=user.__class__, request=request._request, user=user)
        return Response(_token_response(token, expiry))


class SignInCodeView(AuthThrottled, APIView):
    """Send a one-time sign-in code by SMS to a mobile number (or by e-mail to an address), for `POST
    /api/v1/auth/token/` `{"phone", "code"}`. The answer is the same whether or not the number has an account."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=SignInCodeSerializer, responses={202: SignInCodeSentSerializer})
    def post(self, request):
        data = SignInCodeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            codes.send_sign_in_code(**data.validated_data, ip=client_ip(request))
        except codes.CodeRequestsLimited as limited:
            raise Throttled(wait=limited.retry_after)
        return Response({"detail": codes.sent_message(channel="email" if "email" in data.validated_data else "sms")},
                        status=status.HTTP_202_ACCEPTED)


class TokenRefreshView(APIView):
    """Rotate this device's token: a new token with a new expiry; the one used for this request stops working."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={200: TokenResponseSerializer})
    def post(self, request):
        token, expiry = services.rotate_token(token=request.auth)
        return Response(_token_response(token, expiry))


class LogoutView(APIView):
    """Sign this device out: the token used for this request stops working."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.revoke_token(token=request.auth)
        user_logged_out.send(sender=request.user.__class__, request=request._request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    """Sign out everywhere: every API token of the user stops working (a lost phone, a shared tablet)."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.revoke_all_tokens(user=request.user)
        user_logged_out.send(sender=request.user.__class__, request=request._request, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(AuthThrottled, APIView):
    """Change the password. Every API token is revoked; the answer carries a new token for this device."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=PasswordChangeSerializer, responses={200: TokenResponseSerializer})
    def post(self, request):
        data = PasswordChangeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.change_password(user=request.user, **data.validated_data)
        if request.auth is None:  # a browser session: keep it signed in, as the password page does
            update_session_auth_hash(request._request, user)
        token, expiry = services.issue_token(user=user)
        return Response(_token_response(token, expiry))


class RegisterView(AuthThrottled, APIView):
    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(request=RegisterSerializer, responses={201: UserSerializer},
                   description=_("With `phone`, the account waits for the code sent to it by SMS: exchange the "
                                 "code for a token (`POST /api/v1/auth/token/`) to open it."))
    def post(self, request):
        verdict = ratelimit.hit("signup", client_ip(request), settings.RATE_LIMIT_SIGNUP)
        if not verdict.allowed:
            raise Throttled(wait=verdict.retry_after)
        data = RegisterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            user = services.register_user(**data.validated_data, ip=client_ip(request))
        except codes.CodeRequestsLimited as limited:
            raise Throttled(wait=limited.retry_after)
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
