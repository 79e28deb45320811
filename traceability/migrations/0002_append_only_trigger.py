"""Trace events are append-only in the database itself, not only in the ORM (PostgreSQL only).

A trigger refuses every UPDATE and DELETE on the trace table, whoever sends it: the application, raw SQL, a
psql session, another service sharing the database. It raises SQLSTATE 23001 (restrict_violation), which
Django reports as an IntegrityError. Nothing in Farmgate updates or deletes trace rows (the model, its queryset
and the admin refuse to), so nothing legitimate is stopped. TRUNCATE is not a row operation and is left to
database privileges (the application's role needs none on this table). Changing a row now takes a deliberate
`ALTER TABLE ... DISABLE TRIGGER` by the table's owner, and `verify_trace` still finds any row so changed.

SQLite (the embedded demo) has no such trigger; the ORM's refusal and the hash chain stand there alone.
"""
from django.db import migrations

FUNCTION = "traceability_refuse_change"
TRIGGER = "traceability_traceevent_append_only"


def create_trigger(apps, schema_editor):
    # schema_editor.execute passes parameters, so a literal % is written %%.
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("traceability", "TraceEvent")._meta.db_table)
    schema_editor.execute(f"""
        CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'trace events are append-only: %% refused on %%', TG_OP, TG_TABLE_NAME
                USING ERRCODE = 'restrict_violation',
                      HINT = 'Record a correcting event instead of changing or deleting one.';
        END;
        $$;
    """)
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}")
    schema_editor.execute(f"""
        CREATE TRIGGER {TRIGGER} BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()
    """)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("traceability", "TraceEvent")._meta.db_table)
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER} ON {table}")
    schema_editor.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}()")


class Migration(migrations.Migration):

    dependencies = [
        ("traceability", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_trigger, drop_trigger),
    ]
