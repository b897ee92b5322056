from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from indicators import catalogue, tasks
from indicators.models import SnapshotRun
from indicators.reports import TABLES
from reemploi.enums import Role
from tests.reemploi.factories import member_of

from .factories import departement_org, relais_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def cher(computed, region):
    """A relais in the Cher too, computed with the rest."""
    relais_at("18241", public_devices=2)
    tasks.compute_all_snapshots()


def test_the_dashboard_api_gives_the_figures_of_the_page(client, computed, departement_staff):
    client.force_login(departement_staff)
    data = client.get("/api/indicators/dashboard/", {"period_type": "month", "period": "2025-03-01"}).json()
    assert data["selection"]["departement"] == "58" and data["selection"]["period_label"] == "mars 2025"
    figures = {f["indicator"]: f for f in data["figures"]}
    assert figures["devices_distributed"]["value"] == 2 and figures["devices_distributed"]["previous"] == 1
    assert figures["people_equipped"]["value"] == 0 and figures["people_equipped"]["source"] == "exact"
    assert figures["median_days_to_distribution"]["source"] == "exact"
    assert set(data["tables"]) == set(TABLES) - {"communes"}
    assert data["series"]["labels"][:3] == ["janvier 2025", "février 2025", "mars 2025"]
    assert data["series"]["devices_distributed"][:3] == [0, 1, 2]


def test_every_table_is_in_the_api(client, computed, departement_staff):
    client.force_login(departement_staff)
    communes = client.get("/api/indicators/tables/communes/").json()
    assert len(communes["rows"]) == 309 and communes["columns"][0]["key"] == "insee"
    assert client.get("/api/indicators/tables/inconnue/").status_code == 400


def test_the_map_api_gives_communes_and_places(client, computed, departement_staff):
    client.force_login(departement_staff)
    data = client.get("/api/indicators/map/").json()
    assert len(data["communes"]) == 309
    assert sorted(p["commune"] for p in data["places"]) == ["58079", "58095"]
    nevers = next(c for c in data["communes"] if c["insee"] == "58194")
    assert nevers["deee_km"] == 0 and nevers["population"] == 32_830 and nevers["place_nearest"]
    assert data["tile_url"] == ""


def test_the_catalogue_lists_every_indicator_with_its_source(client, computed, departement_staff):
    client.force_login(departement_staff)
    data = client.get("/api/indicators/catalogue/").json()
    assert [i["code"] for i in data] == [i.code for i in catalogue.INDICATORS]
    # The donors app is connected: every figure comes from the records that define it.
    assert {i["source"] for i in data} == {"exact"}


def test_snapshots_are_scoped_to_the_users_departement(
    client, cher, departement_staff, other_departement_staff, coordinator
):
    client.force_login(departement_staff)
    rows = client.get("/api/indicators/snapshots/", {"indicator": "places_count"}).json()["results"]
    assert {r["departement_code"] for r in rows} == {"58"}
    assert client.get("/api/indicators/snapshots/", {"departement": "18"}).json()["count"] == 0
    assert client.get("/api/indicators/dashboard/", {"departement": "18"}).status_code == 404
    client.force_login(other_departement_staff)
    rows = client.get("/api/indicators/snapshots/", {"indicator": "places_count"}).json()["results"]
    assert {r["departement_code"] for r in rows} == {"18"}
    client.force_login(coordinator)
    rows = client.get("/api/indicators/snapshots/", {"indicator": "places_count"}).json()["results"]
    assert {r["departement_code"] for r in rows} == {"18", "58"}


def test_snapshots_default_to_the_latest_computation_and_keep_history_on_request(
    client, computed, departement_staff
):
    yesterday = timezone.localdate() - timedelta(days=1)
    with mock.patch("indicators.services.timezone.localdate", return_value=yesterday):
        tasks.compute_all_snapshots()
    client.force_login(departement_staff)
    params = {"indicator": "devices_distributed", "period_type": "total", "territory_code": "58"}
    latest = client.get("/api/indicators/snapshots/", params).json()["results"]
    assert [r["computed_on"] for r in latest] == [timezone.localdate().isoformat()]
    history = client.get("/api/indicators/snapshots/", {**params, "history": "true"}).json()["results"]
    assert sorted(r["computed_on"] for r in history) == [
        yesterday.isoformat(),
        timezone.localdate().isoformat(),
    ]
    on_day = client.get("/api/indicators/snapshots/", {**params, "computed_on": yesterday.isoformat()}).json()
    assert on_day["count"] == 1 and on_day["results"][0]["label"] == "Appareils vendus ou donnés"


def test_a_computation_is_requested_through_the_api(
    client, computed, departement_staff, django_capture_on_commit_callbacks
):
    client.force_login(departement_staff)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = client.post("/api/indicators/runs/", {"departement": "58"}, content_type="application/json")
        again = client.post("/api/indicators/runs/", {"departement": "58"}, content_type="application/json")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["uuid"] == again.json()["uuid"] and len(callbacks) == 1
    callbacks[0]()
    run = client.get(f"/api/indicators/runs/{first.json()['uuid']}/").json()
    assert run["status"] == "done" and "requested_by" not in run
    assert (
        client.post(
            "/api/indicators/runs/", {"departement": "18"}, content_type="application/json"
        ).status_code
        == 400
    )
    assert client.post("/api/indicators/runs/", {}, content_type="application/json").status_code == 400


def test_read_only_members_and_other_organisations_cannot_request_or_read(client, computed, relais_user):
    reader = member_of(departement_org("58"), role=Role.READ_ONLY)
    client.force_login(reader)
    assert client.get("/api/indicators/dashboard/").status_code == 200
    assert (
        client.post(
            "/api/indicators/runs/", {"departement": "58"}, content_type="application/json"
        ).status_code
        == 403
    )
    client.force_login(relais_user)
    for url in ("dashboard/", "map/", "catalogue/", "snapshots/", "runs/", "tables/relais/"):
        assert client.get(f"/api/indicators/{url}").status_code == 403, url
    client.logout()
    assert client.get("/api/indicators/dashboard/").status_code in (401, 403)


def test_a_bad_selection_is_a_readable_400(client, computed, departement_staff):
    client.force_login(departement_staff)
    response = client.get("/api/indicators/dashboard/", {"period_type": "semaine"})
    assert response.status_code == 400
    assert response.json() == {"period_type": ["Sélectionnez un choix valide. semaine n’en fait pas partie."]}


def test_runs_of_other_departements_are_not_listed(client, computed, departement_staff):
    SnapshotRun.objects.create(departement=departement_org("18").departement)
    client.force_login(departement_staff)
    runs = client.get("/api/indicators/runs/").json()["results"]
    assert runs and {r["departement"] for r in runs} <= {"58", None}
