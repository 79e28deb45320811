"""The allowed status changes of a subscription, in one place.

Every change goes through `move_subscription`: an illegal one raises ConflictError (HTTP 409 in the API, a
message on a page). A cancelled subscription has no way back (subscribe again instead).
"""
from django.utils.translation import gettext as _

from core.errors import ConflictError

from .models import Subscription

SS = Subscription.Status

SUBSCRIPTION_TRANSITIONS: dict[str, set[str]] = {
    SS.ACTIVE: {SS.PAUSED, SS.CANCELLED},
    SS.PAUSED: {SS.ACTIVE, SS.CANCELLED},
    SS.CANCELLED: set(),
}


def can_move_subscription(subscription: Subscription, target: str) -> bool:
    return target in SUBSCRIPTION_TRANSITIONS.get(subscription.status, set())


def is_live(subscription: Subscription) -> bool:
    """Active or paused: it holds a place in the box's capacity."""
    return bool(SUBSCRIPTION_TRANSITIONS.get(subscription.status))


def move_subscription(subscription: Subscription, target: str) -> None:
    if not can_move_subscription(subscription, target):
        raise ConflictError(
            _("This standing order cannot go from “%(current)s” to “%(target)s”.")
            % {"current": subscription.get_status_display(), "target": SS(target).label},
            code="illegal_transition")
    subscription.status = target
