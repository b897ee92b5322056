"""Every indicator, computed by small pure functions over plain data (numpy arrays, dicts).

Nothing here reads the database: `selectors.py` loads a `Dataset`, `build_rows(dataset)` returns the
snapshot rows, `services.py` writes them. Each step can therefore be tested on hand-made data and
checked against an independent computation.

Distances are great-circle distances on a sphere of radius EARTH_RADIUS_KM, the IUGG mean Earth
radius R1 = (2a + b) / 3 of the WGS 84 ellipsoid (6 371.0088 km); the error against the ellipsoid
is below 0.5 % at the scale of a département. Nearest neighbours are found with scipy's cKDTree on
3-D unit vectors: the Euclidean (chord) distance c between two unit vectors is monotonic in the
great-circle distance d = 2 R asin(c / 2), so the nearest by chord is the nearest on the sphere,
and converting the chord gives exactly the haversine distance.

Border effects. A département's places are the sites located in its communes. Two different
questions get two different answers:
- the strategy's "mean distance between equipped places" describes the département's own network:
  each place's nearest OTHER place is searched among the places of the same département;
- the distance from a commune to the nearest place describes what residents can reach: it is
  searched among all the places of the network, on both sides of the limit (people living near the
  Cher or the Yonne use the nearest place whatever its département; ignoring it would overstate
  their distance). The variant restricted to the département's own places is kept in `extra`
  (`within_departement_only_km`) together with how many communes are nearest to a place outside.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from .catalogue import decree_2023_266_target
from .enums import PeriodType, TerritoryType

EARTH_RADIUS_KM = 6371.0088
RADII_KM = (5, 10, 20)
FAR_KM = 20
FAR_COMMUNES_LISTED = 10

SOLD, GIVEN, LENT, RETURNED = "sold", "given", "lent", "returned"
DEEE, PARTS = "deee", "parts"
DEEE_CATEGORIES = ("2", "6")  # décret n° 2023-266 covers DEEE categories 2° (screens) and 6° (small IT)
FLOW_PERIODS = (PeriodType.MONTH, PeriodType.QUARTER, PeriodType.YEAR, PeriodType.TOTAL)
DAY_SPAN = 100_000  # combines a territory and a day (days since 1970) into one integer key


# --- Geometry ------------------------------------------------------------------------------------


def haversine_km(lat1, lon1, lat2, lon2):
    """Great-circle distance in km between points given in degrees (numpy broadcasting)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(x, dtype=float)) for x in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def unit_vectors(lat, lon):
    lat, lon = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    cos_lat = np.cos(lat)
    return np.column_stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)])


def chord_to_km(chord):
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.clip(np.asarray(chord, dtype=float) / 2, 0, 1))


def nearest_km(src_lat, src_lon, dst_lat, dst_lon):
    """For each source point, the distance (km) to the nearest destination point and its index.
    With no destination at all: infinite distances and index -1."""
    n = len(src_lat)
    if len(dst_lat) == 0 or n == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    tree = cKDTree(unit_vectors(dst_lat, dst_lon))
    chord, index = tree.query(unit_vectors(src_lat, src_lon), k=1)
    return chord_to_km(chord), index.astype(np.int64)


def nearest_other_km(lat, lon):
    """For each point, the distance (km) to the nearest OTHER point of the same set and its index
    (NaN and -1 when the set has fewer than two points). Points at the same coordinates are 0 km
    apart: two places in the same building are neighbours."""
    n = len(lat)
    if n < 2:
        return np.full(n, np.nan), np.full(n, -1, dtype=np.int64)
    vectors = unit_vectors(lat, lon)
    chord, index = cKDTree(vectors).query(vectors, k=2)
    self_first = index[:, 0] == np.arange(n)
    other = np.where(self_first, index[:, 1], index[:, 0])
    return chord_to_km(np.where(self_first, chord[:, 1], chord[:, 0])), other.astype(np.int64)


# --- Mesh ----------------------------------------------------------------------------------------


def weighted_mean(values, weights):
    values, weights = np.asarray(values, dtype=float), np.asarray(weights, dtype=float)
    keep = np.isfinite(values)
    total = weights[keep].sum()
    if not keep.any() or total <= 0:
        return None
    return float((values[keep] * weights[keep]).sum() / total)


def population_share_within(distances_km, population, radius_km):
    """Share (%) of the population whose commune centre is at `radius_km` or less from a place."""
    distances_km, population = np.asarray(distances_km, dtype=float), np.asarray(population, dtype=float)
    total = population.sum()
    if total <= 0 or not np.isfinite(distances_km).any():
        return None
    return float(population[distances_km <= radius_km].sum() / total * 100)


def places_per_10k(place_count, population_total):
    return float(place_count / population_total * 10_000) if population_total > 0 else None


