"""The hash chain: intact chains verify; rows changed, removed or rewritten behind the ORM's back are found by
verify_trace and shown on the page; the ORM and the admin refuse to change records; concurrent writers on
one lot do not fork its chain."""
import json
import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import ProtectedError

from accounts.tests.factories import UserFactory
from traceability import services
from traceability.chain import content_of_row, hash_of
from traceability.models import GENESIS_HASH, AppendOnlyError, TraceEvent

from .helpers import journey, trigger_disabled

K = TraceEvent.Kind


@pytest.fixture
def delivered(db, station, agent):
    return journey(station, agent)


def chain(lot) -> list[TraceEvent]:
    return list(TraceEvent.objects.filter(lot=lot).select_related("parcel").order_by("sequence"))


def raw(sql: str, params: list) -> None:
    """Run SQL on the trace table behind the ORM's back ({json} is a JSON parameter), as its owner would:
    with the append-only trigger disabled on PostgreSQL."""
    json_param = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    with trigger_disabled(), connection.cursor() as cursor:
        cursor.execute(sql.replace("{table}", TraceEvent._meta.db_table).replace("{json}", json_param), params)


def verify_output(*args) -> tuple[bool, str]:
    out = StringIO()
    try:
        call_command("verify_trace", *args, stdout=out)
        return True, out.getvalue()
    except CommandError as exc:
        return False, out.getvalue() + str(exc)


def test_each_record_links_to_the_one_before_and_the_chain_verifies(delivered):
    rows = chain(delivered.lot)
    assert [r.sequence for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0].previous_hash == GENESIS_HASH
    assert all(b.previous_hash == a.hash for a, b in zip(rows, rows[1:], strict=False))
    ok, output = verify_output("--lot", delivered.lot.code)
    assert ok and f"{delivered.lot.code}: ok, {len(rows)} records" in output


def test_a_column_changed_with_raw_sql_is_found_by_verify_trace_and_shown_on_the_page(client, delivered):
    packed = TraceEvent.objects.get(lot=delivered.lot, kind=K.PACKED)
    raw("UPDATE {table} SET disposition = %s WHERE id = %s", ["damaged", packed.pk])

    ok, output = verify_output("--lot", delivered.lot.code)
    assert not ok
    assert f"record {packed.sequence} (packed) altered" in output
    assert "1 of 1 lot chains do not verify" in output

    html = client.get(f"/t/{delivered.lot.code}").content.decode()
    assert "Record altered" in html and "✓ Trace record" not in html
    assert f"Record {packed.sequence} of this lot" in html
    # The altered record itself is marked in the timeline, and only that one.
    assert html.count('class="altered"') == 1
    assert f'id="record-{packed.sequence}" class="altered"' in html


def test_the_event_document_changed_with_raw_sql_is_found(client, delivered):
    harvest = TraceEvent.objects.get(lot=delivered.lot, kind=K.HARVEST)
    forged = {**harvest.document, "ilmd": {**harvest.document["ilmd"], "fg:harvestDate": "2020-01-01"}}
    raw("UPDATE {table} SET document = {json} WHERE id = %s", [json.dumps(forged), harvest.pk])
    response = client.get(f"/api/v1/trace/{delivered.lot.code}/")
    assert response.json()["chain"]["verified"] is False
    assert response.json()["chain"]["altered"] == [{"sequence": 1, "kind": "harvest", "reason": "content"}]


def test_a_record_rewritten_with_a_fresh_hash_breaks_the_link_from_the_next(delivered):
    rows = chain(delivered.lot)
    target = rows[2]
    forged = {**target.document, "disposition": "damaged"}
    target.document = forged  # in memory only, to compute what a forger would store
    forged_hash = hash_of(content_of_row(target, delivered.lot.code), target.previous_hash)
    raw("UPDATE {table} SET document = {json}, hash = %s WHERE id = %s",
        [json.dumps(forged), forged_hash, target.pk])
    ok, output = verify_output("--lot", delivered.lot.code)
    assert not ok
    assert f"record {rows[3].sequence} ({rows[3].kind}) altered: it does not follow the record before it" in output


def test_a_record_deleted_with_raw_sql_is_found(delivered):
    rows = chain(delivered.lot)
    raw("DELETE FROM {table} WHERE id = %s", [rows[4].pk])
    ok, output = verify_output()
    assert not ok
    assert f"record {rows[5].sequence} ({rows[5].kind}) altered: a record before it is missing" in output


