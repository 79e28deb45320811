"""The allowed status changes of pre-orders, buying groups and group members, in one place.

Every status change in presales goes through `move_preorder` / `move_group` / `move_member`: an illegal
change raises ConflictError (HTTP 409 in the API, a message on a page), never a silent write. The orders
a pre-order or a group place made follow orders.states; a pre-sale itself has no status (it is open, closed
or cancelled by its own flags). None of these tables has a way back.
"""
from django.utils.translation import gettext as _

from core.errors import ConflictError

from .models import BuyingGroup, GroupMember, PreOrder

PS = PreOrder.Status
GS = BuyingGroup.Status
MS = GroupMember.Status

PREORDER_TRANSITIONS: dict[str, set[str]] = {
    # Authorised on the card, paid in full (Alipay, WeChat Pay, a card on the pay page), or switched to cash.
    PS.PENDING: {PS.AUTHORISED, PS.PAID, PS.CASH, PS.CANCELLED},
    # Captured when the farm ships, or the authorisation had lapsed by then: the buyer is asked to pay.
    PS.AUTHORISED: {PS.PAID, PS.PAYMENT_DUE, PS.CANCELLED},
    PS.PAYMENT_DUE: {PS.PAID, PS.CANCELLED},
    # A live pre-order may be cancelled until it leaves the farm (services.release_preorder checks that).
    PS.PAID: {PS.CANCELLED},
    PS.CASH: {PS.CANCELLED},
    PS.CANCELLED: set(),
}

GROUP_TRANSITIONS: dict[str, set[str]] = {
    GS.OPEN: {GS.FILLED, GS.FAILED},
    GS.FILLED: set(),
    GS.FAILED: set(),
}

MEMBER_TRANSITIONS: dict[str, set[str]] = {
    # Pending -> confirmed without an authorisation only when its order has already shipped (paid in full).
    MS.PENDING: {MS.AUTHORISED, MS.CONFIRMED, MS.RELEASED},
    MS.AUTHORISED: {MS.CONFIRMED, MS.RELEASED},
    MS.CONFIRMED: set(),
    MS.RELEASED: set(),
}


def can_move(table: dict[str, set[str]], current: str, target: str) -> bool:
    return target in table.get(current, set())


def move_preorder(preorder: PreOrder, target: str) -> None:
    """Set a new status in memory; the caller saves inside its transaction (with the row locked)."""
    if not can_move(PREORDER_TRANSITIONS, preorder.status, target):
        raise ConflictError(_("This pre-order cannot go from “%(current)s” to “%(target)s”.")
                            % {"current": preorder.get_status_display(), "target": PS(target).label},
                            code="illegal_transition")
    preorder.status = target


def move_group(group: BuyingGroup, target: str) -> None:
    if not can_move(GROUP_TRANSITIONS, group.status, target):
        raise ConflictError(_("Group %(code)s cannot go from “%(current)s” to “%(target)s”.")
                            % {"code": group.code, "current": group.get_status_display(),
                               "target": GS(target).label},
                            code="illegal_transition")
    group.status = target


def move_member(member: GroupMember, target: str) -> None:
    if not can_move(MEMBER_TRANSITIONS, member.status, target):
        raise ConflictError(_("This place in the group cannot go from “%(current)s” to “%(target)s”.")
                            % {"current": member.get_status_display(), "target": MS(target).label},
                            code="illegal_transition")
    member.status = target
