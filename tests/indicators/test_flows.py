"""The flow indicators (distribution, weights, reuse, public donors) on a generated history at real
towns, against an independent computation over the list of what the test built."""

import random
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone as django_timezone

from indicators.enums import PeriodType as P
from indicators.enums import TerritoryType
from indicators.models import IndicatorSnapshot, SnapshotRun
from indicators.services import snapshots_compute
from reemploi.enums import DeviceState as S
from reemploi.enums import OrganisationKind, Provenance
from tests.reemploi.factories import OrganisationFactory

from .factories import CLAMECY, COSNE, DECIZE, NEVERS, device_with_history, relais_at, workshop_at

pytestmark = pytest.mark.django_db

TYPICAL_KG = {"laptop": 2.2, "desktop": 8.0, "tablet": 0.6, "smartphone": 0.2, "screen": 4.5, "mouse": 0.1}
DEEE_2_6 = {"laptop", "desktop", "tablet", "smartphone", "screen", "mouse"}
PCS = {"laptop", "desktop"}
SANCERRE = "18241"


@dataclass
class Spec:
    """What the test built for one device, in plain data."""

    code: str
    provenance: str
    donor: object
    workshop: object
    relais: object
    created: date
    received: date | None
    outcome: str
    outcome_day: date | None = None
    weight: float | None = None
    distributions: list = field(default_factory=list)  # (day, state, relais) not undone by a return
    lent: list = field(default_factory=list)  # (day, relais)

    @property
    def kg(self):
        return self.weight if self.weight is not None else TYPICAL_KG[self.code]

    @property
    def reused(self):
        return bool(self.distributions or self.lent)


def build_history(rng, spec):
    steps = []
    w, r = spec.workshop, spec.relais
    if spec.received is None or spec.received > spec.created:
        steps += [(S.EXPECTED, w, spec.created)]
        if spec.received is None:
            return device_with_history(steps, code=spec.code, provenance=spec.provenance, donor=spec.donor)
        steps += [(S.COLLECTED, w, spec.received), (S.RECEIVED, w, spec.received)]
    else:
        steps += [(S.RECEIVED, w, spec.received)]
    day = spec.received
    if spec.outcome == "deee":
        steps += [(S.DEEE, w, spec.outcome_day)]
    elif spec.outcome == "parts":
        steps += [(S.AUDITED, w, day), (S.PARTS, w, spec.outcome_day)]
    else:
        steps += [
            (S.AUDITED, w, day),
            (S.SANITISED, w, day),
            (S.READY, w, day),
            (S.IN_TRANSIT, r, day),
            (S.IN_STOCK, r, day),
        ]
        d = spec.outcome_day
        if spec.outcome in ("sold", "given"):
            steps += [(spec.outcome, r, d)]
            spec.distributions.append((d, spec.outcome, r))
        elif spec.outcome == "lent":
            steps += [(S.LENT, r, d)]
            spec.lent.append((d, r))
        elif spec.outcome == "returned":  # sold, then returned under guarantee: no sale left
            steps += [
                (S.SOLD, r, d),
                (S.RETURNED, r, d + timedelta(days=10)),
                (S.RECEIVED, w, d + timedelta(days=12)),
            ]
        elif spec.outcome == "resold":  # sold, returned, repaired, sold again: one sale
            again = d + timedelta(days=rng.randint(20, 60))
            steps += [
                (S.SOLD, r, d),
                (S.RETURNED, r, d + timedelta(days=5)),
                (S.RECEIVED, w, d + timedelta(days=7)),
                (S.AUDITED, w, d + timedelta(days=8)),
                (S.READY, w, d + timedelta(days=9)),
                (S.IN_TRANSIT, r, d + timedelta(days=10)),
                (S.IN_STOCK, r, d + timedelta(days=11)),
                (S.SOLD, r, again),
            ]
            spec.distributions.append((again, "sold", r))
    return device_with_history(
        steps,
        code=spec.code,
        provenance=spec.provenance,
        donor=spec.donor,
        weight_kg=Decimal(str(spec.weight)) if spec.weight is not None else None,
    )


