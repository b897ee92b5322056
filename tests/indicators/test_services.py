import importlib
from datetime import date, timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.utils import timezone

from indicators import services, tasks
from indicators.enums import PeriodType, RunStatus
from indicators.models import IndicatorSnapshot, SnapshotRun
from reemploi.celery import app as celery_app
from reemploi.enums import DeviceState as S
from reemploi.models import Departement

from .factories import DECIZE, NEVERS, pipeline, relais_at, workshop_at

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_network(nievre):
    workshop, relais = workshop_at(NEVERS), relais_at(DECIZE, public_devices=2)
    pipeline(workshop, relais, date(2025, 1, 10), date(2025, 2, 3))
    return workshop, relais


def total(indicator, computed_on=None):
    rows = IndicatorSnapshot.objects.filter(
        indicator=indicator, territory_code="58", period_type=PeriodType.TOTAL
    )
    if computed_on:
        rows = rows.filter(computed_on=computed_on)
    return rows.get().value


def test_computing_again_the_same_day_replaces_that_days_figures(small_network):
    workshop, relais = small_network
    tasks.compute_all_snapshots()
    count = IndicatorSnapshot.objects.count()
    assert total("devices_distributed") == 1
    pipeline(workshop, relais, date(2025, 1, 12), date(2025, 2, 5), state=S.GIVEN)
    tasks.compute_all_snapshots()
    assert IndicatorSnapshot.objects.count() == count
    assert total("devices_distributed") == 2
    tasks.compute_all_snapshots()
    assert IndicatorSnapshot.objects.count() == count
    assert SnapshotRun.objects.filter(status=RunStatus.DONE).count() == 3


def test_computing_another_day_keeps_the_history(small_network):
    workshop, relais = small_network
    yesterday = timezone.localdate() - timedelta(days=1)
    with mock.patch("indicators.services.timezone.localdate", return_value=yesterday):
        tasks.compute_all_snapshots()
    pipeline(workshop, relais, date(2025, 1, 12), date(2025, 2, 5))
    tasks.compute_all_snapshots()
    assert total("devices_distributed", yesterday) == 1
    assert total("devices_distributed", timezone.localdate()) == 2
    assert IndicatorSnapshot.objects.latest_computed_on("58") == timezone.localdate()
    assert IndicatorSnapshot.objects.filter(indicator="places_count", computed_on=yesterday).exists()


def test_a_requested_computation_runs_once_the_request_commits(
    small_network, django_capture_on_commit_callbacks
):
    nievre = Departement.objects.get(code="58")
    with django_capture_on_commit_callbacks(execute=True):
        run, created = services.snapshot_run_request(departement=nievre)
    run.refresh_from_db()
    assert created and run.status == RunStatus.DONE
    assert run.departements_computed == 1 and run.snapshots_written == IndicatorSnapshot.objects.count()
    assert run.computed_on == timezone.localdate() and run.finished_at >= run.started_at


def test_a_second_request_returns_the_waiting_computation(small_network, django_capture_on_commit_callbacks):
    nievre = Departement.objects.get(code="58")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first, created = services.snapshot_run_request(departement=nievre)
        second, created_again = services.snapshot_run_request(departement=nievre)
    assert created and not created_again and first == second
    assert len(callbacks) == 1
    everything = SnapshotRun.objects.create(departement=None)
    third, created = services.snapshot_run_request(departement=Departement.objects.get(code="18"))
    assert not created and third == everything  # a run of every département covers the Cher too


def test_a_computation_lost_for_an_hour_no_longer_blocks_a_new_request(small_network):
    nievre = Departement.objects.get(code="58")
    SnapshotRun.objects.create(departement=nievre, requested_at=timezone.now() - timedelta(hours=2))
    _run, created = services.snapshot_run_request(departement=nievre)
    assert created


def test_a_finished_run_delivered_twice_is_not_computed_again(small_network):
    run = SnapshotRun.objects.create()
    services.snapshots_compute(run_id=run.pk)
    with mock.patch("indicators.services.computations.build_rows") as build:
        tasks.compute_snapshots(run.pk)
    build.assert_not_called()


def test_a_failed_computation_is_marked_failed_and_keeps_the_previous_figures(small_network):
    tasks.compute_all_snapshots()
    before = IndicatorSnapshot.objects.count()
    run = SnapshotRun.objects.create()
    with mock.patch("indicators.services.computations.build_rows", side_effect=RuntimeError("boom")):
        tasks.compute_snapshots.delay(run.pk)  # eagerly, the failure is recorded, not raised
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED and "boom" in run.error
    assert IndicatorSnapshot.objects.count() == before


def test_every_departement_with_a_site_or_a_departmental_team_is_computed(region):
    workshop_at(NEVERS)
    relais_at("18241")
    from .factories import departement_org

    departement_org("89")
    tasks.compute_all_snapshots()
    codes = set(IndicatorSnapshot.objects.values_list("departement_code", flat=True))
    assert codes == {"58", "18", "89"}


def test_the_nightly_task_is_registered_under_the_name_the_beat_schedule_uses():
    assert settings.CELERY_BEAT_SCHEDULE["indicators-nightly"]["task"] == tasks.compute_all_snapshots.name
    assert tasks.compute_all_snapshots.name == "indicators.tasks.compute_all_snapshots"


@pytest.mark.parametrize("entry", sorted(settings.CELERY_BEAT_SCHEDULE))
def test_every_beat_entry_names_a_registered_task(entry):
    name = settings.CELERY_BEAT_SCHEDULE[entry]["task"]
    module = name.rsplit(".", 1)[0]
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as error:
        if error.name != module:
            raise
        pytest.skip(f"{module} n'existe pas encore sur cette branche")
    celery_app.loader.import_default_modules()
    assert name in celery_app.tasks


def test_names_with_backslashes_tabs_and_quotes_are_stored_as_they_are(nievre):
    workshop = workshop_at(NEVERS)
    relais = relais_at(DECIZE, name='Relais « Nord » \\ Est\t"quai"')
    pipeline(workshop, relais, date(2025, 1, 10), date(2025, 2, 3))
    tasks.compute_all_snapshots()
    row = IndicatorSnapshot.objects.get(
        indicator="devices_distributed", territory_code=str(relais.uuid), period_type=PeriodType.TOTAL
    )
    assert row.territory_label == relais.name
    sites = IndicatorSnapshot.objects.get(indicator="places_count", territory_code="58").extra["sites"]
    assert [s["name"] for s in sites] == [relais.name]
