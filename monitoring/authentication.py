"""`Authorization: Device <key>`: a sensor posting its readings, throttled per sensor."""
from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from .models import KEY_PREFIX_LENGTH, Sensor


def sensor_for_key(key: str) -> Sensor | None:
    """The sensor whose current key this is, or None for an unknown, wrong or revoked key."""
    if not key or len(key) <= KEY_PREFIX_LENGTH:
        return None
    sensor = Sensor.objects.filter(key_prefix=key[:KEY_PREFIX_LENGTH]).first()
    if sensor is None or not sensor.key_active or not sensor.key_matches(key):
        return None
    return sensor


class DeviceKeyAuthentication(authentication.BaseAuthentication):
    """request.auth is the Sensor; request.user stays anonymous, so a device key opens nothing else."""

    keyword = "Device"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Send the header as: Authorization: Device <key>."))
        try:
            key = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("This device key is not valid."))
        sensor = sensor_for_key(key)
        if sensor is None:
            raise exceptions.AuthenticationFailed(_("This device key is not valid or has been revoked."))
        return AnonymousUser(), sensor

    def authenticate_header(self, request):
        return self.keyword


class IsDevice(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, Sensor)


class SensorRateThrottle(throttling.SimpleRateThrottle):
    """Requests per sensor (scope "device"), whatever address they come from."""

    scope = "device"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, Sensor):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class DeviceKeyScheme(OpenApiAuthenticationExtension):
    """Shows `Authorization: Device <key>` in the OpenAPI schema."""

    target_class = DeviceKeyAuthentication
    name = "deviceKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": _("The sensor's device key: `Device <key>`.")}