def far_communes(distances_km, population, far_km=FAR_KM, limit=FAR_COMMUNES_LISTED):
    """(number of communes farther than `far_km` from any place, indices of the `limit` most
    populated of them, most populated first). None when there is no place at all."""
    distances_km, population = np.asarray(distances_km, dtype=float), np.asarray(population)
    if not np.isfinite(distances_km).any():
        return None, []
    far = np.flatnonzero(distances_km > far_km)
    order = far[np.lexsort((distances_km[far] * -1, -population[far]))]
    return int(far.size), order[:limit].tolist()


def mean_or_none(values):
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else None


# --- Periods -------------------------------------------------------------------------------------


def as_days(values):
    return np.asarray(values, dtype="datetime64[D]")


def period_starts(days, period_type, total_start=None):
    """The first day of the period each day falls in."""
    days = as_days(days)
    if period_type == PeriodType.MONTH:
        return days.astype("datetime64[M]").astype("datetime64[D]")
    if period_type == PeriodType.QUARTER:
        months = days.astype("datetime64[M]").astype(np.int64)  # months since January 1970
        return (months - months % 3).astype("datetime64[M]").astype("datetime64[D]")
    if period_type == PeriodType.YEAR:
        return days.astype("datetime64[Y]").astype("datetime64[D]")
    if period_type == PeriodType.TOTAL:
        return np.full(days.shape, np.datetime64(total_start, "D"))
    raise ValueError(period_type)


def period_start(day, period_type, total_start=None):
    return period_starts(as_days([day]), period_type, total_start)[0].astype(date)


def periods_between(first_day, last_day, period_type, total_start=None):
    """Every period start from the period of `first_day` to the period of `last_day`."""
    if period_type == PeriodType.TOTAL:
        return [total_start]
    first, last = period_starts(as_days([first_day, last_day]), period_type)
    if period_type == PeriodType.YEAR:
        years = np.arange(first.astype("datetime64[Y]"), last.astype("datetime64[Y]") + 1)
        return years.astype("datetime64[D]").astype(date).tolist()
    step = 3 if period_type == PeriodType.QUARTER else 1
    months = np.arange(first.astype("datetime64[M]"), last.astype("datetime64[M]") + 1, step)
    return months.astype("datetime64[D]").astype(date).tolist()


def previous_period(start, period_type):
    if period_type == PeriodType.TOTAL:
        return None
    months = {PeriodType.MONTH: 1, PeriodType.QUARTER: 3, PeriodType.YEAR: 12}.get(period_type)
    if months is None:
        return None
    month = np.datetime64(start, "M") - months
    return month.astype("datetime64[D]").astype(date)


def period_end(start, period_type):
    """The last day of the period starting on `start`."""
    months = {PeriodType.MONTH: 1, PeriodType.QUARTER: 3, PeriodType.YEAR: 12}[period_type]
    return ((np.datetime64(start, "M") + months).astype("datetime64[D]") - 1).astype(date)


# --- Statistics ---------------------------------------------------------------------------------


# --- Events --------------------------------------------------------------------------------------


def cancelled_by_return(devices, states):
    """Mask of the sales and gifts undone by a return under guarantee. Rows must be in chronological
    order within each device (sold → returned is a direct transition, so the row just before a
    return of the same device is the sale it undoes)."""
    devices, states = np.asarray(devices), np.asarray(states)
    order = np.argsort(devices, kind="stable")
    d, s = devices[order], states[order]
    undone = np.zeros(len(d), dtype=bool)
    if len(d) > 1:
        returns = np.flatnonzero((s[1:] == RETURNED) & (d[1:] == d[:-1]) & np.isin(s[:-1], (SOLD, GIVEN)))
        undone[returns] = True
    mask = np.zeros(len(d), dtype=bool)
    mask[order] = undone
    return mask


def decree_ratio(oriented, retired_stock):
    """Décret n° 2023-266: A / B × 100 (None when B is unknown or zero)."""
    if retired_stock is None or retired_stock <= 0:
        return None
    return float(oriented / retired_stock * 100)


def share_weighed(donation, weight_kg, weighed):
    """The kilograms collected per device: a weighed donation's weight (`weighed`: {donation id:
    kg}) shared among its devices in proportion to their own weight `weight_kg` (equal shares when
    they all weigh nothing); a device of no weighed donation (`donation` 0 or not in `weighed`)
    keeps its own weight."""
    weight_kg = np.asarray(weight_kg, dtype=float)
    donation = np.asarray(donation, dtype=np.int64)
    if not weighed or not donation.size:
        return weight_kg
    ids = np.fromiter(weighed.keys(), dtype=np.int64, count=len(weighed))
    kg = np.fromiter(weighed.values(), dtype=float, count=len(weighed))
    order = np.argsort(ids)
    ids, kg = ids[order], kg[order]
    slot = np.clip(np.searchsorted(ids, donation), 0, len(ids) - 1)
    found = ids[slot] == donation
    if not found.any():
        return weight_kg
    groups, group = np.unique(donation[found], return_inverse=True)
    own = weight_kg[found]
    total = np.bincount(group, weights=own, minlength=len(groups))
    count = np.bincount(group, minlength=len(groups))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total[group] > 0, own / total[group], 1.0 / count[group])
    result = weight_kg.copy()
    result[found] = kg[slot[found]] * share
    return result


