"""Who may see and act for which assisted farmer: the one place that says it.

An agent sees the farmers registered at their station. An agent acts for a farmer only while all of these hold,
checked again on every request, so a withdrawal or a change of station takes effect at once:
- the agent is active at the farmer's station,
- that station still serves the farmer's village,
- the farmer's consent is given (not pending, not withdrawn).
Any agent of the station may act, so a farmer keeps being served when the agent who registered them leaves.
"""
from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from logistics.selectors import agent_station

from .models import ActivityEntry, AssistedFarmer


def farmers_of_agent(user: User) -> QuerySet[AssistedFarmer]:
    """The assisted farmers of the user's station (none for anyone but an active agent), newest first."""
    station = agent_station(user)
    if station is None:
        return AssistedFarmer.objects.none()
    return (AssistedFarmer.objects.filter(station=station)
            .select_related("farmer", "village", "registered_by").order_by("-created_at", "-id"))


def assisted_record_of(user: User) -> AssistedFarmer | None:
    """The user's own record as an assisted farmer, or None."""
    if not user.is_authenticated:
        return None
    return (AssistedFarmer.objects.filter(farmer=user)
            .select_related("station", "village", "registered_by").first())


def acting_farmer(*, actor: User, farmer_id) -> User:
    """The farmer `actor` may act for now, or PermissionDenied saying why not (an unknown id says the same as a
    farmer of another station, so ids reveal nothing)."""
    try:
        farmer_id = int(farmer_id)
    except (TypeError, ValueError):
        raise PermissionDenied(_("on_behalf_of must be the id of a farmer of your station.")) from None
    station = agent_station(actor)
    if station is None:
        raise PermissionDenied(_("Only a village agent can act on behalf of a farmer."))
    record = (AssistedFarmer.objects.filter(farmer_id=farmer_id, station=station, farmer__is_active=True)
              .select_related("farmer").first())
    if record is None:
        raise PermissionDenied(_("This farmer is not registered at your station."))
    if not station.villages.filter(pk=record.village_id).exists():
        raise PermissionDenied(_("Your station no longer serves this farmer's village."))
    if record.consent == AssistedFarmer.Consent.WITHDRAWN:
        raise PermissionDenied(_("This farmer has withdrawn their consent; you can no longer act for them."))
    if record.consent != AssistedFarmer.Consent.GIVEN:
        raise PermissionDenied(_("This farmer has not given consent yet: confirm it with the SMS code or a "
                                 "signed form first."))
    return record.farmer


def can_act_for(*, actor: User, farmer_id) -> bool:
    try:
        acting_farmer(actor=actor, farmer_id=farmer_id)
    except PermissionDenied:
        return False
    return True


def activity_of(owner: User) -> QuerySet[ActivityEntry]:
    """What was done for the owner by others, newest first, with the actor."""
    if not owner.is_authenticated:
        return ActivityEntry.objects.none()
    return ActivityEntry.objects.filter(owner=owner).select_related("actor").order_by("-created_at", "-id")
