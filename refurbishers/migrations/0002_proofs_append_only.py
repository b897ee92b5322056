from django.db import migrations

TABLES = [
    "refurbishers_evidence",
    "refurbishers_sanitisation",
    "refurbishers_destruction",
    "refurbishers_nostoragedeclaration",
]


def forbid_changes(apps, schema_editor):
    """On PostgreSQL, proof records refuse UPDATE and DELETE (the kernel's trigger function)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION reemploi_forbid_history_change();"
        )


def allow_changes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")


class Migration(migrations.Migration):
    dependencies = [
        ("refurbishers", "0001_initial"),
        ("reemploi", "0002_reference_data_and_history_guard"),
    ]

    operations = [migrations.RunPython(forbid_changes, allow_changes)]