@pytest.fixture
def history(region):
    """About 120 devices over 14 months: two workshops, four relais in the Nièvre, one in the Cher."""
    rng = random.Random(2025)
    workshops = [workshop_at(NEVERS), workshop_at(COSNE)]
    relais = [relais_at(NEVERS), relais_at(DECIZE), relais_at(CLAMECY), relais_at(COSNE)]
    cher = relais_at(SANCERRE)
    public = OrganisationFactory(kind=OrganisationKind.PUBLIC_BODY, name="Mairie de Nevers")
    company = OrganisationFactory(kind=OrganisationKind.COMPANY, name="Entreprise nivernaise")
    donors = {
        Provenance.PUBLIC: public,
        Provenance.COMPANY: company,
        Provenance.CITIZEN: None,
        Provenance.ASSOCIATION: None,
    }
    specs = []
    outcomes = (
        ["sold"] * 6
        + ["given"] * 2
        + ["lent", "deee", "deee", "parts", "stock", "returned", "resold", "never"]
    )
    for _ in range(120):
        created = date(2024, 11, 1) + timedelta(days=rng.randint(0, 400))
        outcome = rng.choice(outcomes)
        received = None if outcome == "never" else created + timedelta(days=rng.choice([0, 0, 3, 9]))
        provenance = rng.choice(list(donors))
        spec = Spec(
            code=rng.choice(["laptop", "laptop", "desktop", "tablet", "smartphone", "screen", "mouse"]),
            provenance=provenance,
            donor=donors[provenance],
            workshop=rng.choice(workshops),
            relais=cher if rng.random() < 0.15 else rng.choice(relais),
            created=created,
            received=received,
            outcome=outcome,
            outcome_day=received + timedelta(days=rng.randint(1, 90)) if received else None,
            weight=rng.choice([None, None, 1.85, 3.1]),
        )
        build_history(rng, spec)
        specs.append(spec)
    return {"specs": specs, "relais": relais, "cher": cher, "public": public}


# --- The independent computation ----------------------------------------------------------------


def start_of(day, period_type, total_start):
    if period_type == P.MONTH:
        return date(day.year, day.month, 1)
    if period_type == P.QUARTER:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if period_type == P.YEAR:
        return date(day.year, 1, 1)
    return total_start


def every_period(first, last, period_type, total_start):
    starts, day = [], first
    while day <= last:
        start = start_of(day, period_type, total_start)
        if start not in starts:
            starts.append(start)
        day += timedelta(days=1)
    return starts


def departement_of(organisation):
    return organisation.sites.first().commune.departement.code


class Expected:
    def __init__(self, specs):
        self.specs = specs
        days = [s.received for s in specs if s.received]
        days += [d for s in specs for d, _st, _r in s.distributions] + [d for s in specs for d, _r in s.lent]
        days += [s.outcome_day for s in specs if s.outcome in ("deee", "parts")]
        days += [s.outcome_day for s in specs if s.outcome in ("returned", "resold")]  # the undone sales
        self.first = min(days)
        self.total_start = date(self.first.year, self.first.month, 1)
        self.today = django_timezone.localdate()

    def periods(self, period_type):
        return every_period(self.first, self.today, period_type, self.total_start)

    def grouped(self, items, period_type, value, departement="58"):
        """{period start: value(list of items)} for every period; items are (day, departement, item)."""
        groups = defaultdict(list)
        for day, dept, item in items:
            if dept == departement:
                groups[start_of(day, period_type, self.total_start)].append(item)
        return {start: value(groups.get(start, [])) for start in self.periods(period_type)}

    def distributed(self, pcs_only=False):
        return [
            (day, departement_of(relais), (spec, state, relais))
            for spec in self.specs
            for day, state, relais in spec.distributions
            if not pcs_only or spec.code in PCS
        ]

    def intakes(self):
        return [(s.received, departement_of(s.workshop), s) for s in self.specs if s.received]


