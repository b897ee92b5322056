"""Default cap policy (every provenance capped, as LaCollecte.tech does) and the database triggers
that refuse a price above the decree's cap whoever writes it (see relais/db.py)."""

from datetime import date

from django.db import migrations

from relais import db

DECREE_IN_FORCE = date(2022, 11, 10)


def default_cap_policy(apps, schema_editor):
    CapPolicy = apps.get_model("relais", "CapPolicy")
    for provenance in ("public", "company", "association", "citizen"):
        CapPolicy.objects.get_or_create(
            provenance=provenance,
            effective_from=DECREE_IN_FORCE,
            defaults={
                "is_capped": True,
                "note": "Le décret lie les dons publics ; le réseau applique les plafonds à toutes les provenances.",
            },
        )


def install_triggers(apps, schema_editor):
    db.install(schema_editor)


def uninstall_triggers(apps, schema_editor):
    db.uninstall(schema_editor)


class Migration(migrations.Migration):
    dependencies = [("relais", "0001_initial"), ("reemploi", "0003_device_price")]

    operations = [
        migrations.RunPython(default_cap_policy, migrations.RunPython.noop),
        migrations.RunPython(install_triggers, uninstall_triggers),
    ]
