"""Readings at scale: monthly partitions on PostgreSQL (made ahead, expired whole) and the hourly rollups."""
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from monitoring import partitions, selectors, services, tasks
from monitoring.models import Reading, ReadingHourly

from .factories import SensorFactory

pytestmark = pytest.mark.django_db


def where_is(reading: Reading) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM monitoring_reading WHERE id = %s", [reading.pk])
        return cursor.fetchone()[0]


def store(sensor, start, count, step=timedelta(minutes=1), value=lambda i: 20 + i % 7):
    rows = [(start + i * step, float(value(i))) for i in range(count)]
    return services.store_readings(sensor=sensor, rows=rows)


# --- Partitions (PostgreSQL) ----------------------------------------------------------

@pytest.mark.services
class TestPartitions:
    def test_the_table_is_partitioned_by_month_with_months_ahead(self, postgres, settings):
        assert partitions.is_partitioned()
        months = list(partitions.month_partitions())
        this_month = partitions.month_start(timezone.now())
        assert partitions.previous_month(this_month) in months and this_month in months
        ahead = this_month
        for _ in range(settings.READINGS_PARTITIONS_AHEAD):
            ahead = partitions.next_month(ahead)
        assert ahead in months

    def test_the_primary_key_includes_the_partition_key(self, postgres):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                           "WHERE conrelid = 'monitoring_reading'::regclass AND contype IN ('p', 'u') ORDER BY conname")
            definitions = sorted(row[0] for row in cursor.fetchall())
        assert definitions == ["PRIMARY KEY (id, \"time\")", "UNIQUE (sensor_id, \"time\")"]

    def test_a_reading_lands_in_its_months_partition(self, postgres, sensor):
        now = timezone.now().replace(microsecond=0)
        store(sensor, now - timedelta(minutes=5), 1)
        reading = Reading.objects.get(sensor=sensor)
        assert where_is(reading) == partitions.partition_name(partitions.month_start(reading.time))

    def test_a_reading_of_a_month_without_partition_goes_to_the_default_one(self, postgres, sensor):
        store(sensor, datetime(2001, 5, 1, tzinfo=UTC), 1)
        assert where_is(Reading.objects.get(sensor=sensor)) == partitions.DEFAULT

    def test_duplicates_are_refused_across_the_partitioned_table(self, postgres, sensor):
        now = timezone.now().replace(microsecond=0)
        first = store(sensor, now - timedelta(hours=1), 30)
        again = store(sensor, now - timedelta(hours=1), 30)
        assert (first.accepted, again.accepted, again.duplicates) == (30, 0, 30)
        old = datetime(2001, 5, 1, tzinfo=UTC)  # the default partition de-duplicates too
        assert store(sensor, old, 3).accepted == 3 and store(sensor, old, 3).duplicates == 3
        assert Reading.objects.filter(sensor=sensor).count() == 33
        with pytest.raises(IntegrityError), transaction.atomic():
            Reading.objects.create(sensor=sensor, time=now - timedelta(hours=1), value=1.0)

    def test_ensure_partitions_makes_the_coming_months(self, postgres):
        later = partitions.month_start(timezone.now()) + timedelta(days=400)
        result = partitions.ensure_partitions(now=later, ahead=2)
        months = partitions.month_partitions()
        expected = [partitions.previous_month(partitions.month_start(later)), partitions.month_start(later)]
        expected += [partitions.next_month(expected[-1]), partitions.next_month(partitions.next_month(expected[-1]))]
        assert all(month in months for month in expected)
        assert len(result.created) == 4
        assert partitions.ensure_partitions(now=later, ahead=2).created == []  # a second run makes nothing

    def test_a_month_made_later_takes_its_readings_from_the_default_partition(self, postgres, sensor):
        far = partitions.month_start(timezone.now()) + timedelta(days=400)
        early = Reading.objects.create(sensor=sensor, time=far + timedelta(hours=5), value=7.5)
        assert where_is(early) == partitions.DEFAULT
        result = partitions.ensure_partitions(now=far, ahead=0)
        assert result.moved_from_default == 1
        assert where_is(early) == partitions.partition_name(partitions.month_start(far))
        assert Reading.objects.get(pk=early.pk).value == 7.5

    def test_retention_drops_whole_expired_months_and_keeps_the_rest(self, postgres, sensor, settings):
        settings.READINGS_RETENTION_DAYS = 400
        now = timezone.now()
        old = partitions.month_start(now - timedelta(days=500)) + timedelta(days=3)
        partitions.ensure_partitions(now=old, ahead=0)  # that month exists, as it would have back then
        kept = store(sensor, now - timedelta(hours=2), 10)
        Reading.objects.bulk_create([Reading(sensor=sensor, time=old + timedelta(minutes=i), value=1)
                                     for i in range(5)])
        stray = Reading.objects.create(sensor=sensor, time=datetime(2001, 1, 1, tzinfo=UTC), value=1)
        assert where_is(stray) == partitions.DEFAULT

        result = partitions.drop_expired(now=now)

        assert partitions.partition_name(partitions.month_start(old)) in result.dropped
        assert partitions.month_start(old) not in partitions.month_partitions()
        assert result.deleted_from_default == 1
        assert Reading.objects.filter(sensor=sensor).count() == kept.accepted
        assert partitions.month_start(now) in partitions.month_partitions()

    def test_the_beat_task_makes_and_drops(self, postgres):
        result = tasks.maintain_reading_partitions.delay().get()
        assert set(result) == {"created", "dropped", "moved_from_default", "deleted_from_default"}


