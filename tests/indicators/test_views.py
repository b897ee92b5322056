import csv
import io
from datetime import date

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from indicators import reports
from indicators.enums import RunStatus
from indicators.models import IndicatorSnapshot, SnapshotRun
from reemploi.enums import Role
from reemploi.models import DeviceEvent
from tests.reemploi.factories import member_of

from .factories import departement_org

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("indicators:dashboard")
TABLE_CODES = list(reports.TABLES)


def export_url(table, fmt, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{reverse('indicators:export', args=[table, fmt])}?{query}"


def read_csv(response):
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def read_xlsx(response):
    return load_workbook(io.BytesIO(response.content))


def test_departement_staff_read_their_departements_figures(
    client, computed, departement_staff, django_assert_max_num_queries
):
    client.force_login(departement_staff)
    with django_assert_max_num_queries(25):
        response = client.get(DASHBOARD, {"period_type": "year", "period": "2025-01-01"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Indicateurs de la stratégie départementale – Nièvre" in page
    figures = {f.indicator.code: f for f in response.context["sections"][0]["figures"]}
    assert figures["pcs_distributed"].value == 2
    assert figures["devices_distributed"].value == 3
    assert figures["devices_lent"].value == 1
    assert figures["people_equipped"].value == 0  # histories without sale records: nobody equipped
    assert 'id="indicators-map"' in page and "chart.umd.min.js" in page and "leaflet.js" in page


def test_changing_the_period_shows_that_periods_figures_and_their_change(client, computed, departement_staff):
    client.force_login(departement_staff)
    response = client.get(DASHBOARD, {"period_type": "month", "period": "2025-03-01"})
    figures = {f.indicator.code: f for s in response.context["sections"] for f in s["figures"]}
    assert response.context["selection"].label == "mars 2025"
    assert figures["devices_distributed"].value == 2 and figures["devices_distributed"].previous == 1
    assert figures["devices_distributed"].display_change == "+1 (+100 %)"
    assert "par rapport à février 2025" in response.content.decode()
    # Switching the period type keeps the same moment.
    response = client.get(DASHBOARD, {"period_type": "quarter", "period": "2025-03-01"})
    assert response.context["selection"].period_start == date(2025, 1, 1)


def test_a_relais_can_be_chosen_as_territory(client, computed, departement_staff):
    client.force_login(departement_staff)
    decize = str(computed["decize"].uuid)
    response = client.get(DASHBOARD, {"territory": decize, "period_type": "total"})
    selection = response.context["selection"]
    assert selection.is_relais and selection.territory_label == computed["decize"].name
    figures = {f.indicator.code: f for s in response.context["sections"] for f in s["figures"]}
    assert figures["devices_distributed"].value == 2 and "public_devices" not in figures
    assert response.context["map"] is None


def test_a_value_outside_the_choices_is_a_french_form_error(client, computed, departement_staff):
    client.force_login(departement_staff)
    response = client.get(DASHBOARD, {"territory": "n-importe-quoi", "period_type": "semaine"})
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert response.context["selection"].territory_type == "departement"


def test_departement_staff_cannot_open_another_departement(
    client, computed, departement_staff, other_departement_staff
):
    client.force_login(other_departement_staff)
    assert client.get(DASHBOARD, {"departement": "58"}).status_code == 404
    assert client.get(export_url("relais", "csv", departement="58")).status_code == 404
    response = client.get(DASHBOARD)
    assert response.context["selection"].code == "18"
    client.force_login(departement_staff)
    assert client.post(reverse("indicators:recompute"), {"departement": "18"}).status_code == 404


def test_the_coordinator_sees_every_departement(client, computed, coordinator, other_departement_staff):
    client.force_login(coordinator)
    response = client.get(DASHBOARD, {"departement": "58"})
    assert response.status_code == 200
    choices = dict(response.context["selection"].form.fields["departement"].choices)
    assert {"58", "18"} <= set(choices)
    assert client.get(DASHBOARD, {"departement": "18"}).status_code == 200


def test_other_members_cannot_open_the_indicators(client, computed, relais_user):
    client.force_login(relais_user)
    assert client.get(DASHBOARD).status_code == 403
    assert client.get(export_url("relais", "csv")).status_code == 403
    client.logout()
    response = client.get(DASHBOARD)
    assert response.status_code == 302 and reverse("login") in response.url


def test_a_departement_never_computed_says_so(client, nievre, departement_staff):
    client.force_login(departement_staff)
    response = client.get(DASHBOARD)
    assert response.status_code == 200
    assert "Aucun chiffre n'a encore été calculé" in response.content.decode()


@pytest.mark.parametrize("table", TABLE_CODES)
def test_every_table_exports_as_csv_and_xlsx(client, computed, departement_staff, table):
    client.force_login(departement_staff)
    params = {"period_type": "year", "period": "2025-01-01"}
    built = reports.build_table(table, reports.selection_resolve(departement_staff, params))
    rows = read_csv(client.get(export_url(table, "csv", **params)))
    assert rows[0] == [str(column.label) for column in built.columns]
    assert len(rows) == len(built.rows) + 1
    workbook = read_xlsx(client.get(export_url(table, "xlsx", **params)))
    sheet = workbook.worksheets[0]
    assert [cell.value for cell in sheet[1]] == [str(column.label) for column in built.columns]
    for row, cells in zip(built.rows, sheet.iter_rows(min_row=2, max_row=len(built.rows) + 1), strict=True):
        assert [cell.value for cell in cells] == [
            row.get(column.key) if row.get(column.key) != "" else None for column in built.columns
        ]
    assert "À propos" in workbook.sheetnames


def test_the_exported_figures_are_those_of_the_page(client, computed, departement_staff):
    client.force_login(departement_staff)
    rows = read_csv(client.get(export_url("categories", "csv", period_type="year", period="2025-01-01")))
    by_category = {row[0]: row for row in rows[1:]}
    assert by_category["Ordinateur portable"][1:4] == ["1", "0", "1"]  # sold, given, lent
    assert by_category["Écran"][1:4] == ["0", "1", "0"]
    assert by_category["Écran"][4] == "4,5"  # kg reused, decimal comma
    relais = read_csv(client.get(export_url("relais", "csv", period_type="month", period="2025-03-01")))
    assert {row[0]: row[1:5] for row in relais[1:]} == {
        computed["decize"].name: ["1", "1", "0", "0"],
        computed["clamecy"].name: ["0", "0", "1", "1"],
    }


def test_the_whole_dashboard_downloads_as_one_workbook(client, computed, departement_staff):
    client.force_login(departement_staff)
    response = client.get(export_url("tout", "xlsx", period_type="year", period="2025-01-01"))
    assert response["Content-Disposition"].startswith('attachment; filename="indicateurs-58-nievre-2025')
    workbook = read_xlsx(response)
    assert len(workbook.sheetnames) == len(TABLE_CODES) + 1
    about = {row[0].value: row[1].value for row in workbook["À propos"].iter_rows(min_row=2, max_row=6)}
    assert about["Département"] == "58 – Nièvre" and about["Période"] == "2025"
    assert client.get(export_url("tout", "csv")).status_code == 404


def test_staff_request_a_computation_and_see_it_done(
    client, computed, departement_staff, django_capture_on_commit_callbacks
):
    client.force_login(departement_staff)
    page = client.get(DASHBOARD).content.decode()
    assert "Recalculer maintenant" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("indicators:recompute"), {"departement": "58", "period_type": "month"})
    assert response.status_code == 302 and response.url == f"{DASHBOARD}?departement=58&period_type=month"
    run = SnapshotRun.objects.latest("requested_at")
    assert (
        run.status == RunStatus.DONE
        and run.departement.code == "58"
        and run.requested_by == departement_staff
    )
    page = client.get(response.url).content.decode()
    assert "Le calcul est demandé" in page  # the task ran once the request had answered
    assert "Calcul en cours" not in page and "Chiffres calculés le" in page


def test_read_only_members_cannot_request_a_computation(client, computed):
    reader = member_of(departement_org("58"), role=Role.READ_ONLY)
    client.force_login(reader)
    assert "Recalculer maintenant" not in client.get(DASHBOARD).content.decode()
    assert client.post(reverse("indicators:recompute"), {"departement": "58"}).status_code == 403


def test_the_page_follows_a_pending_computation(client, computed, departement_staff):
    SnapshotRun.objects.create(departement=computed["run"].departement)
    client.force_login(departement_staff)
    page = client.get(DASHBOARD).content.decode()
    assert "Calcul en cours" in page and 'data-poll="/indicateurs/etat/' in page
    assert client.get(reverse("indicators:status")).json()["pending"] is True


def test_departmental_staff_never_see_personal_data(client, computed, departement_staff, relais_user):
    """Whatever the records hold about people, no page, export or API answer shows it."""
    secrets = [
        "Zoé",
        "Confidentiel",
        "zoe.confidentiel",
        "SERIAL-SECRET",
        "INV-SECRET",
        "Mme Dupont",
        relais_user.username,
    ]
    relais_user.first_name, relais_user.last_name, relais_user.email = (
        "Zoé",
        "Confidentiel",
        "zoe.confidentiel@example.org",
    )
    relais_user.save()
    for device in computed["devices"]:
        device.serial_number, device.asset_tag = f"SERIAL-SECRET-{device.pk}", f"INV-SECRET-{device.pk}"
        device.save()
        DeviceEvent.objects.create(
            device=device,
            from_state=device.state,
            to_state=device.state,
            holder=device.holder,
            actor=relais_user,
            note="Vendu à Mme Dupont, 3 rue des Lilas",
        )
    run = SnapshotRun.objects.create(requested_by=relais_user)
    from indicators.services import snapshots_compute

    snapshots_compute(run_id=run.pk)
    client.force_login(departement_staff)
    urls = [DASHBOARD, f"{DASHBOARD}?period_type=month&period=2025-03-01", reverse("indicators:status")]
    urls += [export_url(code, "csv") for code in TABLE_CODES] + [export_url("tout", "xlsx")]
    urls += [
        f"/api/indicators/{path}"
        for path in ("dashboard/", "map/", "catalogue/", "snapshots/?history=true", "runs/")
    ]
    urls += [f"/api/indicators/tables/{code}/" for code in TABLE_CODES]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        if url.endswith(".xlsx") or "tout.xlsx" in url:
            workbook = read_xlsx(response)
            content = " ".join(
                str(c.value) for s in workbook.worksheets for row in s.iter_rows() for c in row
            )
        else:
            content = response.content.decode()
        for secret in secrets:
            assert secret not in content, (secret, url)
    keys = set()
    for extra in IndicatorSnapshot.objects.values_list("extra", flat=True):
        keys |= set(extra)
    assert not keys & {
        "serial_number",
        "asset_tag",
        "actor",
        "email",
        "note",
        "beneficiary",
        "user",
        "requested_by",
    }


def test_the_menu_shows_indicators_to_departement_staff_and_the_coordinator(
    client, computed, departement_staff, coordinator, relais_user
):
    for user, shown in ((departement_staff, True), (coordinator, True), (relais_user, False)):
        client.force_login(user)
        page = client.get(reverse("home")).content.decode()
        assert (f'href="{DASHBOARD}"' in page) is shown, user
