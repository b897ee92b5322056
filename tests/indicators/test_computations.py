"""The pure computations, on hand-made plain data, against independent computations written here."""

import math
import random
import statistics
from datetime import date

import numpy as np
import pytest

from indicators import computations as c
from indicators.catalogue import decree_2023_266_target
from indicators.enums import PeriodType as P


def great_circle_km(lat1, lon1, lat2, lon2, radius=6371.0088):
    """Vincenty's formula on the sphere (atan2 form): another way to the same distance."""
    phi1, phi2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    y = math.hypot(
        math.cos(phi2) * math.sin(dl),
        math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dl),
    )
    x = math.sin(phi1) * math.sin(phi2) + math.cos(phi1) * math.cos(phi2) * math.cos(dl)
    return radius * math.atan2(y, x)


def random_points(rng, n):
    """Points over metropolitan France."""
    return [rng.uniform(42.3, 51.1) for _ in range(n)], [rng.uniform(-4.8, 8.2) for _ in range(n)]


def test_haversine_agrees_with_the_atan2_formula_and_known_distances():
    # Nevers – Paris, Nevers – Cosne-Cours-sur-Loire (commune centres)
    assert c.haversine_km(46.9852, 3.15977, 48.8566, 2.3522) == pytest.approx(
        great_circle_km(46.9852, 3.15977, 48.8566, 2.3522), abs=1e-9
    )
    assert 215 < c.haversine_km(46.9852, 3.15977, 48.8566, 2.3522) < 220
    assert c.haversine_km(46.9852, 3.15977, 47.41396, 2.94186) == pytest.approx(50.4, abs=0.1)
    assert c.EARTH_RADIUS_KM == 6371.0088


def test_nearest_place_with_the_spatial_index_matches_a_brute_force_search():
    rng = random.Random(7)
    src_lat, src_lon = random_points(rng, 400)
    dst_lat, dst_lon = random_points(rng, 60)
    distances, indices = c.nearest_km(src_lat, src_lon, dst_lat, dst_lon)
    for i in range(len(src_lat)):
        brute = [great_circle_km(src_lat[i], src_lon[i], dst_lat[j], dst_lon[j]) for j in range(len(dst_lat))]
        assert distances[i] == pytest.approx(min(brute), abs=1e-6)
        assert brute[indices[i]] == pytest.approx(min(brute), abs=1e-6)


def test_nearest_other_place_skips_itself_and_counts_a_twin_at_zero_km():
    lat = [47.0, 47.0, 47.1, 46.5]
    lon = [3.0, 3.0, 3.1, 3.5]
    distances, others = c.nearest_other_km(lat, lon)
    assert distances[0] == pytest.approx(0) and others[0] == 1
    assert distances[1] == pytest.approx(0) and others[1] == 0
    assert others[2] in (0, 1)
    assert distances[2] == pytest.approx(great_circle_km(47.1, 3.1, 47.0, 3.0), abs=1e-6)
    assert distances[3] == pytest.approx(
        min(great_circle_km(46.5, 3.5, la, lo) for la, lo in zip(lat[:3], lon[:3], strict=True)), abs=1e-6
    )


def test_nearest_with_too_few_places_is_undefined():
    assert np.isinf(c.nearest_km([47.0], [3.0], [], [])[0]).all()
    assert np.isnan(c.nearest_other_km([47.0], [3.0])[0]).all()
    assert c.mean_or_none(c.nearest_other_km([47.0], [3.0])[0]) is None


def test_mesh_summaries_against_plain_arithmetic():
    distances = [2.0, 7.0, 12.0, 30.0, 25.0]
    population = [1000, 500, 200, 50, 80]
    assert c.weighted_mean(distances, population) == pytest.approx(
        sum(d * p for d, p in zip(distances, population, strict=True)) / sum(population)
    )
    assert c.population_share_within(distances, population, 10) == pytest.approx(1500 / 1830 * 100)
    assert c.population_share_within(distances, population, 2) == pytest.approx(1000 / 1830 * 100)
    assert c.places_per_10k(3, 1830) == pytest.approx(3 / 1830 * 10_000)
    count, listed = c.far_communes(distances, population)
    assert count == 2 and listed == [4, 3]  # 80 inhabitants at 25 km, then 50 at 30 km
    assert c.far_communes([np.inf, np.inf], [10, 20]) == (None, [])
    assert c.weighted_mean([np.inf], [10]) is None


@pytest.mark.parametrize(
    ("day", "period_type", "expected"),
    [
        (date(2025, 2, 15), P.MONTH, date(2025, 2, 1)),
        (date(2025, 2, 15), P.QUARTER, date(2025, 1, 1)),
        (date(2025, 12, 31), P.QUARTER, date(2025, 10, 1)),
        (date(2025, 7, 1), P.QUARTER, date(2025, 7, 1)),
        (date(1969, 11, 5), P.QUARTER, date(1969, 10, 1)),
        (date(2025, 12, 31), P.YEAR, date(2025, 1, 1)),
        (date(2025, 12, 31), P.TOTAL, date(2024, 3, 1)),
    ],
)
def test_a_day_falls_in_the_period_that_contains_it(day, period_type, expected):
    assert c.period_start(day, period_type, total_start=date(2024, 3, 1)) == expected


