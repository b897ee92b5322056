"""The mesh indicators on the real communes of the Nièvre (and of the départements around it),
with places at real towns, against a brute-force computation written here in plain Python."""

import math

import pytest

from indicators.enums import PeriodType, TerritoryType
from indicators.models import IndicatorSnapshot, SnapshotRun
from indicators.services import snapshots_compute
from reemploi.enums import OrganisationKind

from .factories import (
    CHATEAU_CHINON,
    CLAMECY,
    COSNE,
    DECIZE,
    LA_CHARITE,
    LUZY,
    NEVERS,
    SAINT_PIERRE,
    organisation_at,
    relais_at,
    workshop_at,
)

pytestmark = pytest.mark.django_db

RELAIS_TOWNS = [NEVERS, COSNE, DECIZE, CLAMECY, CHATEAU_CHINON, LA_CHARITE, LUZY, SAINT_PIERRE]
WORKSHOP_TOWNS = [NEVERS, CHATEAU_CHINON, COSNE]
SANCERRE = "18241"  # Cher, across the Loire from Cosne-Cours-sur-Loire


def distance_km(a, b):
    """Great-circle distance on the mean sphere, atan2 form (not the haversine the code uses)."""
    radius = 6371.0088
    phi1, phi2, dl = math.radians(a[0]), math.radians(b[0]), math.radians(b[1] - a[1])
    y = math.hypot(
        math.cos(phi2) * math.sin(dl),
        math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dl),
    )
    x = math.sin(phi1) * math.sin(phi2) + math.cos(phi1) * math.cos(phi2) * math.cos(dl)
    return radius * math.atan2(y, x)


def expected_mesh(communes, own_places, all_places):
    """Every mesh figure by brute force over plain lists."""
    population = sum(c["population"] for c in communes)
    nearest = [min(distance_km((c["lat"], c["lon"]), p) for p in all_places) for c in communes]
    nearest_own = [min(distance_km((c["lat"], c["lon"]), p) for p in own_places) for c in communes]
    between = [
        min(distance_km(p, q) for j, q in enumerate(own_places) if j != i) for i, p in enumerate(own_places)
    ]
    far = sorted(
        ((c, d) for c, d in zip(communes, nearest, strict=True) if d > 20),
        key=lambda pair: (-pair[0]["population"], -pair[1]),
    )
    return {
        "count": len(own_places),
        "mean_nearest_km": sum(between) / len(between),
        "weighted_distance_km": sum(c["population"] * d for c, d in zip(communes, nearest, strict=True))
        / population,
        "within_departement_only_km": sum(
            c["population"] * d for c, d in zip(communes, nearest_own, strict=True)
        )
        / population,
        "share_5km": 100
        * sum(c["population"] for c, d in zip(communes, nearest, strict=True) if d <= 5)
        / population,
        "share_10km": 100
        * sum(c["population"] for c, d in zip(communes, nearest, strict=True) if d <= 10)
        / population,
        "share_20km": 100
        * sum(c["population"] for c, d in zip(communes, nearest, strict=True) if d <= 20)
        / population,
        "per_10k": len(own_places) / population * 10_000,
        "far_communes": len(far),
        "far_list": [c["insee"] for c, _d in far[:10]],
        "nearest": {c["insee"]: d for c, d in zip(communes, nearest, strict=True)},
    }


def centre(rows, insee):
    row = next(r for r in rows if r["insee"] == insee)
    return (row["lat"], row["lon"])


def state(indicator, territory_code="58", territory_type=TerritoryType.DEPARTEMENT):
    return IndicatorSnapshot.objects.get(
        indicator=indicator,
        territory_type=territory_type,
        territory_code=territory_code,
        period_type=PeriodType.DAY,
    )


def compute():
    run = SnapshotRun.objects.create()
    return snapshots_compute(run_id=run.pk)


@pytest.fixture
def network(region, region_rows, nievre_rows):
    """Relais at eight real towns of the Nièvre, one across the border at Sancerre, a public place in
    Nevers besides its relais, and workshops collecting DEEE at three towns."""
    for index, insee in enumerate(RELAIS_TOWNS):
        relais_at(insee, public_devices=index + 1)
    relais_at(SANCERRE, public_devices=4)
    organisation_at(
        NEVERS,
        OrganisationKind.PUBLIC_BODY,
        name="Médiathèque Jean Jaurès",
        is_public_place=True,
        public_devices=6,
    )
    for insee in WORKSHOP_TOWNS:
        workshop_at(insee)
    organisation_at(
        CLAMECY, OrganisationKind.RELAIS, name="Ancien relais fermé", is_relais_shop=True, is_active=False
    )
    places = [centre(region_rows, insee) for insee in RELAIS_TOWNS] + [centre(region_rows, NEVERS)]
    return {
        "communes": nievre_rows,
        "places": places,
        "all_places": places + [centre(region_rows, SANCERRE)],
        "points": [centre(region_rows, insee) for insee in WORKSHOP_TOWNS],
    }