def snapshot_values(indicator, period_type, territory_code="58", key=None):
    rows = IndicatorSnapshot.objects.filter(
        indicator=indicator, period_type=period_type, territory_code=territory_code
    )
    return {r.period_start: (r.extra.get(key) if key else r.value) for r in rows}


def compute():
    run = SnapshotRun.objects.create()
    return snapshots_compute(run_id=run.pk)


FLOW_TYPES = [P.MONTH, P.QUARTER, P.YEAR, P.TOTAL]


@pytest.mark.parametrize("period_type", FLOW_TYPES)
def test_pcs_and_devices_sold_or_given_match_an_independent_count(history, period_type):
    compute()
    expected = Expected(history["specs"])
    pcs = expected.grouped(expected.distributed(pcs_only=True), period_type, len)
    assert snapshot_values("pcs_distributed", period_type) == pytest.approx(pcs)
    sold = expected.grouped(
        expected.distributed(pcs_only=True),
        period_type,
        lambda items: sum(st == "sold" for _s, st, _r in items),
    )
    assert snapshot_values("pcs_distributed", period_type, key="sold") == sold
    devices = expected.grouped(expected.distributed(), period_type, len)
    assert snapshot_values("devices_distributed", period_type) == pytest.approx(devices)

    def by_category(items):
        result = defaultdict(lambda: {"sold": 0, "given": 0})
        for spec, state, _relais in items:
            result[spec.code][state] += 1
        return dict(result)

    assert snapshot_values("devices_distributed", period_type, key="by_category") == expected.grouped(
        expected.distributed(), period_type, by_category
    )
    cher = expected.grouped(expected.distributed(), period_type, len, departement="18")
    assert snapshot_values("devices_distributed", period_type, territory_code="18") == pytest.approx(cher)


@pytest.mark.parametrize("period_type", FLOW_TYPES)
def test_relais_figures_match_an_independent_count(history, period_type):
    compute()
    expected = Expected(history["specs"])
    for relais in history["relais"] + [history["cher"]]:
        mine = [(d, dept, item) for d, dept, item in expected.distributed() if item[2] == relais]
        dense = expected.grouped(mine, period_type, len, departement=departement_of(relais))
        sparse = {start: count for start, count in dense.items() if count}
        assert snapshot_values(
            "devices_distributed", period_type, territory_code=str(relais.uuid)
        ) == pytest.approx(sparse)
        pcs = expected.grouped(
            [item for item in mine if item[2][0].code in PCS], period_type, len, departement_of(relais)
        )
        got = snapshot_values("pcs_distributed", period_type, territory_code=str(relais.uuid))
        assert got == pytest.approx({start: count for start, count in pcs.items() if count})
        assert not snapshot_values("kg_reused", period_type, territory_code=str(relais.uuid))
    rows = IndicatorSnapshot.objects.filter(
        territory_type=TerritoryType.RELAIS, territory_code=str(history["cher"].uuid)
    )
    assert set(rows.values_list("departement_code", flat=True)) <= {"18"}


@pytest.mark.parametrize("period_type", FLOW_TYPES)
def test_loans_median_delay_and_weights_match_an_independent_computation(history, period_type):
    compute()
    expected = Expected(history["specs"])
    specs = history["specs"]
    lent = [(d, departement_of(r), s) for s in specs for d, r in s.lent]
    assert snapshot_values("devices_lent", period_type) == pytest.approx(
        expected.grouped(lent, period_type, len)
    )
    medians = expected.grouped(
        expected.distributed(),
        period_type,
        lambda items: (
            statistics.median([(d - s.created).days for s, _st, _r in items for d, _x, _y in s.distributions])
            if items
            else None
        ),
    )
    # Each spec has at most one standing distribution, so its delay is from its creation to it.
    got = snapshot_values("median_days_to_distribution", period_type)
    assert got == {k: (pytest.approx(v) if v is not None else None) for k, v in medians.items()}
    kg_in = expected.grouped(expected.intakes(), period_type, lambda items: sum(s.kg for s in items))
    assert snapshot_values("kg_collected", period_type) == pytest.approx(kg_in)
    disposals = [
        (s.outcome_day, departement_of(s.workshop), s) for s in specs if s.outcome in ("deee", "parts")
    ]
    kg_deee = expected.grouped(
        disposals, period_type, lambda items: sum(s.kg for s in items if s.outcome == "deee")
    )
    assert snapshot_values("kg_deee", period_type) == pytest.approx(kg_deee)
    parts = expected.grouped(
        disposals, period_type, lambda items: sum(s.kg for s in items if s.outcome == "parts")
    )
    assert snapshot_values("kg_deee", period_type, key="parts_kg") == pytest.approx(parts)