def rate(part, whole):
    return float(part / whole * 100) if whole else None


# --- Where organisations are ------------------------------------------------------------------


def locate_organisations(declared, sites):
    """{organisation id: (département code, commune INSEE code)}. An organisation lies where its
    relais shop is, else where its first active site is; with no site, in the département it
    declares (commune unknown, ""). `declared` maps ids to a département code or "", `sites` is an
    iterable of (organisation id, site id, is relais shop, commune INSEE code, département code)."""
    best = {}
    for org_id, site_id, is_shop, commune, departement in sites:
        rank = (not is_shop, site_id)
        if org_id not in best or rank < best[org_id][0]:
            best[org_id] = (rank, departement, commune)
    located = {org_id: (code or "", "") for org_id, code in declared.items()}
    located.update({org_id: (departement, commune) for org_id, (_rank, departement, commune) in best.items()})
    return located


# --- The dataset the selectors load --------------------------------------------------------------


def _empty(dtype):
    return field(default_factory=lambda: np.zeros(0, dtype=dtype))


@dataclass
class Organisations:
    id: np.ndarray = _empty(np.int64)
    uuid: list = field(default_factory=list)
    name: list = field(default_factory=list)
    kind: list = field(default_factory=list)
    departement: list = field(default_factory=list)  # code, "" when unknown
    commune: list = field(default_factory=list)  # INSEE code, "" when unknown


@dataclass
class DistributionEvents:
    """Sold, given, lent and returned events, chronological within each device."""

    device: np.ndarray = _empty(np.int64)
    day: np.ndarray = _empty("datetime64[D]")
    state: np.ndarray = _empty("U8")
    holder: np.ndarray = _empty(np.int64)
    category: np.ndarray = _empty(np.int64)
    weight_kg: np.ndarray = _empty(float)
    first_day: np.ndarray = _empty("datetime64[D]")  # the device's first history event


@dataclass
class DeviceFlows:
    """Devices entering the network (received at a workshop) or leaving it (DEEE, parts)."""

    device: np.ndarray = _empty(np.int64)
    day: np.ndarray = _empty("datetime64[D]")
    state: np.ndarray = _empty("U8")
    holder: np.ndarray = _empty(np.int64)
    category: np.ndarray = _empty(np.int64)
    weight_kg: np.ndarray = _empty(float)
    provenance: np.ndarray = _empty("U12")
    donor: np.ndarray = _empty(np.int64)  # 0: no donor organisation


@dataclass
class Places:
    id: np.ndarray = _empty(np.int64)
    name: list = field(default_factory=list)
    latitude: np.ndarray = _empty(float)
    longitude: np.ndarray = _empty(float)
    departement: np.ndarray = _empty("U3")
    commune: np.ndarray = _empty("U5")
    public_devices: np.ndarray = _empty(np.int64)


@dataclass
class Communes:
    insee: np.ndarray = _empty("U5")
    name: list = field(default_factory=list)
    departement: np.ndarray = _empty("U3")
    population: np.ndarray = _empty(np.int64)
    latitude: np.ndarray = _empty(float)
    longitude: np.ndarray = _empty(float)


@dataclass
class PersonSales:
    """One row per sale or gift with the beneficiary (person or structure) it went to."""

    day: np.ndarray = _empty("datetime64[D]")
    holder: np.ndarray = _empty(np.int64)
    beneficiary: np.ndarray = _empty(np.int64)


@dataclass
class Dataset:
    today: date
    departements: dict  # code -> name, the départements to compute
    categories: dict  # id -> (code, deee_category)
    organisations: Organisations
    distributions: DistributionEvents
    intakes: DeviceFlows
    disposals: DeviceFlows
    places: Places
    collection_points: Places
    communes: Communes
    # Sources held by apps not yet connected: None until their selector is (see selectors.py).
    people_sales: PersonSales | None = None
    structure_sales: PersonSales | None = None
    retired_stock: dict | None = None  # (donor organisation id, year) -> items in stock on 1 January


class Row(NamedTuple):
    indicator: str
    territory_type: str
    territory_code: str
    territory_label: str
    departement_code: str
    period_type: str
    period_start: date
    value: float | None
    extra: dict


# --- From a dataset to snapshot rows -------------------------------------------------------------


