"""The hash chain of a lot's trace records, and its verification.

Each record's hash is SHA-256 over a canonical serialisation (sorted keys, compact separators,
UTF-8) of its content (every column that says what happened, the EPCIS event itself) plus the
previous record's hash. Changing any record, removing one, or reordering them breaks either the
record's own hash or the link from the next one, and `verify` names the first record affected.
"""
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.translation import gettext_lazy as _

from .models import GENESIS_HASH


def normalise(value):
    """The value as it reads back from a JSON column: plain JSON types, and whole floats as ints.

    PostgreSQL's jsonb keeps 5.0 as written but other paths may give 5; hashing the normalised form
    makes the hash independent of that.
    """
    value = json.loads(json.dumps(value, cls=DjangoJSONEncoder))
    return _ints(value)


def _ints(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def canonical(value) -> bytes:
    return json.dumps(_ints(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      cls=DjangoJSONEncoder).encode("utf-8")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def content_of(*, lot_code: str, parcel_code: str | None, sequence: int, kind: str, event_id: str,
               event_type: str, action: str, biz_step: str, disposition: str, event_time: datetime,
               event_timezone_offset: str, read_point: str, biz_location: str, document: dict,
               recorded_at: datetime) -> dict:
    return {
        "lot": lot_code, "parcel": parcel_code, "sequence": sequence, "kind": kind, "eventID": event_id,
        "type": event_type, "action": action, "bizStep": biz_step, "disposition": disposition,
        "eventTime": _utc(event_time), "eventTimeZoneOffset": event_timezone_offset, "readPoint": read_point,
        "bizLocation": biz_location, "event": document, "recordTime": _utc(recorded_at),
    }


def content_of_row(row, lot_code: str) -> dict:
    """The hashed content of a stored TraceEvent (its parcel, if any, must be loaded with it)."""
    return content_of(
        lot_code=lot_code, parcel_code=row.parcel.code if row.parcel_id else None, sequence=row.sequence,
        kind=row.kind, event_id=row.event_id, event_type=row.event_type, action=row.action, biz_step=row.biz_step,
        disposition=row.disposition, event_time=row.event_time, event_timezone_offset=row.event_timezone_offset,
        read_point=row.read_point, biz_location=row.biz_location, document=row.document,
        recorded_at=row.recorded_at)


def hash_of(content: dict, previous_hash: str) -> str:
    return hashlib.sha256(canonical({"content": content, "previous": previous_hash})).hexdigest()


REASONS = {
    "content": _("its content no longer matches its hash"),
    "link": _("it does not follow the record before it"),
    "missing": _("a record before it is missing"),
}


@dataclass(frozen=True)
class Problem:
    sequence: int
    kind: str
    event_pk: int
    reason: str  # a key of REASONS

    @property
    def reason_text(self) -> str:
        return str(REASONS[self.reason])


@dataclass
class ChainCheck:
    """The verdict on one lot's chain: intact, or the records that were altered."""

    count: int = 0
    head: str = GENESIS_HASH
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        return self.problems[0] if self.problems else None

    @property
    def altered_pks(self) -> set[int]:
        return {p.event_pk for p in self.problems}


def verify(rows: Iterable, lot_code: str) -> ChainCheck:
    """Check a lot's records, given in sequence order (with their parcels loaded)."""
    check = ChainCheck()
    previous, expected = GENESIS_HASH, 1
    for row in rows:
        check.count += 1
        if row.sequence != expected:
            check.problems.append(Problem(row.sequence, row.kind, row.pk, "missing"))
        elif row.previous_hash != previous:
            check.problems.append(Problem(row.sequence, row.kind, row.pk, "link"))
        if hash_of(content_of_row(row, lot_code), row.previous_hash) != row.hash:
            check.problems.append(Problem(row.sequence, row.kind, row.pk, "content"))
        # Follow the stored links, so one altered record is reported once, not with all after it.
        previous, expected = row.hash, row.sequence + 1
    check.head = previous
    return check
