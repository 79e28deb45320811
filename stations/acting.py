"""Acting for a farmer: where it is allowed, how a successful write is recognised, and how it is recorded.

An agent acts for a farmer on the farmer's seller pages (HTML: "act for" started from the farmer's page, kept in
the session) and on the shop, product, lot and seller-order endpoints of the API (`on_behalf_of=<farmer id>` in
the query or the body). There the request's user is the farmer, so every existing permission check applies to the
farmer's own shops, and `request.actor` is the agent. Elsewhere (buyer pages, the money pages, shop members,
anything of the agent's own) nothing is swapped. The middleware below writes one ActivityEntry per successful
write made this way.
"""
from __future__ import annotations

import re

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from . import selectors, services

SESSION_KEY = "stations_acting_for"
PARAMETER = "on_behalf_of"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# The farmer's seller pages (shops.urls_seller, orders' and logistics' /seller/orders/ pages): not the money pages,
# not the members of a shop (adding the agent as a member would outlive the consent).
_PAGES = re.compile(r"^/seller/(?:$|open-shop/$|shops/|products/|photos/|lots/|orders/)")
_API = re.compile(r"^/api/v1/(?:shops/|products/|lots/|seller/orders/)")
_NEVER = re.compile(r"/members/")


def is_seller_page(path: str) -> bool:
    return bool(_PAGES.match(path)) and not _NEVER.search(path)


def is_behalf_endpoint(path: str) -> bool:
    return bool(_API.match(path)) and not _NEVER.search(path)


def _succeeded(request: HttpRequest, response: HttpResponse) -> bool:
    """An API write answered below 400; a page write redirected (post/redirect/get), or a fetch got its fragment.
    A form shown again with its errors (200) changed nothing and is not recorded."""
    status = response.status_code
    if request.path_info.startswith("/api/"):
        return 200 <= status < 400
    if 300 <= status < 400:
        # Some seller pages redirect after a refusal too (accept an order that can no longer be accepted): an
        # error message queued by this request means nothing was done.
        return not _refused_here(request)
    return 200 <= status < 300 and bool(request.headers.get("X-Fragment") or request.headers.get("HX-Request"))


def _refused_here(request: HttpRequest) -> bool:
    queued = getattr(getattr(request, "_messages", None), "_queued_messages", [])
    return any(message.level >= messages.ERROR for message in queued)


def _label(response: HttpResponse) -> str:
    data = getattr(response, "data", None)
    if isinstance(data, dict):
        for key in ("title", "name", "code", "number"):
            if isinstance(data.get(key), str | int):
                return str(data[key])
    return ""


class ActingForMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware: swaps the user on the seller pages while the agent acts
    for a farmer (consent checked on every request), and records every successful write made for a farmer (pages
    here, API through stations.auth.OnBehalfAuthentication, which sets `actor` on the request)."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        farmer_id = session.get(SESSION_KEY) if session is not None else None
        if farmer_id is not None:
            self._start(request, farmer_id)
        response = self.get_response(request)
        actor = getattr(request, "actor", None)
        if actor is not None and request.method in WRITE_METHODS and _succeeded(request, response):
            match = request.resolver_match
            services.record_activity(owner=request.user, actor=actor, method=request.method,
                                     path=request.get_full_path(), view_name=match.view_name if match else "",
                                     label=_label(response))
        return response

    def _start(self, request: HttpRequest, farmer_id) -> None:
        agent = request.user
        if not agent.is_authenticated:
            return
        try:
            farmer = selectors.acting_farmer(actor=agent, farmer_id=farmer_id)
        except PermissionDenied as exc:
            # Consent withdrawn (or the station changed) since acting began: stop at once, and say why.
            request.session.pop(SESSION_KEY, None)
            messages.warning(request, str(exc))
            return
        request.acting_for = farmer
        if is_seller_page(request.path_info):
            request.actor = agent
            request.user = farmer
