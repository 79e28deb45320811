"""API requests made by an agent for a farmer: `on_behalf_of=<farmer id>` in the query or the body.

Listed first in DEFAULT_AUTHENTICATION_CLASSES. Without `on_behalf_of` it steps aside (the next classes
authenticate as always). With it, it authenticates the caller with those same classes, checks that the caller is an
agent who may act for that farmer now (stations.selectors.acting_farmer: station, village, consent) and that the
endpoint is one of the farmer's shop, product, lot or seller-order endpoints, then answers with the farmer as
the request's user and keeps the agent as `request.actor`. Anything else is a 403 whose detail says why.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.settings import api_settings

from . import selectors
from .acting import PARAMETER, is_behalf_endpoint


def _requested_farmer(request) -> str | None:
    value = request.query_params.get(PARAMETER)
    if value is None and request.method not in ("GET", "HEAD", "OPTIONS"):
        data = request.data
        if hasattr(data, "get"):
            value = data.get(PARAMETER)
    return None if value in (None, "") else str(value)


class OnBehalfAuthentication(BaseAuthentication):
    def _wrapped(self) -> list[BaseAuthentication]:
        return [cls() for cls in api_settings.DEFAULT_AUTHENTICATION_CLASSES if not issubclass(cls, type(self))]

    def authenticate(self, request):
        farmer_id = _requested_farmer(request)
        if farmer_id is None:
            return None
        for authenticator in self._wrapped():
            result = authenticator.authenticate(request)
            if result is not None:
                break
        else:
            raise exceptions.NotAuthenticated()
        agent, auth = result
        if not is_behalf_endpoint(request.path_info if hasattr(request, "path_info") else request.path):
            raise exceptions.PermissionDenied(_("on_behalf_of works only on the shop, product, lot and seller-order "
                                                "endpoints."))
        try:
            farmer = selectors.acting_farmer(actor=agent, farmer_id=farmer_id)
        except DjangoPermissionDenied as exc:
            raise exceptions.PermissionDenied(str(exc)) from None
        request.actor = agent
        request._request.actor = agent  # the Django request, where ActingForMiddleware records the write
        return farmer, auth

    def authenticate_header(self, request):
        for authenticator in self._wrapped():
            header = authenticator.authenticate_header(request)
            if header:
                return header
        return None


class OnBehalfAuthenticationScheme(OpenApiAuthenticationExtension):
    """No security scheme of its own: the caller authenticates with a token or a session as always, and
    `on_behalf_of` is a parameter of the endpoints that take it (API.md)."""

    target_class = OnBehalfAuthentication
    name: list = []

    def get_security_requirement(self, auto_schema):
        return None

    def get_security_definition(self, auto_schema):
        return []