def test_the_database_itself_refuses_to_update_or_delete_a_record(postgres, delivered):
    record = TraceEvent.objects.filter(lot=delivered.lot).first()
    table = connection.ops.quote_name(TraceEvent._meta.db_table)
    for sql, params in [(f"UPDATE {table} SET disposition = %s WHERE id = %s", ["damaged", record.pk]),  # noqa: S608
                        (f"DELETE FROM {table} WHERE id = %s", [record.pk])]:  # noqa: S608
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    record.refresh_from_db()
    assert record.disposition != "damaged"
    assert verify_output("--lot", delivered.lot.code)[0]


def test_a_row_changed_with_the_trigger_disabled_is_still_found(postgres, delivered):
    shipped = TraceEvent.objects.filter(lot=delivered.lot).order_by("-sequence").first()
    table = connection.ops.quote_name(TraceEvent._meta.db_table)
    with trigger_disabled(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET biz_location = %s WHERE id = %s", ["urn:forged", shipped.pk])  # noqa: S608
    ok, output = verify_output("--lot", delivered.lot.code)
    assert not ok and f"record {shipped.sequence} ({shipped.kind}) altered" in output


def test_verify_trace_checks_every_lot_and_rejects_an_unknown_code(station, agent):
    journey(station, agent, until="received")
    journey(station, agent, until="packed")
    ok, output = verify_output()
    assert ok and "2 lot chains verified." in output
    with pytest.raises(CommandError):
        call_command("verify_trace", "--lot", "L0000000", stdout=StringIO())


def test_the_orm_refuses_to_change_or_delete_a_record(delivered):
    record = TraceEvent.objects.filter(lot=delivered.lot).first()
    before = (record.disposition, record.hash)
    record.disposition = "damaged"
    with pytest.raises(AppendOnlyError):
        record.save()
    with pytest.raises(AppendOnlyError):
        record.save(update_fields=["disposition"])
    with pytest.raises(AppendOnlyError):
        record.delete()
    with pytest.raises(AppendOnlyError):
        TraceEvent.objects.filter(pk=record.pk).update(disposition="damaged")
    with pytest.raises(AppendOnlyError):
        TraceEvent.objects.filter(pk=record.pk).delete()
    with pytest.raises(AppendOnlyError):
        TraceEvent.objects.bulk_update([record], ["disposition"])
    with pytest.raises(AppendOnlyError):
        TraceEvent.objects.update_or_create(pk=record.pk, defaults={"disposition": "damaged"})
    # Deleting what a record points at is refused too.
    with pytest.raises(ProtectedError):
        delivered.lot.delete()
    record.refresh_from_db()
    assert (record.disposition, record.hash) == before
    assert verify_output("--lot", delivered.lot.code)[0]


def test_the_admin_shows_records_but_cannot_add_change_or_delete_them(client, delivered):
    admin = UserFactory(is_staff=True, is_superuser=True, role="staff")
    client.force_login(admin)
    record = TraceEvent.objects.filter(lot=delivered.lot).first()
    assert client.get("/admin/traceability/traceevent/").status_code == 200
    page = client.get(f"/admin/traceability/traceevent/{record.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.get("/admin/traceability/traceevent/add/").status_code == 403
    assert client.post(f"/admin/traceability/traceevent/{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/traceability/traceevent/{record.pk}/change/",
                       {"disposition": "damaged"}).status_code == 403
    assert TraceEvent.objects.get(pk=record.pk).disposition == record.disposition


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_on_one_lot_do_not_fork_its_chain(postgres, station, agent):
    """Eight threads append to one lot at once (PostgreSQL, real row locks): one chain, no gap, no fork."""
    lot = journey(station, agent, until="received").lot
    staff = UserFactory(is_staff=True, role="staff")
    start = threading.Barrier(8)
    failures = []

    def inspect(n: int) -> None:
        try:
            start.wait(timeout=10)
            for i in range(5):
                services.record_inspection(lot=lot, actor=staff, passed=True, note=f"{n}-{i}")
        except Exception as exc:  # noqa: BLE001 - reported below with the thread that saw it
            failures.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=inspect, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    rows = chain(lot)
    assert [r.sequence for r in rows] == list(range(1, len(rows) + 1))
    assert sum(r.kind == K.INSPECTION for r in rows) == 40
    assert verify_output("--lot", lot.code)[0]
