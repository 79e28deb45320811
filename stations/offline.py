"""The agent's offline queue: actions taken on the phone without a connection, applied once when it returns.

Each action carries an id the phone made (a UUID). A batch is applied in the order sent, each action in
its own transaction through logistics.services.apply_station_action, which records it under that id: a
replay, or the same action posted twice at once, finds the record and changes nothing. Every action is
done by the same service the online page calls (receive_parcel, deliver_parcel, collect_cash,
record_shipment_event; the cash collected lands in the station's drawer through ledger's booking of the
payment). What the station refuses (a wrong code, a parcel of another station, a parcel already
received) is answered for that action alone; the others still apply.

Action shapes (`args`):
- receive: {"parcel": "<parcel code>"}
- deliver: {"parcel": "<parcel code>", "delivery_code": "<6 digits>", "cash_collected": false}
- collect_cash: {"parcel": "<parcel code>"}
- shipment_event: {"shipment": <id>, "kind": "departed"|"arrived"|"out_for_delivery"|"delivered"|"exception",
  "location": "", "note": "", "problem": "", "parcels": ["<parcel code>", ...]}
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import ConflictError
from logistics import selectors as logistics_selectors
from logistics import services as logistics_services
from logistics.models import Parcel, StationAction
from logistics.services import ActionRefused

MAX_ACTIONS = 100  # per batch; the phone sends a longer queue in several batches
# The phone's own id for an action: a UUID, or any short token of letters, digits, "-" and "_".
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

APPLIED, DUPLICATE, REJECTED = "applied", "duplicate", "rejected"
SECRET_ARGS = {"delivery_code"}


class ActionResult(TypedDict):
    id: str | None
    status: str
    detail: str


# --- Reading an action's details --------------------------------------------------------------------------------------

def _text(args: Mapping, name: str, *, required: bool = False, limit: int = 300) -> str:
    value = args.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ActionRefused(_("“%(field)s” must be text.") % {"field": name})
    value = str(value).strip()
    if required and not value:
        raise ActionRefused(_("“%(field)s” is missing.") % {"field": name})
    if len(value) > limit:
        raise ActionRefused(_("“%(field)s” is too long.") % {"field": name})
    return value


def _agent_parcel(agent: User, args: Mapping) -> Parcel:
    raw = _text(args, "parcel", required=True, limit=200)
    code = _refusing(lambda: logistics_services.parse_parcel_code(raw))
    parcel = logistics_selectors.parcels_for_agent(agent).filter(code=code).first()
    if parcel is None:
        raise ActionRefused(_("No parcel %(code)s at your station.") % {"code": code})
    return parcel


def _refusing(call: Callable[[], Any], not_found: str = "") -> Any:
    """Run a service call; what the station refuses becomes an ActionRefused with the service's own words."""
    try:
        return call()
    except ValidationError as exc:
        raise ActionRefused(" ".join(str(m) for m in exc.messages))
    except ConflictError as exc:
        raise ActionRefused(exc.message)
    except PermissionDenied as exc:
        raise ActionRefused(str(exc) or _("You are not allowed to do this."))
    except ObjectDoesNotExist:
        raise ActionRefused(not_found or _("Not found at your station."))


# --- One function per kind --------------------------------------------------------------------------------------------

def _receive(agent: User, args: Mapping) -> str:
    raw = _text(args, "parcel", required=True, limit=200)
    code = _refusing(lambda: logistics_services.parse_parcel_code(raw))
    parcel = _refusing(lambda: logistics_services.receive_parcel(actor=agent, code=code),
                       not_found=_("No parcel %(code)s is expected at your station.") % {"code": code})
    return _("Parcel %(code)s received.") % {"code": parcel.code}


