import pytest

from tests.reemploi.factories import member_of

from .factories import COMMUNES_CSV, NEIGHBOURS, create_communes, departement_org, read_communes


@pytest.fixture(scope="session")
def nievre_rows():
    if not COMMUNES_CSV.exists():
        pytest.skip(f"Fichier de référence des communes absent ({COMMUNES_CSV.name}, ../shared/data)")
    return read_communes(("58",))


@pytest.fixture(scope="session")
def region_rows(nievre_rows):
    return nievre_rows + read_communes(NEIGHBOURS)


@pytest.fixture
def nievre(db, nievre_rows, tmp_path):
    """The 309 real communes of the Nièvre (INSEE code -> Commune)."""
    return create_communes(nievre_rows, tmp_path)


@pytest.fixture
def region(db, region_rows, tmp_path):
    """The Nièvre and the six départements around it."""
    return create_communes(region_rows, tmp_path)


@pytest.fixture
def departement_staff(db):
    return member_of(departement_org("58"), username="departement-58")


@pytest.fixture
def other_departement_staff(db):
    return member_of(departement_org("18"), username="departement-18")


@pytest.fixture
def computed(nievre):
    """A small computed network in the Nièvre: a workshop in Nevers, relais in Decize and Clamecy,
    sales, a gift and a loan in 2025. Returns what was built."""
    from datetime import date

    from indicators.models import SnapshotRun
    from indicators.services import snapshots_compute
    from reemploi.enums import DeviceState as S

    from .factories import CLAMECY, DECIZE, NEVERS, pipeline, relais_at, workshop_at

    workshop = workshop_at(NEVERS)
    decize, clamecy = relais_at(DECIZE, public_devices=3), relais_at(CLAMECY, public_devices=1)
    devices = [
        pipeline(workshop, decize, date(2025, 1, 10), date(2025, 2, 3)),
        pipeline(workshop, decize, date(2025, 1, 10), date(2025, 3, 12), code="desktop"),
        pipeline(workshop, clamecy, date(2025, 1, 10), date(2025, 3, 3), state=S.GIVEN, code="screen"),
        pipeline(workshop, clamecy, date(2025, 1, 10), date(2025, 3, 5), state=S.LENT),
    ]
    run = SnapshotRun.objects.create()
    snapshots_compute(run_id=run.pk)
    return {"workshop": workshop, "decize": decize, "clamecy": clamecy, "devices": devices, "run": run}