def test_every_place_mesh_indicator_matches_a_brute_force_computation(network):
    compute()
    expected = expected_mesh(network["communes"], network["places"], network["all_places"])
    assert state("places_count").value == expected["count"] == 9
    assert state("places_mean_nearest_km").value == pytest.approx(expected["mean_nearest_km"], abs=1e-6)
    weighted = state("places_weighted_distance_km")
    assert weighted.value == pytest.approx(expected["weighted_distance_km"], abs=1e-6)
    assert weighted.extra["within_departement_only_km"] == pytest.approx(
        expected["within_departement_only_km"], abs=1e-6
    )
    assert weighted.extra["communes"] == 309
    for radius in (5, 10, 20):
        assert state(f"places_share_{radius}km").value == pytest.approx(
            expected[f"share_{radius}km"], abs=1e-9
        )
    assert state("places_per_10k").value == pytest.approx(expected["per_10k"], abs=1e-12)
    far = state("places_far_communes")
    assert far.value == expected["far_communes"]
    assert [c["insee"] for c in far.extra["communes"]] == expected["far_list"]
    assert state("places_count").extra["population"] == 202_417


def test_each_commune_distance_matches_a_brute_force_computation(network):
    compute()
    expected = expected_mesh(network["communes"], network["places"], network["all_places"])["nearest"]
    rows = IndicatorSnapshot.objects.filter(
        indicator="commune_place_distance_km", territory_type=TerritoryType.COMMUNE, departement_code="58"
    )
    assert rows.count() == 309
    for row in rows:
        assert row.value == pytest.approx(expected[row.territory_code], abs=1e-3)
    nevers = rows.get(territory_code=NEVERS)
    assert nevers.value == pytest.approx(0, abs=1e-6) and nevers.extra["population"] == 32_830


def test_deee_collection_points_mesh_matches_a_brute_force_computation(network):
    compute()
    expected = expected_mesh(network["communes"], network["points"], network["points"])
    assert state("deee_points_count").value == 3
    assert state("deee_points_mean_nearest_km").value == pytest.approx(expected["mean_nearest_km"], abs=1e-6)
    assert state("deee_points_weighted_distance_km").value == pytest.approx(
        expected["weighted_distance_km"], abs=1e-6
    )
    for radius in (5, 10, 20):
        assert state(f"deee_points_share_{radius}km").value == pytest.approx(
            expected[f"share_{radius}km"], abs=1e-9
        )
    assert state("deee_points_per_10k").value == pytest.approx(expected["per_10k"])
    assert state("deee_points_far_communes").value == expected["far_communes"]
    assert [c["insee"] for c in state("deee_points_far_communes").extra["communes"]] == expected["far_list"]


def test_residents_reach_places_across_the_border_but_the_network_spacing_counts_own_places_only(network):
    compute()
    weighted = state("places_weighted_distance_km")
    # Communes near Sancerre are nearest to it: the access figure uses it ...
    assert weighted.extra["communes_nearest_outside"] > 0
    assert weighted.value < weighted.extra["within_departement_only_km"]
    sancerre = network["all_places"][-1]
    nearest_to_sancerre = {
        c["insee"]
        for c in network["communes"]
        if distance_km((c["lat"], c["lon"]), sancerre)
        < min(distance_km((c["lat"], c["lon"]), p) for p in network["places"])
    }
    outside = IndicatorSnapshot.objects.filter(
        indicator="commune_place_distance_km", departement_code="58", extra__outside=True
    )
    assert set(outside.values_list("territory_code", flat=True)) == nearest_to_sancerre
    assert weighted.extra["communes_nearest_outside"] == len(nearest_to_sancerre)
    assert {row.extra["nearest_commune"] for row in outside} == {SANCERRE}
    # ... and the map shows it among the places serving the département, flagged as outside.
    sites = state("places_count").extra["sites"]
    assert sorted(s["commune"] for s in sites if s["outside"]) == [SANCERRE]
    # The spacing of the network is that of the Nièvre's places: Sancerre is left out of it.
    spacing = state("places_mean_nearest_km")
    assert spacing.extra["places"] == 9
    assert spacing.value != pytest.approx(spacing.extra["across_border_km"])


def test_public_devices_are_summed_over_the_open_places(network):
    compute()
    assert state("public_devices").value == sum(range(1, 9)) + 6  # the Sancerre relais is in the Cher
    nevers = state("public_devices", NEVERS, TerritoryType.COMMUNE)
    assert nevers.value == 1 + 6 and nevers.extra["places"] == 2
    assert state("public_devices", "18").value == 4


def test_the_neighbouring_departement_is_computed_with_its_own_places(network):
    compute()
    assert state("places_count", "18").value == 1
    assert state("places_mean_nearest_km", "18").value is None  # a single place has no neighbour
    assert IndicatorSnapshot.objects.filter(
        departement_code="18", territory_type=TerritoryType.COMMUNE
    ).exists()