class Groups:
    """Rows sorted into groups (a territory and a period): `index[row]` is the row's group, -1 for a
    row in none. Every statistic is computed for all groups at once; an empty group gets 0 (sums,
    counts) or NaN (medians, rates)."""

    def __init__(self, index, size):
        self.index, self.size = np.asarray(index, dtype=np.int64), int(size)
        self.inside = self.index >= 0
        self._group = self.index[self.inside]

    @classmethod
    def dense(cls, territory, starts, territories, periods):
        """Every (territory, period) pair is a group, whether rows fall in it or not."""
        position = np.searchsorted(periods, starts)
        index = np.where(territory >= 0, territory * len(periods) + position, -1)
        return cls(index, territories * len(periods))

    @classmethod
    def sparse(cls, territory, starts, selected):
        """Only the (territory, period) pairs that have rows; returns the groups and their keys."""
        index = np.full(len(territory), -1, dtype=np.int64)
        if not selected.any():
            return cls(index, 0), []
        days = starts[selected].astype(np.int64)  # days since 1970: below DAY_SPAN until year 2243
        keys, inverse = np.unique(territory[selected].astype(np.int64) * DAY_SPAN + days, return_inverse=True)
        index[selected] = inverse.ravel()
        territories, days = np.divmod(keys, DAY_SPAN)
        return cls(index, len(keys)), list(
            zip(territories.tolist(), days.astype("datetime64[D]").tolist(), strict=True)
        )

    def count(self):
        return np.bincount(self._group, minlength=self.size)

    def sum(self, weights):
        return np.bincount(
            self._group, weights=np.asarray(weights, dtype=float)[self.inside], minlength=self.size
        )

    def table(self, keys, size, weights=None):
        """(groups × size) sums of `weights` (or counts) by the integer key of each row."""
        flat = self._group * size + np.asarray(keys)[self.inside]
        w = None if weights is None else np.asarray(weights, dtype=float)[self.inside]
        return np.bincount(flat, weights=w, minlength=self.size * size).reshape(self.size, size)

    def quantiles(self, values, qs):
        """Quantiles per group, interpolated linearly between closest ranks (numpy's default)."""
        values = np.asarray(values, dtype=float)[self.inside]
        order = np.lexsort((values, self._group))
        values = values[order]
        counts = self.count()
        first = np.cumsum(counts) - counts
        result = []
        for q in qs:
            position = q * np.maximum(counts - 1, 0)
            low, high = np.floor(position).astype(np.int64), np.ceil(position).astype(np.int64)
            safe = counts > 0
            low_value = np.where(
                safe, values[np.minimum(first + low, len(values) - 1)] if len(values) else 0, np.nan
            )
            high_value = np.where(
                safe, values[np.minimum(first + high, len(values) - 1)] if len(values) else 0, np.nan
            )
            result.append(low_value + (high_value - low_value) * (position - low))
        return result

    def distinct(self, ids):
        """Number of distinct `ids` per group."""
        ids = np.asarray(ids, dtype=np.int64)[self.inside]
        if not ids.size:
            return np.zeros(self.size)
        span = int(ids.max()) + 1
        pairs = np.unique(self._group * span + ids)
        return np.bincount(pairs // span, minlength=self.size)


def build_rows(dataset):
    """Every snapshot row of every indicator, for every département of `dataset`."""
    return RowBuilder(dataset).build()


class RowBuilder:
    """Builds the rows of every indicator for every département of a dataset.

    Flows get a row per département for every period since the network's first record (zeros
    included, so charts have no holes) and a row per relais for each period it had activity in
    (a relais with no row for a period had nothing to count then). States (places, distances) get
    one row per département and per commune, dated the day of the computation."""

    def __init__(self, dataset):
        self.data = dataset
        self.rows = []
        self.codes = sorted(dataset.departements)
        self.index_of_code = {code: i for i, code in enumerate(self.codes)}
        self._index_organisations(dataset.organisations)
        self.category_codes = _lookup(
            {cid: code for cid, (code, _deee) in dataset.categories.items()}, default="", dtype="U40"
        )
        self.category_list = [code for _cid, (code, _deee) in sorted(dataset.categories.items())] + [""]
        self.category_slot = _lookup(
            {cid: i for i, (cid, _value) in enumerate(sorted(dataset.categories.items()))},
            default=-1,
            dtype=np.int64,
        )
        self.category_deee = _lookup(
            {cid: deee for cid, (_code, deee) in dataset.categories.items()}, default="", dtype="U2"
        )
        self.first_day = self._first_day()
        self.total_start = period_start(self.first_day, PeriodType.MONTH)
        self._reused = None
        self._groups = {}

    def _index_organisations(self, orgs):
        size = int(orgs.id.max()) + 1 if orgs.id.size else 1
        self.dept_of_org = np.full(size, -1, dtype=np.int64)
        self.relais_org = np.zeros(size, dtype=bool)
        self.org_row = {}
        for row, (org_id, dept, kind) in enumerate(
            zip(orgs.id.tolist(), orgs.departement, orgs.kind, strict=True)
        ):
            self.dept_of_org[org_id] = self.index_of_code.get(dept, -1)
            self.relais_org[org_id] = kind == "relais"
            self.org_row[org_id] = row

    def _first_day(self):
        data = self.data
        sources = [data.distributions, data.intakes, data.disposals, data.people_sales, data.structure_sales]
        firsts = [source.day.min() for source in sources if source is not None and source.day.size]
        return min(firsts).astype(date) if firsts else data.today

    def departement_of(self, org_ids):
        return _take(self.dept_of_org, org_ids, -1)

    def codes_of(self, categories):
        return _take(self.category_codes, categories, "")

    def periods(self, period_type):
        return periods_between(self.first_day, self.data.today, period_type, self.total_start)

    def departement_territory(self, index):
        code = self.codes[index]
        return TerritoryType.DEPARTEMENT, code, self.data.departements[code], code

    def organisation(self, org_id):
        orgs, row = self.data.organisations, self.org_row[int(org_id)]
        return orgs.uuid[row], orgs.name[row], orgs.departement[row]

    def relais_territory(self, org_id):
        uuid, name, departement = self.organisation(org_id)
        return TerritoryType.RELAIS, uuid, name, departement

    def add(self, indicator, territory, period_type, start, value, extra=None):
        territory_type, code, label, departement = territory
        value = None if value is None or value != value else float(value)  # NaN: undefined
        self.rows.append(
            Row(indicator, territory_type, code, label, departement, period_type, start, value, extra or {})
        )

    def build(self):
        self.distribution_indicators()
        self.people_indicators()
        self.weight_indicators()
        self.reuse_indicators()
        self.public_donor_indicators()
        self.place_indicators()
        return self.rows

    # -- flows

    def emit_flow(self, indicator, days, holders, *, with_relais, value, extra=None):
        """`value(groups)` gives an array of values per group, `extra(groups)` a list of dicts, for
        groups over the rows of `days` and `holders` (the arrays the caller's functions close over)."""
        for period_type in FLOW_PERIODS:
            periods = self.periods(period_type)
            groups, relais_groups, keys = self.groups(days, holders, period_type, with_relais)
            values, extras = value(groups), extra(groups) if extra else None
            for group in range(groups.size):
                index, position = divmod(group, len(periods))
                territory = self.departement_territory(index)
                self.add(
                    indicator,
                    territory,
                    period_type,
                    periods[position],
                    values[group],
                    extras and extras[group],
                )
            if with_relais:
                values = value(relais_groups)
                extras = extra(relais_groups) if extra else None
                for group, (org_id, start) in enumerate(keys):
                    territory = self.relais_territory(org_id)
                    self.add(
                        indicator, territory, period_type, start, values[group], extras and extras[group]
                    )

    def groups(self, days, holders, period_type, with_relais):
        """The départements' (dense) and relais' (sparse) groups of rows, shared by the indicators
        computed over the same arrays."""
        key = (id(days), id(holders), period_type, with_relais)
        if key not in self._groups:
            day_array, holder_array = as_days(days), np.asarray(holders, dtype=np.int64)
            departement = self.departement_of(holder_array)
            starts = period_starts(day_array, period_type, self.total_start)
            periods = np.array(self.periods(period_type), dtype="datetime64[D]")
            dense = Groups.dense(departement, starts, len(self.codes), periods)
            sparse, keys = None, []
            if with_relais:
                relais = _take(self.relais_org, holder_array, False) & (departement >= 0)
                sparse, keys = Groups.sparse(holder_array, starts, relais)
            self._groups[key] = (dense, sparse, keys, days, holders)  # holding the arrays keeps their ids
        dense, sparse, keys, _days, _holders = self._groups[key]
        return dense, sparse, keys

    def category_slots(self, categories):
        """Each category id's position in self.category_list (vectorised)."""
        return _take(self.category_slot, categories, len(self.category_list) - 1)

    def by_category(self, table, counts=None, decimals=None):
        """{category code: value} per group from a (groups × categories) table, keeping the
        categories that have rows in the group (`counts`, default the table itself)."""
        present = (counts if counts is not None else table) > 0
        codes = self.category_list
        result = []
        for row, mask in zip(table.tolist(), present.tolist(), strict=True):
            result.append(
                {
                    codes[i]: (round(v, decimals) if decimals is not None else int(v))
                    for i, (v, m) in enumerate(zip(row, mask, strict=True))
                    if m
                }
            )
        return result

    def distribution_indicators(self):
        events = self.data.distributions
        undone = cancelled_by_return(events.device, events.state)
        keep = np.isin(events.state, (SOLD, GIVEN)) & ~undone
        slot = self.category_slots(events.category)
        day, holder, cat = events.day[keep], events.holder[keep], slot[keep]
        sold, given = events.state[keep] == SOLD, events.state[keep] == GIVEN
        weight = events.weight_kg[keep]
        delay = (events.day[keep] - events.first_day[keep]).astype(float)
        pc = np.isin(self.codes_of(events.category)[keep], ("laptop", "desktop"))
        n = len(self.category_list)

        def sold_given(g, s=sold[pc]):
            count, sold_count = g.count(), g.sum(s)
            return [
                {"sold": int(a), "given": int(b - a)}
                for a, b in zip(sold_count.tolist(), count.tolist(), strict=True)
            ]

        self.emit_flow(
            "pcs_distributed", day[pc], holder[pc], with_relais=True, value=Groups.count, extra=sold_given
        )

        def devices_extra(g):
            sold_table, given_table = g.table(cat, n, sold), g.table(cat, n, given)
            present = (sold_table + given_table) > 0
            codes = self.category_list
            result = []
            for s_row, g_row, p_row in zip(
                sold_table.tolist(), given_table.tolist(), present.tolist(), strict=True
            ):
                result.append(
                    {
                        "sold": int(sum(s_row)),
                        "given": int(sum(g_row)),
                        "by_category": {
                            codes[i]: {"sold": int(s_row[i]), "given": int(g_row[i])}
                            for i, p in enumerate(p_row)
                            if p
                        },
                    }
                )
            return result

        self.emit_flow(
            "devices_distributed", day, holder, with_relais=True, value=Groups.count, extra=devices_extra
        )
        self.emit_flow(
            "kg_reused",
            day,
            holder,
            with_relais=False,
            value=lambda g: np.round(g.sum(weight), 2),
            extra=lambda g: [
                {"devices": int(count), "by_category": kg}
                for count, kg in zip(
                    g.count().tolist(),
                    self.by_category(g.table(cat, n, weight), g.table(cat, n), 2),
                    strict=True,
                )
            ],
        )

        def quartiles(g):
            q1, q3 = g.quantiles(delay, (0.25, 0.75))
            return [
                {"devices": int(c), "q1": a, "q3": b} if c else {"devices": 0}
                for c, a, b in zip(g.count().tolist(), q1.tolist(), q3.tolist(), strict=True)
            ]

        self.emit_flow(
            "median_days_to_distribution",
            day,
            holder,
            with_relais=False,
            value=lambda g: g.quantiles(delay, (0.5,))[0],
            extra=quartiles,
        )
        lent = events.state == LENT
        self.emit_flow(
            "devices_lent",
            events.day[lent],
            events.holder[lent],
            with_relais=True,
            value=Groups.count,
            extra=lambda g: [{"by_category": c} for c in self.by_category(g.table(slot[lent], n))],
        )

    def people_indicators(self):
        """Distinct beneficiaries of sales and gifts, persons and associations."""
        for indicator, sales in (
            ("people_equipped", self.data.people_sales),
            ("structures_equipped", self.data.structure_sales),
        ):
            if sales is not None:
                self.emit_flow(
                    indicator,
                    sales.day,
                    sales.holder,
                    with_relais=True,
                    value=lambda g, b=sales.beneficiary: g.distinct(b),
                )

    def weight_indicators(self):
        intakes, disposals, n = self.data.intakes, self.data.disposals, len(self.category_list)
        cat, weight = self.category_slots(intakes.category), intakes.weight_kg
        self.emit_flow(
            "kg_collected",
            intakes.day,
            intakes.holder,
            with_relais=False,
            value=lambda g: np.round(g.sum(weight), 2),
            extra=lambda g: [
                {"devices": int(count), "by_category": kg}
                for count, kg in zip(
                    g.count().tolist(),
                    self.by_category(g.table(cat, n, weight), g.table(cat, n), 2),
                    strict=True,
                )
            ],
        )
        d_cat, d_weight = self.category_slots(disposals.category), disposals.weight_kg
        deee, parts = disposals.state == DEEE, disposals.state == PARTS

        def deee_extra(g):
            kg = self.by_category(g.table(d_cat, n, d_weight * deee), g.table(d_cat, n, deee), 2)
            return [
                {
                    "devices": int(devices),
                    "by_category": by_category,
                    "parts_kg": round(parts_kg, 2),
                    "parts_devices": int(count),
                }
                for devices, by_category, parts_kg, count in zip(
                    g.sum(deee).tolist(),
                    kg,
                    g.sum(d_weight * parts).tolist(),
                    g.sum(parts).tolist(),
                    strict=True,
                )
            ]

        self.emit_flow(
            "kg_deee",
            disposals.day,
            disposals.holder,
            with_relais=False,
            value=lambda g: np.round(g.sum(d_weight * deee), 2),
            extra=deee_extra,
        )

    def reused_devices(self):
        """Devices sold or given (and not returned since), or lent, at least once."""
        if self._reused is None:
            events = self.data.distributions
            undone = cancelled_by_return(events.device, events.state)
            reused = (np.isin(events.state, (SOLD, GIVEN)) & ~undone) | (events.state == LENT)
            self._reused = np.unique(events.device[reused])
        return self._reused

    def reuse_indicators(self):
        """Cohorts: of the devices received in a period, the share reused since, by provenance."""
        intakes = self.data.intakes
        reused = np.isin(intakes.device, self.reused_devices())
        kinds, provenance = np.unique(intakes.provenance, return_inverse=True)
        kinds = kinds.tolist()

        def value(g):
            count = g.count()
            with np.errstate(invalid="ignore", divide="ignore"):
                return np.where(count > 0, 100 * g.sum(reused) / count, np.nan)

        def extra(g):
            received, again = g.table(provenance, len(kinds)), g.table(provenance, len(kinds), reused)
            result = []
            for r_row, a_row in zip(received.tolist(), again.tolist(), strict=True):
                result.append(
                    {
                        "received": int(sum(r_row)),
                        "reused": int(sum(a_row)),
                        "by_provenance": {
                            kinds[i]: {"received": int(r), "reused": int(a), "rate": rate(a, r)}
                            for i, (r, a) in enumerate(zip(r_row, a_row, strict=True))
                            if r
                        },
                    }
                )
            return result

        self.emit_flow("reuse_rate", intakes.day, intakes.holder, with_relais=False, value=value, extra=extra)

    def public_donor_indicators(self):
        """Décret n° 2023-266, per public donor and year: A = items (DEEE 2° and 6°) received in the
        year and reused since; B = the donor's retired stock on 1 January (None until connected).
        A donor counts in its own département, else in that of the workshop that received its items."""
        intakes, orgs = self.data.intakes, self.data.organisations
        public = orgs.id[np.asarray(orgs.kind, dtype="U20") == "public_body"] if orgs.id.size else orgs.id
        covered = np.isin(_take(self.category_deee, intakes.category, ""), DEEE_CATEGORIES)
        selected = np.flatnonzero(covered & np.isin(intakes.donor, public))
        if not selected.size:
            return
        reused = np.isin(intakes.device, self.reused_devices())
        disposed = np.isin(intakes.device, self.data.disposals.device)
        donors = intakes.donor
        own = self.departement_of(donors[selected])
        departement = np.where(own >= 0, own, self.departement_of(intakes.holder[selected]))
        stock = self.data.retired_stock
        for period_type in (PeriodType.YEAR, PeriodType.TOTAL):
            starts = period_starts(intakes.day[selected], period_type, self.total_start)
            by_donor = _groups([departement, starts, donors[selected]], selected)
            lines = {}
            for (index, start, donor), rows in by_donor.items():
                year = start.year if period_type == PeriodType.YEAR else None
                retired = None if stock is None or year is None else stock.get((donor, year))
                oriented = int(reused[rows].sum())
                uuid, name, _departement = self.organisation(donor)
                lines.setdefault((index, start), []).append(
                    {
                        "uuid": uuid,
                        "name": name,
                        "received": len(rows),
                        "oriented": oriented,
                        "in_progress": int((~reused[rows] & ~disposed[rows]).sum()),
                        "recycled": int((~reused[rows] & disposed[rows]).sum()),
                        "retired_stock": retired,
                        "ratio": decree_ratio(oriented, retired),
                        "target": decree_2023_266_target(year) if year else None,
                    }
                )
            for index in sorted({index for index, _start in lines}):
                for start in self.periods(period_type):
                    donors_lines = sorted(lines.get((index, start), []), key=lambda line: line["name"])
                    self.add(
                        "public_donor_reuse",
                        self.departement_territory(index),
                        period_type,
                        start,
                        sum(line["oriented"] for line in donors_lines),
                        {"donors": donors_lines},
                    )

    # -- states

    def place_indicators(self):
        data, today = self.data, self.data.today
        communes, places, points = data.communes, data.places, data.collection_points
        commune_names = dict(zip(communes.insee.tolist(), communes.name, strict=True))
        networks = []
        for prefix, sites, commune_indicator in (
            ("places", places, "commune_place_distance_km"),
            ("deee_points", points, "commune_deee_distance_km"),
        ):
            distance, nearest = nearest_km(
                communes.latitude, communes.longitude, sites.latitude, sites.longitude
            )
            across, _other = nearest_other_km(sites.latitude, sites.longitude)
            networks.append((prefix, sites, commune_indicator, distance, nearest, across))
        commune_groups = _groups([communes.departement])
        place_groups = _groups([places.departement])
        empty = np.zeros(0, dtype=np.int64)
        for index, code in enumerate(self.codes):
            territory = self.departement_territory(index)
            in_dept = commune_groups.get((code,), empty)
            own_places = place_groups.get((code,), empty)
            public = int(places.public_devices[own_places].sum())
            self.add("public_devices", territory, PeriodType.DAY, today, public, {"places": len(own_places)})
            for (commune,), rows in _groups([places.commune[own_places]], own_places).items():
                self.add(
                    "public_devices",
                    (TerritoryType.COMMUNE, commune, commune_names.get(commune, commune), code),
                    PeriodType.DAY,
                    today,
                    int(places.public_devices[rows].sum()),
                    {"places": len(rows)},
                )
            for prefix, sites, commune_indicator, distance, nearest, across in networks:
                self.mesh_rows(prefix, territory, in_dept, sites, distance, nearest, across)
                self.commune_rows(commune_indicator, code, in_dept, sites, distance, nearest)

    def mesh_rows(self, prefix, territory, in_dept, sites, distance, nearest, across):
        communes, today = self.data.communes, self.data.today
        code = territory[1]
        own = np.flatnonzero(sites.departement == code)
        population, distance_in, nearest_in = (
            communes.population[in_dept],
            distance[in_dept],
            nearest[in_dept],
        )
        own_distance, _own_nearest = nearest_km(
            communes.latitude[in_dept], communes.longitude[in_dept], sites.latitude[own], sites.longitude[own]
        )
        between, _other = nearest_other_km(sites.latitude[own], sites.longitude[own])
        outside = int(((nearest_in >= 0) & (_take(sites.departement, nearest_in, "") != code)).sum())
        total = int(population.sum())

        def add(name, value, extra=None):
            self.add(f"{prefix}_{name}", territory, PeriodType.DAY, today, value, extra)

        serving = np.union1d(own, nearest_in[nearest_in >= 0])  # with the places across the border
        add(
            "count",
            len(own),
            {
                "population": total,
                "sites": [
                    {
                        "name": sites.name[i],
                        "commune": str(sites.commune[i]),
                        "lat": float(sites.latitude[i]),
                        "lon": float(sites.longitude[i]),
                        "public_devices": int(sites.public_devices[i]),
                        "outside": bool(sites.departement[i] != code),
                    }
                    for i in serving.tolist()
                ],
            },
        )
        add(
            "mean_nearest_km",
            mean_or_none(between),
            {"places": len(own), "across_border_km": mean_or_none(across[own])},
        )
        add(
            "weighted_distance_km",
            weighted_mean(distance_in, population),
            {
                "within_departement_only_km": weighted_mean(own_distance, population),
                "communes_nearest_outside": outside,
                "communes": len(in_dept),
            },
        )
        for radius in RADII_KM:
            within = int(population[distance_in <= radius].sum())
            add(
                f"share_{radius}km",
                population_share_within(distance_in, population, radius),
                {"population": within, "population_total": total},
            )
        add("per_10k", places_per_10k(len(own), total))
        count, listed = far_communes(distance_in, population)
        add(
            "far_communes",
            count,
            {
                "communes": [
                    {
                        "insee": str(communes.insee[in_dept[i]]),
                        "name": communes.name[in_dept[i]],
                        "population": int(population[i]),
                        "distance_km": round(float(distance_in[i]), 2),
                    }
                    for i in listed
                ]
            },
        )

    def commune_rows(self, indicator, code, in_dept, sites, distance, nearest):
        communes, today = self.data.communes, self.data.today
        for i in in_dept.tolist():
            extra = {
                "population": int(communes.population[i]),
                "lat": float(communes.latitude[i]),
                "lon": float(communes.longitude[i]),
            }
            site = int(nearest[i])
            if site >= 0:
                extra.update(
                    nearest=sites.name[site],
                    nearest_commune=str(sites.commune[site]),
                    outside=bool(sites.departement[site] != code),
                )
            territory = (TerritoryType.COMMUNE, str(communes.insee[i]), communes.name[i], code)
            value = round(float(distance[i]), 3) if site >= 0 else None
            self.add(indicator, territory, PeriodType.DAY, today, value, extra)


# --- Small helpers -------------------------------------------------------------------------------


def _lookup(mapping, default, dtype):
    """An array indexed by integer key, for vectorised look-ups."""
    size = max(mapping, default=0) + 1
    table = np.full(size, default, dtype=dtype)
    for key, value in mapping.items():
        table[key] = value
    return table


def _take(table, keys, default):
    """table[keys] where keys are in range, `default` elsewhere."""
    keys = np.asarray(keys, dtype=np.int64)
    inside = (keys >= 0) & (keys < len(table))
    result = np.full(len(keys), default, dtype=table.dtype)
    result[inside] = table[keys[inside]]
    return result


def _groups(columns, rows=None):
    """{(key, ...): indices} for the distinct combinations of `columns` (given per row); `rows`
    are the indices to return (default: positions 0..n-1). Keys are plain Python values."""
    columns = [np.asarray(c) for c in columns]
    n = len(columns[0])
    rows = np.arange(n, dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
    if n == 0:
        return {}
    uniques, codes = zip(*(np.unique(c, return_inverse=True) for c in columns), strict=True)
    sizes = [len(u) for u in uniques]
    key = np.ravel_multi_index([c.ravel() for c in codes], sizes)
    order = np.argsort(key, kind="stable")
    distinct, first = np.unique(key[order], return_index=True)
    bounds = [*first[1:].tolist(), n]
    parts = np.unravel_index(distinct, sizes)
    keys = zip(*(u[p].tolist() for u, p in zip(uniques, parts, strict=True)), strict=True)
    return {
        tuple(key): rows[order[start:end]]
        for key, start, end in zip(keys, first.tolist(), bounds, strict=True)
    }