def test_periods_between_previous_and_end():
    assert c.periods_between(date(2024, 11, 20), date(2025, 2, 3), P.MONTH) == [
        date(2024, 11, 1),
        date(2024, 12, 1),
        date(2025, 1, 1),
        date(2025, 2, 1),
    ]
    assert c.periods_between(date(2024, 11, 20), date(2025, 2, 3), P.QUARTER) == [
        date(2024, 10, 1),
        date(2025, 1, 1),
    ]
    assert c.periods_between(date(2023, 5, 1), date(2025, 2, 3), P.YEAR) == [
        date(2023, 1, 1),
        date(2024, 1, 1),
        date(2025, 1, 1),
    ]
    assert c.previous_period(date(2025, 1, 1), P.MONTH) == date(2024, 12, 1)
    assert c.previous_period(date(2025, 1, 1), P.QUARTER) == date(2024, 10, 1)
    assert c.previous_period(date(2025, 1, 1), P.YEAR) == date(2024, 1, 1)
    assert c.previous_period(date(2025, 1, 1), P.TOTAL) is None
    assert c.period_end(date(2024, 2, 1), P.MONTH) == date(2024, 2, 29)
    assert c.period_end(date(2025, 10, 1), P.QUARTER) == date(2025, 12, 31)


def test_a_return_under_guarantee_undoes_the_sale_it_follows_only():
    devices = [1, 1, 1, 2, 2, 3]
    states = ["sold", "returned", "sold", "lent", "returned", "given"]
    undone = c.cancelled_by_return(devices, states)
    assert undone.tolist() == [True, False, False, False, False, False]
    # Rows of several devices interleaved, still chronological per device.
    undone = c.cancelled_by_return([1, 2, 1, 2], ["sold", "given", "returned", "returned"])
    assert undone.tolist() == [True, True, False, False]


def test_decree_2023_266_ratio_and_targets():
    assert c.decree_ratio(35, 100) == pytest.approx(35.0)
    assert c.decree_ratio(35, None) is None
    assert c.decree_ratio(35, 0) is None
    assert [decree_2023_266_target(year) for year in (2022, 2023, 2024, 2025, 2031)] == [None, 25, 35, 50, 50]


def test_an_organisation_lies_at_its_relais_shop_then_its_first_site_then_where_it_declares():
    located = c.locate_organisations(
        {1: "58", 2: "58", 3: "21", 4: None},
        [
            (1, 10, False, "58194", "58"),
            (1, 11, True, "58095", "58"),
            (2, 21, False, "18033", "18"),
            (2, 20, False, "58086", "58"),
        ],
    )
    assert located == {1: ("58", "58095"), 2: ("58", "58086"), 3: ("21", ""), 4: ("", "")}


# --- Rows built from a hand-made dataset ---------------------------------------------------------


def organisations(*rows):
    """(id, kind, département) rows."""
    return c.Organisations(
        id=np.array([r[0] for r in rows], dtype=np.int64),
        uuid=[f"uuid-{r[0]}" for r in rows],
        name=[f"Organisation {r[0]}" for r in rows],
        kind=[r[1] for r in rows],
        departement=[r[2] for r in rows],
        commune=["" for _ in rows],
    )


def dataset(**fields):
    values = {
        "today": date(2025, 12, 31),
        "departements": {"58": "Nièvre"},
        "categories": {1: ("laptop", "2"), 2: ("screen", "2"), 3: ("mouse", "6")},
        "organisations": organisations((1, "refurbisher", "58"), (2, "relais", "58"), (3, "relais", "58")),
        "distributions": c.DistributionEvents(),
        "intakes": c.DeviceFlows(),
        "disposals": c.DeviceFlows(),
        "places": c.Places(),
        "collection_points": c.Places(),
        "communes": c.Communes(),
    }
    values.update(fields)
    return c.Dataset(**values)


def values(rows, indicator, territory_code="58", period_type=P.MONTH):
    return {
        r.period_start: r.value
        for r in rows
        if r.indicator == indicator and r.territory_code == territory_code and r.period_type == period_type
    }


@pytest.mark.parametrize("indicator", ["people_equipped", "structures_equipped"])
def test_distinct_beneficiaries_are_counted_once_per_period(indicator):
    rng = random.Random(3)
    sales = [
        (date(2025, rng.randint(1, 12), rng.randint(1, 28)), rng.choice([2, 3]), rng.randint(1, 15))
        for _ in range(200)
    ]
    source = c.PersonSales(
        day=np.array([s[0] for s in sales], dtype="datetime64[D]"),
        holder=np.array([s[1] for s in sales], dtype=np.int64),
        beneficiary=np.array([s[2] for s in sales], dtype=np.int64),
    )
    key = "people_sales" if indicator == "people_equipped" else "structure_sales"
    rows = c.build_rows(dataset(**{key: source}))
    by_month = values(rows, indicator)
    for month in range(1, 13):
        expected = {b for d, _h, b in sales if d.month == month}
        assert by_month[date(2025, month, 1)] == len(expected)
    assert values(rows, indicator, period_type=P.YEAR)[date(2025, 1, 1)] == len({b for _d, _h, b in sales})
    quarter = values(rows, indicator, period_type=P.QUARTER)[date(2025, 4, 1)]
    assert quarter == len({b for d, _h, b in sales if 4 <= d.month <= 6})
    relais = values(rows, indicator, territory_code="uuid-3", period_type=P.TOTAL)
    assert list(relais.values()) == [len({b for _d, h, b in sales if h == 3})]


