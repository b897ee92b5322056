from django.db import migrations

from donors.reference import load_acceptance_defaults

APPEND_ONLY_SQL = """
CREATE TRIGGER donors_donationevent_append_only
    BEFORE UPDATE OR DELETE ON donors_donationevent
    FOR EACH ROW EXECUTE FUNCTION reemploi_forbid_history_change();
"""
APPEND_ONLY_REVERSE = "DROP TRIGGER IF EXISTS donors_donationevent_append_only ON donors_donationevent;"


def forbid_history_changes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_SQL)


def allow_history_changes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY_REVERSE)


class Migration(migrations.Migration):
    dependencies = [
        ("donors", "0003_donation_workflow"),
        ("reemploi", "0002_reference_data_and_history_guard"),
    ]

    operations = [
        migrations.RunPython(load_acceptance_defaults, migrations.RunPython.noop),
        migrations.RunPython(forbid_history_changes, allow_history_changes),
    ]