@pytest.mark.services
def test_the_migration_partitions_existing_readings_and_keeps_their_ids(transactional_db, postgres):
    """Back to the plain table with readings in it, forward again: every reading and its id kept."""
    sensor = SensorFactory()
    executor = MigrationExecutor(connection)
    executor.migrate([("monitoring", "0002_reading_hourly")])
    assert not partitions.is_partitioned()
    times = [datetime(2023, 3, 10, tzinfo=UTC), datetime(2024, 7, 1, 12, tzinfo=UTC), timezone.now()]
    with connection.cursor() as cursor:
        for value, time in enumerate(times):
            cursor.execute("INSERT INTO monitoring_reading (sensor_id, time, value) VALUES (%s, %s, %s)",
                           [sensor.pk, time, value])
    before = sorted(Reading.objects.values_list("id", "time", "value"))
    try:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes("monitoring"))
        assert partitions.is_partitioned()
        assert sorted(Reading.objects.values_list("id", "time", "value")) == before
        months = partitions.month_partitions()
        assert datetime(2023, 3, 1, tzinfo=UTC) in months and datetime(2024, 7, 1, tzinfo=UTC) in months
        newer = Reading.objects.create(sensor=sensor, time=timezone.now() - timedelta(seconds=5), value=9)
        assert newer.pk > max(pk for pk, _, _ in before)
        # The rollups of what was there are filled by the migration.
        assert sum(ReadingHourly.objects.values_list("reading_count", flat=True)) == 3
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes("monitoring"))


# --- Hourly rollups (every database) --------------------------------------------------

def test_ingest_keeps_hourly_rollups(sensor):
    hour = datetime(2025, 6, 1, 10, tzinfo=UTC)
    store(sensor, hour + timedelta(minutes=30), 60, value=lambda i: i)  # 10:30 to 11:29
    store(sensor, hour + timedelta(minutes=30), 10, value=lambda i: 1000)  # duplicates: not counted again
    store(sensor, hour, 5, value=lambda i: -3)  # 10:00 to 10:04, a late batch
    rows = {r.hour: r for r in ReadingHourly.objects.filter(sensor=sensor)}
    ten, eleven = rows[hour], rows[hour + timedelta(hours=1)]
    assert (ten.reading_count, ten.min_value, ten.max_value, ten.sum_value) == (35, -3, 29, sum(range(30)) - 15)
    assert (eleven.reading_count, eleven.min_value, eleven.max_value) == (30, 30, 59)
    assert eleven.avg_value == pytest.approx(sum(range(30, 60)) / 30)


def test_rebuilding_the_rollups_gives_what_ingest_kept(sensor):
    start = datetime(2025, 6, 1, tzinfo=UTC)
    store(sensor, start, 600, step=timedelta(seconds=37))
    kept = sorted(ReadingHourly.objects.values_list("hour", "reading_count", "min_value", "max_value", "sum_value"))
    ReadingHourly.objects.all().delete()
    written = services.rebuild_hourly_rollups(start=start, end=start + timedelta(hours=7), sensor_ids=[sensor.pk])
    rebuilt = sorted(ReadingHourly.objects.values_list("hour", "reading_count", "min_value", "max_value", "sum_value"))
    assert written == len(kept) and [r[:4] for r in rebuilt] == [r[:4] for r in kept]
    assert [r[4] for r in rebuilt] == pytest.approx([r[4] for r in kept])
    # Again: the same rows, not twice as many.
    tasks.rebuild_hourly_rollups.delay(start.isoformat(), (start + timedelta(hours=7)).isoformat()).get()
    assert ReadingHourly.objects.count() == len(kept)


def test_a_month_chart_reads_the_rollups_not_the_readings(sensor):
    end = datetime(2025, 6, 30, tzinfo=UTC)
    store(sensor, end - timedelta(days=30), 30 * 24 * 6, step=timedelta(minutes=10), value=lambda i: 20 + i % 60 / 10)
    with CaptureQueriesContext(connection) as queries:
        points = selectors.chart_for_sensor(sensor, "month", now=end)
    assert len(queries) == 1 and "monitoring_readinghourly" in queries[0]["sql"]
    raw = selectors.downsample(sensor.readings.all(), end - timedelta(days=30), end)
    assert len(points) <= selectors.MAX_CHART_POINTS
    assert sum(p.count for p in points) == sum(p.count for p in raw) == 30 * 24 * 6
    assert min(p.min for p in points) == min(p.min for p in raw)
    assert max(p.max for p in points) == max(p.max for p in raw)
    assert all(p.min <= p.avg <= p.max for p in points)


def test_a_day_chart_still_reads_the_readings(sensor):
    end = datetime(2025, 6, 30, tzinfo=UTC)
    store(sensor, end - timedelta(hours=20), 100)
    with CaptureQueriesContext(connection) as queries:
        points = selectors.chart_for_sensor(sensor, "day", now=end)
    assert "monitoring_readinghourly" not in queries[0]["sql"] and sum(p.count for p in points) == 100


def test_retention_deletes_old_readings_where_there_are_no_partitions(sensor, settings):
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL drops whole months instead (TestPartitions)")
    settings.READINGS_RETENTION_DAYS = 30
    now = timezone.now()
    store(sensor, now - timedelta(days=40), 3)
    store(sensor, now - timedelta(days=1), 2)
    result = partitions.drop_expired(now=now)
    assert result.deleted_from_default == 3 and Reading.objects.filter(sensor=sensor).count() == 2
    assert ReadingHourly.objects.filter(sensor=sensor).count() == 2  # rollups outlive their readings
