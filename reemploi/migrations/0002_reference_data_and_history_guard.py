from django.db import migrations

from reemploi.reference import load_reference_data

APPEND_ONLY_SQL = """
CREATE OR REPLACE FUNCTION reemploi_forbid_history_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'L''historique %% est en ajout seul : ni modification ni suppression.', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER reemploi_deviceevent_append_only
    BEFORE UPDATE OR DELETE ON reemploi_deviceevent
    FOR EACH ROW EXECUTE FUNCTION reemploi_forbid_history_change();
"""
APPEND_ONLY_REVERSE = """
DROP TRIGGER IF EXISTS reemploi_deviceevent_append_only ON reemploi_deviceevent;
"""


def forbid_history_changes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL)


def allow_history_changes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_REVERSE)


class Migration(migrations.Migration):
    dependencies = [("reemploi", "0001_initial")]

    operations = [
        migrations.RunPython(load_reference_data, migrations.RunPython.noop),
        migrations.RunPython(forbid_history_changes, allow_history_changes),
    ]