def _deliver(agent: User, args: Mapping) -> str:
    parcel = _agent_parcel(agent, args)
    delivery_code = _text(args, "delivery_code", required=True, limit=12)
    cash_collected = args.get("cash_collected", False)
    if not isinstance(cash_collected, bool):
        raise ActionRefused(_("“%(field)s” must be true or false.") % {"field": "cash_collected"})
    _refusing(lambda: logistics_services.deliver_parcel(parcel=parcel, actor=agent, code=delivery_code,
                                                        cash_collected=cash_collected))
    return _("Parcel %(code)s is delivered.") % {"code": parcel.code}


def _collect_cash(agent: User, args: Mapping) -> str:
    parcel = _agent_parcel(agent, args)
    payment = _refusing(lambda: logistics_services.collect_cash(parcel=parcel, actor=agent))
    return _("¥%(amount)s in cash recorded.") % {"amount": payment.amount}


def _shipment_event(agent: User, args: Mapping) -> str:
    raw = _text(args, "shipment", required=True, limit=20)
    shipment = None
    if raw.isdigit():
        shipment = logistics_selectors.shipments_for_agent(agent).filter(pk=int(raw)).first()
    if shipment is None:
        raise ActionRefused(_("No shipment %(shipment)s at your station.") % {"shipment": raw})
    parcels = args.get("parcels") or []
    if not isinstance(parcels, list) or not all(isinstance(code, str) for code in parcels):
        raise ActionRefused(_("“%(field)s” must be a list of parcel codes.") % {"field": "parcels"})
    events = _refusing(lambda: logistics_services.record_shipment_event(
        shipment=shipment, actor=agent, kind=_text(args, "kind", required=True, limit=20),
        location=_text(args, "location", limit=120), note=_text(args, "note", limit=300),
        problem=_text(args, "problem", limit=10), parcel_codes=parcels or None))
    return _("Recorded for %(count)d parcel(s).") % {"count": len(events)}


HANDLERS: dict[str, Callable[[User, Mapping], str]] = {
    StationAction.Kind.RECEIVE: _receive,
    StationAction.Kind.DELIVER: _deliver,
    StationAction.Kind.COLLECT_CASH: _collect_cash,
    StationAction.Kind.SHIPMENT_EVENT: _shipment_event,
}


# --- The queue --------------------------------------------------------------------------------------------------------

def _refused(client_id: str | None, detail: str) -> ActionResult:
    return {"id": client_id, "status": REJECTED, "detail": detail}


def apply_action(*, agent: User, action: Any) -> ActionResult:
    """Apply one queued action (once), or say why it cannot be."""
    if not isinstance(action, dict):
        return _refused(None, _("Each action must be an object with an id, a kind and its details."))
    client_id = action.get("id")
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        shown = client_id if isinstance(client_id, str) else None
        return _refused(shown[:64] if shown else None,
                        _("The action has no valid id (up to 64 letters, digits, “-” or “_”)."))
    kind, args = action.get("kind"), action.get("args", {})
    handler = HANDLERS.get(kind) if isinstance(kind, str) else None

    def apply() -> str:
        # Refusals of the shape are recorded like any other, so a replay is answered the same way.
        if handler is None:
            raise ActionRefused(_("Unknown kind of action: use receive, deliver, collect_cash or shipment_event."))
        if not isinstance(args, dict):
            raise ActionRefused(_("The details of the action (“args”) must be an object."))
        return handler(agent, args)

    # The buyer's delivery code is a secret: the record keeps what was done, not the code.
    kept_args = {k: v for k, v in args.items() if k not in SECRET_ARGS} if isinstance(args, dict) else {}
    record, first = logistics_services.apply_station_action(
        agent=agent, client_id=client_id, kind=kind if isinstance(kind, str) else "", args=kept_args, apply=apply)
    if first or record.status == StationAction.Status.REJECTED:
        return {"id": client_id, "status": record.status, "detail": record.detail}
    return {"id": client_id, "status": DUPLICATE,
            "detail": _("Already applied: %(detail)s") % {"detail": record.detail}}


def apply_actions(*, agent: User, actions: list) -> list[ActionResult]:
    """Apply a batch in the order sent; one answer per action, in the same order."""
    return [apply_action(agent=agent, action=action) for action in actions]