@pytest.mark.parametrize("period_type", FLOW_TYPES)
def test_reuse_rate_by_donor_kind_follows_each_cohort_of_received_devices(history, period_type):
    compute()
    expected = Expected(history["specs"])

    def rate(items):
        return 100 * sum(s.reused for s in items) / len(items) if items else None

    rates = expected.grouped(expected.intakes(), period_type, rate)
    assert snapshot_values("reuse_rate", period_type) == {
        k: (pytest.approx(v) if v is not None else None) for k, v in rates.items()
    }

    def by_provenance(items):
        result = {}
        for provenance in sorted({s.provenance for s in items}):
            of_kind = [s for s in items if s.provenance == provenance]
            result[provenance] = {
                "received": len(of_kind),
                "reused": sum(s.reused for s in of_kind),
                "rate": pytest.approx(rate(of_kind)),
            }
        return result

    assert snapshot_values("reuse_rate", period_type, key="by_provenance") == expected.grouped(
        expected.intakes(), period_type, by_provenance
    )


def test_public_donor_items_oriented_to_reuse_per_year(history):
    compute()
    expected = Expected(history["specs"])
    public = [
        s for s in history["specs"] if s.donor == history["public"] and s.received and s.code in DEEE_2_6
    ]
    # The donor has no site: it counts in the département of the workshops that received its items.
    for year in (2024, 2025):
        of_year = [s for s in public if s.received.year == year]
        row = IndicatorSnapshot.objects.get(
            indicator="public_donor_reuse",
            period_type=P.YEAR,
            period_start=date(year, 1, 1),
            territory_code="58",
        )
        (line,) = row.extra["donors"] if of_year else [None]
        assert row.value == sum(s.reused for s in of_year)
        assert line["received"] == len(of_year)
        assert line["oriented"] == sum(s.reused for s in of_year)
        assert line["recycled"] == sum(1 for s in of_year if not s.reused and s.outcome in ("deee", "parts"))
        assert line["retired_stock"] is None and line["ratio"] is None
        assert line["target"] == {2024: 35, 2025: 50}[year]
    total = IndicatorSnapshot.objects.get(
        indicator="public_donor_reuse", period_type=P.TOTAL, territory_code="58"
    )
    assert total.value == sum(s.reused for s in public)
    assert total.period_start == expected.total_start


def test_an_event_counts_on_its_day_in_paris(region):
    workshop, relais = workshop_at(NEVERS), relais_at(DECIZE)
    utc = UTC
    S_ = S
    device_with_history(
        [
            (S_.RECEIVED, workshop, datetime(2025, 3, 1, 10, tzinfo=utc)),
            (S_.IN_STOCK, relais, datetime(2025, 3, 2, 10, tzinfo=utc)),
            # 22:30 UTC on 31 March is 00:30 on 1 April in Paris (summer time).
            (S_.SOLD, relais, datetime(2025, 3, 31, 22, 30, tzinfo=utc)),
        ]
    )
    compute()
    months = snapshot_values("devices_distributed", P.MONTH)
    assert months[date(2025, 3, 1)] == 0 and months[date(2025, 4, 1)] == 1
