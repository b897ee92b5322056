"""Caps are append-only, in the ORM and in the database: a change is a new row with its date of effect
(today or later) and its source, never an edit of the row past sales were checked against."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from reemploi import append_only


def install(apps, schema_editor):
    append_only.install(schema_editor, "reemploi_pricecap", not_retroactive=True)


def uninstall(apps, schema_editor):
    append_only.uninstall(schema_editor, "reemploi_pricecap")


class Migration(migrations.Migration):
    dependencies = [
        ("reemploi", "0007_device_recent_first_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(append_only.set_aside_sqlite_triggers, append_only.restore_sqlite_triggers),
        migrations.AddField(
            model_name="pricecap",
            name="recorded_at",
            field=models.DateTimeField(
                default=django.utils.timezone.now, editable=False, verbose_name="enregistré le"
            ),
        ),
        migrations.AddField(
            model_name="pricecap",
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