def test_people_equipped_is_not_published_until_its_source_is_connected():
    rows = c.build_rows(dataset())
    assert not [r for r in rows if r.indicator in ("people_equipped", "structures_equipped")]


def test_median_delay_per_period_against_the_statistics_module():
    rng = random.Random(11)
    events = []
    for device in range(1, 81):
        first = date(2025, rng.randint(1, 6), rng.randint(1, 28))
        sold = date(2025, rng.randint(first.month + 1, 12), rng.randint(1, 28))
        events.append((device, sold, rng.choice(["sold", "given"]), rng.choice([2, 3]), first))
    data = dataset(
        distributions=c.DistributionEvents(
            device=np.array([e[0] for e in events]),
            day=np.array([e[1] for e in events], dtype="datetime64[D]"),
            state=np.array([e[2] for e in events]),
            holder=np.array([e[3] for e in events]),
            category=np.ones(len(events), dtype=np.int64),
            weight_kg=np.full(len(events), 2.2),
            first_day=np.array([e[4] for e in events], dtype="datetime64[D]"),
        )
    )
    rows = c.build_rows(data)
    medians = values(rows, "median_days_to_distribution", period_type=P.QUARTER)
    for quarter in (1, 4, 7, 10):
        delays = [(e[1] - e[4]).days for e in events if quarter <= e[1].month < quarter + 3]
        expected = statistics.median(delays) if delays else None
        assert medians[date(2025, quarter, 1)] == (pytest.approx(expected) if delays else None)
    total = values(rows, "median_days_to_distribution", period_type=P.TOTAL)
    assert list(total.values()) == [pytest.approx(statistics.median([(e[1] - e[4]).days for e in events]))]
    # A département's figure: relais get none.
    assert not values(rows, "median_days_to_distribution", territory_code="uuid-2", period_type=P.TOTAL)


def test_public_donor_ratio_uses_the_declared_retired_stock_once_connected():
    intakes = c.DeviceFlows(
        device=np.array([1, 2, 3, 4, 5]),
        day=np.array(
            ["2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01", "2024-05-01"], dtype="datetime64[D]"
        ),
        state=np.array(["received"] * 5),
        holder=np.array([1] * 5),
        category=np.array([1, 2, 1, 3, 1]),  # the mouse (3) is DEEE 6°: covered too
        weight_kg=np.ones(5),
        provenance=np.array(["public"] * 5),
        donor=np.array([9, 9, 9, 9, 9]),
    )
    distributions = c.DistributionEvents(
        device=np.array([1, 2]),
        day=np.array(["2025-06-01", "2025-07-01"], dtype="datetime64[D]"),
        state=np.array(["sold", "given"]),
        holder=np.array([2, 2]),
        category=np.array([1, 2]),
        weight_kg=np.ones(2),
        first_day=np.array(["2025-02-01", "2025-03-01"], dtype="datetime64[D]"),
    )
    disposals = c.DeviceFlows(
        device=np.array([3]),
        day=np.array(["2025-05-01"], dtype="datetime64[D]"),
        state=np.array(["deee"]),
        holder=np.array([1]),
        category=np.array([1]),
        weight_kg=np.ones(1),
        provenance=np.array(["public"]),
        donor=np.array([9]),
    )
    orgs = organisations((1, "refurbisher", "58"), (2, "relais", "58"), (9, "public_body", "58"))
    data = dataset(
        organisations=orgs,
        intakes=intakes,
        distributions=distributions,
        disposals=disposals,
        retired_stock={(9, 2025): 8},
    )
    rows = [r for r in c.build_rows(data) if r.indicator == "public_donor_reuse"]
    year = next(r for r in rows if r.period_type == P.YEAR and r.period_start == date(2025, 1, 1))
    assert year.value == 2
    (line,) = year.extra["donors"]
    assert line == {
        "uuid": "uuid-9",
        "name": "Organisation 9",
        "received": 4,
        "oriented": 2,
        "in_progress": 1,
        "recycled": 1,
        "retired_stock": 8,
        "ratio": pytest.approx(25.0),
        "target": 50,
    }
    previous = next(r for r in rows if r.period_type == P.YEAR and r.period_start == date(2024, 1, 1))
    assert (
        previous.extra["donors"][0]["retired_stock"] is None and previous.extra["donors"][0]["ratio"] is None
    )
