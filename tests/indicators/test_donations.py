"""The indicators that read the donations: the delay from the donation, the weighed kilograms and the
public donors' declared retired stock, against figures computed by hand."""

from datetime import date
from decimal import Decimal

import pytest

from donors.enums import DonorKind
from donors.models import Donation, Reception
from indicators.enums import PeriodType as P
from indicators.models import IndicatorSnapshot, SnapshotRun
from indicators.selectors import public_donors_retired_stock
from indicators.services import snapshots_compute
from reemploi.enums import DeviceState as S
from reemploi.models import CommunePostalCode, Device
from tests.donors.factories import line, submit

from .factories import DECIZE, NEVERS, device_with_history, local, relais_at, workshop_at

pytestmark = pytest.mark.django_db


def _snapshot(indicator, period_type=P.TOTAL, start=None):
    rows = IndicatorSnapshot.objects.filter(
        indicator=indicator, period_type=period_type, territory_type="departement", territory_code="58"
    )
    if start is not None:
        rows = rows.filter(period_start=start)
    return rows.get()


def _from_donation(device, donation_line):
    Device.objects.filter(pk=device.pk).update(
        donation_line=donation_line, donor_organisation=donation_line.donation.donor_organisation
    )


@pytest.fixture
def network(nievre, coordinator):
    CommunePostalCode.objects.get_or_create(commune=nievre[NEVERS], code="58000")
    workshop, relais = workshop_at(NEVERS), relais_at(DECIZE)
    return {"workshop": workshop, "relais": relais, "site": workshop.sites.get(), "user": coordinator}


def _sold(network, received, sold, **fields):
    w, r = network["workshop"], network["relais"]
    return device_with_history(
        [(S.RECEIVED, w, received), (S.READY, w, received), (S.IN_STOCK, r, received), (S.SOLD, r, sold)],
        **fields,
    )


def test_delay_counts_from_the_donation_and_kilograms_from_its_weighing(network):
    donation = submit(lines=[line("laptop", 2)])
    Donation.objects.filter(pk=donation.pk).update(created_at=local(date(2025, 1, 10)))
    Reception.objects.create(
        donation=donation,
        refurbisher=network["workshop"],
        site=network["site"],
        received_at=local(date(2025, 1, 20)),
        received_by=network["user"],
        weight_kg=Decimal("10.00"),
    )
    donation_line = donation.lines.get()
    measured = _sold(network, date(2025, 1, 20), date(2025, 2, 19), weight_kg=Decimal("3.00"))
    typical = _sold(network, date(2025, 1, 20), date(2025, 3, 1))
    for device in (measured, typical):
        _from_donation(device, donation_line)
    # A screen that came with no donation: its delay counts from its first event, its own weight.
    _sold(network, date(2025, 1, 15), date(2025, 2, 4), code="screen")
    snapshots_compute(run_id=SnapshotRun.objects.create().pk)

    # Delays: 40 and 50 days from the donation (10 January), 20 days for the screen.
    assert _snapshot("median_days_to_distribution").value == 40
    assert _snapshot("median_days_to_distribution", P.MONTH, date(2025, 2, 1)).value == 30  # 40, 20
    # The donation weighed 10 kg, shared 3 : 2.2 between its laptops; the screen weighs 4.5 kg.
    kg = _snapshot("kg_collected")
    assert kg.value == pytest.approx(14.5)
    assert kg.extra["by_category"] == {"laptop": pytest.approx(10.0), "screen": pytest.approx(4.5)}


def test_the_collection_weight_counts_when_the_reception_was_not_weighed(network):
    donation = submit(lines=[line("laptop", 1)])
    Reception.objects.create(
        donation=donation,
        refurbisher=network["workshop"],
        site=network["site"],
        received_at=local(date(2025, 1, 20)),
        received_by=network["user"],
    )
    from donors.models import Collection

    Collection.objects.create(
        donation=donation,
        mode="drop_off",
        planned_date=date(2025, 1, 20),
        site=network["site"],
        weight_kg=Decimal("6.50"),
    )
    _from_donation(_sold(network, date(2025, 1, 20), date(2025, 2, 1)), donation.lines.get())
    snapshots_compute(run_id=SnapshotRun.objects.create().pk)
    assert _snapshot("kg_collected").value == pytest.approx(6.5)


def test_public_donor_ratio_divides_by_the_declared_retired_stock(network):
    first = submit(kind=DonorKind.PUBLIC_BODY, retired_stock_count=10, lines=[line("laptop", 2)])
    later = submit(kind=DonorKind.PUBLIC_BODY, retired_stock_count=4, lines=[line("screen", 1)])
    organisation = first.donor_organisation
    assert later.donor_organisation == organisation
    for donation in (first, later):  # both declared in 2025; the latest declaration stands
        Donation.objects.filter(pk=donation.pk).update(retired_stock_year=2025)
    Donation.objects.filter(pk=first.pk).update(created_at=local(date(2025, 1, 5)))
    Donation.objects.filter(pk=later.pk).update(created_at=local(date(2025, 2, 5)))
    assert public_donors_retired_stock() == {(organisation.pk, 2025): 4}

    sold = _sold(network, date(2025, 3, 1), date(2025, 4, 1))
    w = network["workshop"]
    in_progress = device_with_history([(S.RECEIVED, w, date(2025, 3, 1))])
    recycled = device_with_history([(S.RECEIVED, w, date(2025, 3, 1)), (S.DEEE, w, date(2025, 3, 9))])
    for device in (sold, in_progress, recycled):
        _from_donation(device, first.lines.get())
    snapshots_compute(run_id=SnapshotRun.objects.create().pk)

    row = _snapshot("public_donor_reuse", P.YEAR, date(2025, 1, 1))
    (donor,) = row.extra["donors"]
    assert donor["received"] == 3 and donor["oriented"] == 1 and donor["recycled"] == 1
    assert donor["in_progress"] == 1
    assert donor["retired_stock"] == 4 and donor["ratio"] == pytest.approx(25.0)
    assert donor["target"] == 50
