"""The database's own guarantees are triggers: a migration that rebuilds a table (SQLite does it to
alter a column) silently drops the triggers of that table. This test lists the triggers that must be
there after every migration, on the database the suite runs on."""

import pytest
from django.db import connection

EXPECTED = {
    "sqlite": {
        "reemploi_pricecap_no_update",
        "reemploi_statuschange_no_update",
        "reemploi_statuschange_no_delete",
        "reemploi_pricecap_no_delete",
        "reemploi_pricecap_not_retroactive",
        "relais_cappolicy_no_update",
        "relais_cappolicy_no_delete",
        "relais_cappolicy_not_retroactive",
        "relais_saleline_cap_insert",
        "relais_saleline_cap_update",
        "relais_sale_cap_update",
        "relais_device_cap_update",
        "relais_device_price_insert",
        "relais_device_price_update",
    },
    "postgresql": {
        "reemploi_deviceevent_append_only",
        "reemploi_pricecap_append_only",
        "reemploi_statuschange_append_only",
        "reemploi_statuschange_no_truncate",
        "reemploi_pricecap_no_truncate",
        "reemploi_pricecap_not_retroactive",
        "relais_cappolicy_append_only",
        "relais_cappolicy_no_truncate",
        "relais_cappolicy_not_retroactive",
        "relais_saleline_cap",
        "relais_sale_cap",
        "relais_device_cap",
        "relais_device_price",
    },
}


def installed_triggers():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        else:
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        return {name for (name,) in cursor.fetchall()}


@pytest.mark.django_db
def test_every_guarantee_trigger_is_installed():
    missing = EXPECTED[connection.vendor] - installed_triggers()
    assert not missing, f"Triggers missing after the migrations: {sorted(missing)}"
