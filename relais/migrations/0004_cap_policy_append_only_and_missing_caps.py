"""Cap policies are append-only (ORM and database), and the database refuses what the service refuses:
a sale of a capped provenance with no cap of the decree in force on its date, and an asking price above
today's cap on the device itself."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from reemploi import append_only
from relais import db


def install(apps, schema_editor):
    append_only.install(schema_editor, "relais_cappolicy", not_retroactive=True)
    db.reinstall(schema_editor)


def uninstall(apps, schema_editor):
    append_only.uninstall(schema_editor, "relais_cappolicy")


class Migration(migrations.Migration):
    dependencies = [
        ("relais", "0003_relais_profile_pivot"),
        ("reemploi", "0008_price_cap_append_only"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(append_only.set_aside_sqlite_triggers, append_only.restore_sqlite_triggers),
        migrations.AlterField(
            model_name="cappolicy",
            name="note",
            field=models.CharField(blank=True, max_length=255, verbose_name="décision et motif"),
        ),
        migrations.AddField(
            model_name="cappolicy",
            name="recorded_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="enregistré le"
            ),
        ),
        migrations.AddField(
            model_name="cappolicy",
            name="recorded_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="enregistré par",
            ),
        ),
        migrations.RunPython(append_only.restore_sqlite_triggers, append_only.set_aside_sqlite_triggers),
        migrations.RunPython(install, uninstall),
    ]
