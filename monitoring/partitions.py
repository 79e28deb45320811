"""Monthly partitions of the readings table on PostgreSQL: made ahead, dropped when expired.

`monitoring_reading` is `PARTITION BY RANGE (time)` (migration 0003): partition `monitoring_reading_pYYYYMM`
holds the calendar month YYYY-MM in UTC, [first day 00:00, first day of the next month), and
`monitoring_reading_default` takes a reading no month partition covers (a late upload for a month never made,
or a clock far ahead), so no reading is ever refused for want of a partition.

- ensure_partitions(now): every month from last month to READINGS_PARTITIONS_AHEAD months ahead exists. A month
  is made as a plain table and attached (ATTACH takes a lighter lock on the parent than CREATE ... PARTITION
  OF); if the default partition already holds readings of that month, they are moved into it first, with the
  default partition locked against inserts meanwhile.
- drop_expired(now): a month partition entirely older than READINGS_RETENTION_DAYS is detached and dropped,
  which is instant whatever its size (no row-by-row DELETE, no table bloat); readings that old in the default
  partition are deleted. A month is dropped once all of it is past the retention, so readings are kept for at
  least the retention and at most a month more.

SQLite (the embedded default) has no partitions: drop_expired deletes expired rows; ensure_partitions does nothing.
Hourly rollups (ReadingHourly) are kept when readings expire.
"""
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction

from .models import Reading

TABLE = Reading._meta.db_table
DEFAULT = f"{TABLE}_default"
NAME = re.compile(rf"^{TABLE}_p(\d{{4}})(\d{{2}})$")


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def previous_month(month: datetime) -> datetime:
    return datetime(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1, tzinfo=UTC)


def partition_name(month: datetime) -> str:
    return f"{TABLE}_p{month:%Y%m}"


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [TABLE])
        return cursor.fetchone() is not None


def month_partitions() -> dict[datetime, str]:
    """The month partitions attached now: month start -> table name, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = %s::regclass", [TABLE])
        names = [row[0] for row in cursor.fetchall()]
    months = {}
    for name in names:
        match = NAME.match(name)
        if match:
            months[datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)] = name
    return dict(sorted(months.items()))


@dataclass
class Maintenance:
    created: list[str]
    dropped: list[str]
    moved_from_default: int = 0
    deleted_from_default: int = 0


def _create_month(cursor, month: datetime) -> int:
    """Make one month's partition; returns how many readings were moved into it from the default partition."""
    name, following = partition_name(month), next_month(month)
    cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS)")
    # Inserts into the default partition wait until the month is attached, so none is deleted unseen.
    cursor.execute(f"LOCK TABLE {DEFAULT} IN SHARE ROW EXCLUSIVE MODE")
    move = f"WITH moved AS (DELETE FROM {DEFAULT} WHERE time >= %s AND time < %s RETURNING *) "  # noqa: S608
    cursor.execute(f"{move}INSERT INTO {name} SELECT * FROM moved", [month, following])  # noqa: S608
    moved = cursor.rowcount
    # DDL takes no bound parameters, and a direct connection binds them on the server: merged here instead.
    cursor.execute(connection.ops.compose_sql(
        f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [month, following]))
    return moved


def ensure_months(first: datetime, last: datetime) -> Maintenance:
    """Every month from the one of `first` to the one of `last` has its partition (before a bulk load of history,
    say); months that exist are left alone."""
    result = Maintenance(created=[], dropped=[])
    if not is_partitioned():
        return result
    month, last = month_start(first), month_start(last)
    with transaction.atomic():
        existing = month_partitions()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as in drop_expired
            while month <= last:
                if month not in existing:
                    result.moved_from_default += _create_month(cursor, month)
                    result.created.append(partition_name(month))
                month = next_month(month)
    return result


def ensure_partitions(now: datetime | None = None, ahead: int | None = None) -> Maintenance:
    """Months from last month to `ahead` months after this one exist (READINGS_PARTITIONS_AHEAD by default)."""
    ahead = settings.READINGS_PARTITIONS_AHEAD if ahead is None else ahead
    this_month = month_start(now or datetime.now(UTC))
    last = this_month
    for _ in range(ahead):
        last = next_month(last)
    return ensure_months(previous_month(this_month), last)


def retention_cutoff(now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=settings.READINGS_RETENTION_DAYS)


def drop_expired(now: datetime | None = None) -> Maintenance:
    """Drop month partitions wholly older than the retention; delete older readings elsewhere."""
    cutoff = retention_cutoff(now)
    result = Maintenance(created=[], dropped=[])
    if not is_partitioned():
        result.deleted_from_default, _ = Reading.objects.filter(time__lt=cutoff).delete()
        return result
    with transaction.atomic(), connection.cursor() as cursor:
        # DDL refuses a table with deferred foreign-key checks pending (readings written earlier in a caller's
        # transaction): run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for month, name in month_partitions().items():
            if next_month(month) <= cutoff:
                cursor.execute(f"ALTER TABLE {TABLE} DETACH PARTITION {name}")
                cursor.execute(f"DROP TABLE {name}")
                result.dropped.append(name)
        cursor.execute(f"DELETE FROM {DEFAULT} WHERE time < %s", [cutoff])  # noqa: S608 (our table name)
        result.deleted_from_default = cursor.rowcount
    return result


def maintain(now: datetime | None = None) -> Maintenance:
    """What the daily beat job does: make the coming months, drop the expired ones."""
    made = ensure_partitions(now)
    dropped = drop_expired(now)
    return Maintenance(created=made.created, dropped=dropped.dropped, moved_from_default=made.moved_from_default,
                       deleted_from_default=dropped.deleted_from_default)
