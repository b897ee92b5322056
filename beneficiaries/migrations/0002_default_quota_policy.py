from datetime import date

from django.db import migrations


def default_policy(apps, schema_editor):
    QuotaPolicy = apps.get_model("beneficiaries", "QuotaPolicy")
    QuotaPolicy.objects.get_or_create(
        category=None,
        effective_from=date(2022, 1, 1),
        defaults={"max_devices": 1, "period_months": 12, "note": "Règle par défaut du réseau : un appareil par catégorie, par foyer et par an."},
    )


class Migration(migrations.Migration):
    dependencies = [("beneficiaries", "0001_initial")]

    operations = [migrations.RunPython(default_policy, migrations.RunPython.noop)]
