"""The dashboard's figures, read from snapshots only (nothing is recomputed here): the selection
(département, territory, period), the key figures with their change since the previous period,
the series for the charts, the tables shared by the page, the CSV and XLSX exports and the API,
and the map's layers."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django import forms
from django.conf import settings
from django.db.models import Max
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reemploi.enums import Provenance
from reemploi.models import EquipmentCategory

from . import catalogue
from .computations import period_end, period_start, previous_period
from .enums import PeriodType, RunStatus, TerritoryType
from .models import IndicatorSnapshot, SnapshotRun
from .permissions import can_request_computation, departements_visible_to

FLOW_PERIOD_CHOICES = [
    (PeriodType.MONTH, gettext_lazy("Mois")),
    (PeriodType.QUARTER, gettext_lazy("Trimestre")),
    (PeriodType.YEAR, gettext_lazy("Année")),
    (PeriodType.TOTAL, gettext_lazy("Depuis le début")),
]
DEFAULT_PERIOD_TYPE = PeriodType.YEAR
MIN_SERIES_LENGTH = 3
SERIES_LENGTH = {PeriodType.MONTH: 24, PeriodType.QUARTER: 12, PeriodType.YEAR: 10}
STATE_HISTORY_DAYS = 400

KEY_FIGURES = [
    "pcs_distributed",
    "devices_distributed",
    "devices_lent",
    "people_equipped",
    "structures_equipped",
    "median_days_to_distribution",
    "public_devices",
    "places_count",
    "places_mean_nearest_km",
    "places_weighted_distance_km",
    "places_share_10km",
    "places_per_10k",
    "places_far_communes",
    "deee_points_count",
    "deee_points_weighted_distance_km",
    "deee_points_far_communes",
    "kg_collected",
    "kg_reused",
    "kg_deee",
    "reuse_rate",
    "public_donor_reuse",
]
MESH_MEASURES = [
    "count",
    "mean_nearest_km",
    "weighted_distance_km",
    "share_5km",
    "share_10km",
    "share_20km",
    "per_10k",
    "far_communes",
]
MESH_LABELS = {
    "count": gettext_lazy("Nombre de lieux"),
    "mean_nearest_km": gettext_lazy("Distance moyenne entre lieux voisins (km)"),
    "weighted_distance_km": gettext_lazy("Distance moyenne des habitants au plus proche (km)"),
    "share_5km": gettext_lazy("Population à moins de 5 km (%)"),
    "share_10km": gettext_lazy("Population à moins de 10 km (%)"),
    "share_20km": gettext_lazy("Population à moins de 20 km (%)"),
    "per_10k": gettext_lazy("Lieux pour 10 000 habitants"),
    "far_communes": gettext_lazy("Communes à plus de 20 km"),
}
NETWORKS = [
    ("places", gettext_lazy("Lieux ouverts au public")),
    ("deee_points", gettext_lazy("Points de collecte DEEE")),
]


# --- Formatting ----------------------------------------------------------------------------------


def format_value(value, decimals=0):
    if value is None:
        return "—"
    return number_format(round(value, decimals), decimal_pos=decimals, use_l10n=True, force_grouping=True)


def period_label(period_type, start):
    if start is None:
        return ""
    if period_type == PeriodType.MONTH:
        return date_format(start, "F Y")
    if period_type == PeriodType.QUARTER:
        return _("T%(quarter)s %(year)s") % {"quarter": (start.month - 1) // 3 + 1, "year": start.year}
    if period_type == PeriodType.YEAR:
        return str(start.year)
    if period_type == PeriodType.TOTAL:
        return _("depuis %(month)s") % {"month": date_format(start, "F Y")}
    return date_format(start, "j F Y")


# --- The selection -------------------------------------------------------------------------------


class DashboardFilterForm(forms.Form):
    departement = forms.ChoiceField(label=gettext_lazy("Département"), required=False)
    territory = forms.ChoiceField(label=gettext_lazy("Territoire"), required=False)
    period_type = forms.ChoiceField(
        label=gettext_lazy("Période"), required=False, choices=FLOW_PERIOD_CHOICES
    )
    period = forms.ChoiceField(label=gettext_lazy("Laquelle"), required=False)

    def __init__(self, *args, departements, territories, periods, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departement"].choices = [(d.code, str(d)) for d in departements]
        self.fields["territory"].choices = territories
        self.fields["period"].choices = periods


@dataclass
class Selection:
    departement: object
    territory_type: str
    territory_code: str
    territory_label: str
    period_type: str
    period_start: date | None
    computed_on: date | None
    today: date
    form: DashboardFilterForm
    departements: list = field(default_factory=list)

    @property
    def is_relais(self):
        return self.territory_type == TerritoryType.RELAIS

    @property
    def code(self):
        return self.departement.code

    @property
    def label(self):
        return period_label(self.period_type, self.period_start)

    @property
    def in_progress(self):
        """The selected period is not over yet."""
        if self.period_start is None or self.period_type == PeriodType.TOTAL:
            return self.period_type == PeriodType.TOTAL
        return period_end(self.period_start, self.period_type) >= self.today

    @property
    def state_until(self):
        """States (places, distances) are read as computed at the end of the period, or today."""
        if self.period_type == PeriodType.TOTAL or self.period_start is None:
            return self.today
        return min(period_end(self.period_start, self.period_type), self.today)

    def query(self, **overrides):
        params = {
            "departement": self.code,
            "territory": self.territory_code if self.is_relais else "",
            "period_type": self.period_type,
            "period": self.period_start.isoformat() if self.period_start else "",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v}


def selection_resolve(user, params):
    """The selection `params` ask for, within what `user` may see. A département the user may not
    see is a 404; a value that is not among the choices is a form error (and the default is used)."""
    departements = list(departements_visible_to(user).order_by("code"))
    if not departements:
        raise Http404
    by_code = {d.code: d for d in departements}
    code = params.get("departement") or departements[0].code
    if code not in by_code:
        raise Http404
    departement = by_code[code]
    computed_on = IndicatorSnapshot.objects.latest_computed_on(code)
    base = IndicatorSnapshot.objects.filter(departement_code=code, computed_on=computed_on)
    relais = list(
        base.filter(territory_type=TerritoryType.RELAIS, period_type=PeriodType.TOTAL)
        .order_by("territory_label")
        .values_list("territory_code", "territory_label")
        .distinct()
    )
    territories = [("", _("Tout le département"))] + relais
    requested_type = params.get("period_type") or DEFAULT_PERIOD_TYPE
    period_type = requested_type if requested_type in dict(FLOW_PERIOD_CHOICES) else DEFAULT_PERIOD_TYPE
    starts = sorted(
        set(
            base.filter(territory_type=TerritoryType.DEPARTEMENT, period_type=period_type).values_list(
                "period_start", flat=True
            )
        ),
        reverse=True,
    )
    requested = _parse_day(params.get("period"))
    if period_type == PeriodType.TOTAL:
        requested = starts[0] if starts else None  # one cumulated period: nothing to choose
    elif requested is not None and requested not in starts:
        requested = period_start(requested, period_type)  # switching period type keeps the same moment
    data = {
        "departement": code,
        "territory": params.get("territory", ""),
        "period_type": requested_type,
        "period": requested.isoformat() if requested in starts else params.get("period", ""),
    }
    form = DashboardFilterForm(
        data,
        departements=departements,
        territories=territories,
        periods=[(s.isoformat(), period_label(period_type, s)) for s in starts],
    )
    form.is_valid()
    cleaned = form.cleaned_data
    chosen = _parse_day(cleaned.get("period")) or (starts[0] if starts else None)
    territory_code = cleaned.get("territory") or ""
    labels = dict(relais)
    today = timezone.localdate()
    return Selection(
        departement=departement,
        territory_type=TerritoryType.RELAIS if territory_code else TerritoryType.DEPARTEMENT,
        territory_code=territory_code or code,
        territory_label=labels.get(territory_code, departement.name),
        period_type=period_type,
        period_start=chosen,
        computed_on=computed_on,
        today=today,
        form=form,
        departements=departements,
    )


def _parse_day(value):
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


# --- Reading snapshots ---------------------------------------------------------------------------


def flow_values(selection, period_type=None):
    """{indicator: {period start: (value, extra)}} for the selected territory, latest computation."""
    if selection.computed_on is None:
        return {}
    rows = IndicatorSnapshot.objects.filter(
        departement_code=selection.code,
        computed_on=selection.computed_on,
        territory_type=selection.territory_type,
        territory_code=selection.territory_code,
        period_type=period_type or selection.period_type,
    ).values_list("indicator", "period_start", "value", "extra")
    result = {}
    for indicator, start, value, extra in rows:
        result.setdefault(indicator, {})[start] = (value, extra)
    return result


def state_day(code, until):
    """The last day states were computed on, at or before `until`."""
    return IndicatorSnapshot.objects.filter(
        departement_code=code,
        territory_type=TerritoryType.DEPARTEMENT,
        period_type=PeriodType.DAY,
        computed_on__lte=until,
    ).aggregate(day=Max("computed_on"))["day"]


def state_values(code, day, territory_type=TerritoryType.DEPARTEMENT, indicators=None):
    """{indicator: (value, extra)} (or {(indicator, territory code): ...} for communes)."""
    if day is None:
        return {}
    rows = IndicatorSnapshot.objects.filter(
        departement_code=code, territory_type=territory_type, period_type=PeriodType.DAY, computed_on=day
    )
    if indicators is not None:
        rows = rows.filter(indicator__in=indicators)
    if territory_type == TerritoryType.DEPARTEMENT:
        return {i: (v, e) for i, v, e in rows.values_list("indicator", "value", "extra")}
    return {
        (i, t): (v, e, label)
        for i, t, label, v, e in rows.values_list(
            "indicator", "territory_code", "territory_label", "value", "extra"
        )
    }


# --- Key figures ---------------------------------------------------------------------------------


@dataclass
class Figure:
    indicator: catalogue.Indicator
    value: float | None
    previous: float | None
    period: str
    previous_period: str
    extra: dict = field(default_factory=dict)
    in_progress: bool = False

    @property
    def change(self):
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous

    @property
    def change_percent(self):
        change = self.change
        if change is None or not self.previous:
            return None
        return change / abs(self.previous) * 100

    @property
    def trend(self):
        change = self.change
        if change is None:
            return ""
        if abs(change) < 10 ** -(self.indicator.decimals + 1):
            return "flat"
        return "up" if change > 0 else "down"

    @property
    def is_better(self):
        if self.trend in ("", "flat"):
            return None
        return (self.trend == "up") == self.indicator.higher_is_better

    @property
    def display(self):
        return format_value(self.value, self.indicator.decimals)

    @property
    def display_previous(self):
        return format_value(self.previous, self.indicator.decimals)

    @property
    def display_change(self):
        change = self.change
        if change is None:
            return ""
        if self.trend == "flat":
            return _("stable")
        sign = "+" if change > 0 else ("−" if change < 0 else "")
        text = f"{sign}{format_value(abs(change), self.indicator.decimals)}"
        if self.change_percent is not None and self.indicator.unit not in ("%",):
            text += f" ({sign}{format_value(abs(self.change_percent), 0)} %)"
        elif self.indicator.unit == "%":
            text += " " + _("pts")
        return text

    def as_dict(self):
        return {
            "indicator": self.indicator.code,
            "label": str(self.indicator.label),
            "unit": str(self.indicator.unit),
            "section": self.indicator.section,
            "source": self.indicator.source,
            "source_note": str(self.indicator.source_note),
            "period": self.period,
            "value": self.value,
            "previous_period": self.previous_period,
            "previous": self.previous,
            "change": self.change,
            "change_percent": self.change_percent,
            "in_progress": self.in_progress,
        }


def key_figures(selection, flows=None):
    flows = flows if flows is not None else flow_values(selection)
    start, kind = selection.period_start, selection.period_type
    before = previous_period(start, kind) if start else None
    state_now = state_previous = {}
    if not selection.is_relais:
        state_now = state_values(selection.code, state_day(selection.code, selection.state_until))
        if before is not None:
            state_previous = state_values(selection.code, state_day(selection.code, period_end(before, kind)))
    figures = []
    for code in KEY_FIGURES:
        indicator = catalogue.get(code)
        if selection.territory_type not in indicator.territories:
            continue
        if indicator.is_flow:
            values = flows.get(code, {})
            # A relais has no row for a period it had no activity in: its counts are zero then.
            missing = 0 if selection.is_relais else None
            value, extra = values.get(start, (missing, {}))
            previous = values.get(before, (missing, {}))[0] if before else None
            figures.append(
                Figure(
                    indicator,
                    value,
                    previous,
                    selection.label,
                    period_label(kind, before),
                    extra,
                    in_progress=selection.in_progress and kind != PeriodType.TOTAL,
                )
            )
        else:
            value, extra = state_now.get(code, (None, {}))
            previous = state_previous.get(code, (None, {}))[0]
            figures.append(
                Figure(indicator, value, previous, selection.label, period_label(kind, before), extra)
            )
    return figures


# --- Series for the charts -----------------------------------------------------------------------


def departement_periods(selection, period_type):
    """Every period of `period_type` the département's snapshots cover, in order."""
    if selection.computed_on is None:
        return []
    starts = IndicatorSnapshot.objects.filter(
        departement_code=selection.code,
        computed_on=selection.computed_on,
        territory_type=TerritoryType.DEPARTEMENT,
        territory_code=selection.code,
        period_type=period_type,
        indicator="devices_distributed",
    ).values_list("period_start", flat=True)
    return sorted(starts)


def flow_series(selection):
    """Per period (of the selected type, or finer when it has fewer than three periods; months for
    the cumulated view): PCs sold and given, devices lent, and the kilograms collected, reused and
    sent to DEEE."""
    kind = PeriodType.MONTH if selection.period_type == PeriodType.TOTAL else selection.period_type
    finer = {PeriodType.YEAR: PeriodType.QUARTER, PeriodType.QUARTER: PeriodType.MONTH}
    starts = departement_periods(selection, kind)
    while kind in finer and len(starts) < MIN_SERIES_LENGTH:
        kind = finer[kind]  # too few periods to draw a trend: a finer grain
        starts = departement_periods(selection, kind)
    # A relais has rows for its active periods only: the département's periods fill the gaps.
    flows = flow_values(selection, kind)
    starts = starts[-SERIES_LENGTH.get(kind, 24) :]

    def column(code, key=None):
        values = flows.get(code, {})
        if key is None:
            return [values.get(s, (None, {}))[0] or 0 for s in starts]
        return [values.get(s, (None, {}))[1].get(key, 0) for s in starts]

    def nullable(code):
        values = flows.get(code, {})
        return [values.get(s, (None, {}))[0] for s in starts]

    return {
        "period_type": kind,
        "labels": [period_label(kind, s) for s in starts],
        "starts": [s.isoformat() for s in starts],
        "pcs_sold": column("pcs_distributed", "sold"),
        "pcs_given": column("pcs_distributed", "given"),
        "devices_distributed": column("devices_distributed"),
        "devices_lent": column("devices_lent"),
        "kg_collected": column("kg_collected"),
        "kg_reused": column("kg_reused"),
        "kg_deee": column("kg_deee"),
        "median_days": nullable("median_days_to_distribution"),
        "reuse_rate": nullable("reuse_rate"),
    }


def state_series(selection):
    """The mesh over time: one point per computation day (the last of each month beyond 60 days)."""
    codes = [
        "places_weighted_distance_km",
        "deee_points_weighted_distance_km",
        "places_share_10km",
        "public_devices",
    ]
    since = selection.today - timedelta(days=STATE_HISTORY_DAYS)
    rows = (
        IndicatorSnapshot.objects.filter(
            departement_code=selection.code,
            territory_type=TerritoryType.DEPARTEMENT,
            period_type=PeriodType.DAY,
            indicator__in=codes,
            computed_on__gte=since,
        )
        .order_by("computed_on")
        .values_list("computed_on", "indicator", "value")
    )
    by_day = {}
    for day, indicator, value in rows:
        key = day if (selection.today - day).days <= 60 else (day.year, day.month)
        by_day.setdefault(key, {"day": day})[indicator] = value
        by_day[key]["day"] = max(by_day[key]["day"], day)
    points = sorted(by_day.values(), key=lambda point: point["day"])
    return {
        "labels": [date_format(p["day"], "SHORT_DATE_FORMAT") for p in points],
        **{code: [p.get(code) for p in points] for code in codes},
    }


# --- Tables --------------------------------------------------------------------------------------


@dataclass
class Column:
    key: str
    label: str
    kind: str = "text"  # text, int, dec1, dec2

    def decimals(self, row=None):
        """`row` kind: each row says its decimals in its "decimals" key (tables mixing units)."""
        if self.kind == "row":
            return (row or {}).get("decimals", 2)
        return {"int": 0, "dec1": 1, "dec2": 2}.get(self.kind)

    @property
    def numeric(self):
        return self.kind != "text"


@dataclass
class Table:
    code: str
    title: str
    columns: list
    rows: list
    note: str = ""

    def cells(self):
        """Rows as formatted strings, for the page."""
        for row in self.rows:
            yield [
                (
                    format_value(row.get(c.key), c.decimals(row)) if c.numeric else (row.get(c.key) or ""),
                    c.numeric,
                )
                for c in self.columns
            ]

    def as_dict(self):
        return {
            "code": self.code,
            "title": str(self.title),
            "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in self.columns],
            "rows": [{k: v for k, v in row.items() if k != "decimals"} for row in self.rows],
            "note": str(self.note),
        }


TABLES = {
    "key_figures": gettext_lazy("Chiffres clés"),
    "series": gettext_lazy("Évolution par période"),
    "categories": gettext_lazy("Par catégorie d'équipement"),
    "relais": gettext_lazy("Par relais"),
    "donor_kinds": gettext_lazy("Taux de réemploi par type de donateur"),
    "mesh": gettext_lazy("Maillage du territoire"),
    "far_communes": gettext_lazy("Communes les plus peuplées à plus de 20 km"),
    "public_donors": gettext_lazy("Donateurs publics (décret n° 2023-266)"),
    "communes": gettext_lazy("Distances par commune"),
}
TABLES_FOR_RELAIS = ["key_figures", "series", "categories"]
# Shown as cards (key figures) or too long for the page (communes): exports and API only.
TABLES_NOT_ON_PAGE = ["key_figures", "communes"]


def tables_for(selection):
    return TABLES_FOR_RELAIS if selection.is_relais else list(TABLES)


def build_table(code, selection, context=None):
    """One table of the dashboard (see TABLES). `context` shares reads between tables."""
    context = context if context is not None else {}
    builder = {
        "key_figures": _key_figures_table,
        "series": _series_table,
        "categories": _categories_table,
        "relais": _relais_table,
        "donor_kinds": _donor_kinds_table,
        "mesh": _mesh_table,
        "far_communes": _far_communes_table,
        "public_donors": _public_donors_table,
        "communes": _communes_table,
    }[code]
    return builder(selection, context)


def _cached(context, key, function):
    if key not in context:
        context[key] = function()
    return context[key]


def _flows(selection, context):
    return _cached(context, "flows", lambda: flow_values(selection))


def _states(selection, context):
    return _cached(
        context,
        "states",
        lambda: state_values(selection.code, state_day(selection.code, selection.state_until)),
    )


def _key_figures_table(selection, context):
    figures = _cached(context, "figures", lambda: key_figures(selection, _flows(selection, context)))
    rows = [
        {
            "indicator": str(f.indicator.label),
            "value": f.value,
            "unit": str(f.indicator.unit),
            "previous": f.previous,
            "change": f.change,
            "source": str(f.indicator.source_note) if f.indicator.source != "exact" else "",
            "decimals": f.indicator.decimals,
        }
        for f in figures
    ]
    return Table(
        "key_figures",
        TABLES["key_figures"],
        [
            Column("indicator", _("Indicateur")),
            Column("value", selection.label or _("Valeur"), "row"),
            Column("unit", _("Unité")),
            Column("previous", _("Période précédente"), "row"),
            Column("change", _("Évolution"), "row"),
            Column("source", _("Source")),
        ],
        rows,
    )


def _series_table(selection, context):
    series = _cached(context, "series", lambda: flow_series(selection))
    names = [
        ("pcs_sold", _("PC vendus"), "int"),
        ("pcs_given", _("PC donnés"), "int"),
        ("devices_distributed", _("Appareils vendus ou donnés"), "int"),
        ("devices_lent", _("Prêts"), "int"),
    ]
    if not selection.is_relais:
        names += [
            ("median_days", _("Délai médian (jours)"), "dec1"),
            ("kg_collected", _("kg collectés"), "dec1"),
            ("kg_reused", _("kg réemployés"), "dec1"),
            ("kg_deee", _("kg DEEE"), "dec1"),
            ("reuse_rate", _("Taux de réemploi (%)"), "dec1"),
        ]
    rows = [
        {"period": label, **{key: series[key][i] for key, _label, _kind in names}}
        for i, label in enumerate(series["labels"])
    ]
    return Table(
        "series",
        TABLES["series"],
        [Column("period", _("Période"))] + [Column(key, label, kind) for key, label, kind in names],
        rows,
    )


def category_names():
    return dict(EquipmentCategory.objects.values_list("code", "name"))


def _categories_table(selection, context):
    flows = _flows(selection, context)
    start = selection.period_start

    def extra(code):
        return flows.get(code, {}).get(start, (None, {}))[1]

    distributed = extra("devices_distributed").get("by_category", {})
    lent = extra("devices_lent").get("by_category", {})
    reused = extra("kg_reused").get("by_category", {})
    collected = extra("kg_collected").get("by_category", {})
    deee = extra("kg_deee").get("by_category", {})
    rows = []
    for code, name in _cached(context, "categories", category_names).items():
        row = {
            "category": name,
            "sold": distributed.get(code, {}).get("sold", 0),
            "given": distributed.get(code, {}).get("given", 0),
            "lent": lent.get(code, 0),
        }
        if not selection.is_relais:  # weights by category are kept for départements only
            row.update(
                kg_reused=reused.get(code, 0), kg_collected=collected.get(code, 0), kg_deee=deee.get(code, 0)
            )
        if any(value for key, value in row.items() if key != "category"):
            rows.append(row)
    columns = [
        Column("category", _("Catégorie")),
        Column("sold", _("Vendus"), "int"),
        Column("given", _("Donnés"), "int"),
        Column("lent", _("Prêtés"), "int"),
    ]
    if not selection.is_relais:
        columns += [
            Column("kg_reused", _("kg réemployés"), "dec1"),
            Column("kg_collected", _("kg collectés"), "dec1"),
            Column("kg_deee", _("kg DEEE"), "dec1"),
        ]
    return Table("categories", TABLES["categories"], columns, rows)


RELAIS_COLUMNS = {  # indicator: its column in the table by relais
    "pcs_distributed": "pcs",
    "devices_lent": "lent",
    "people_equipped": "people",
    "structures_equipped": "structures",
}


def _relais_table(selection, context):
    filters = {
        "departement_code": selection.code,
        "computed_on": selection.computed_on,
        "territory_type": TerritoryType.RELAIS,
    }
    rows = IndicatorSnapshot.objects.filter(
        **filters, period_type=selection.period_type, period_start=selection.period_start
    ).values_list("territory_code", "territory_label", "indicator", "value", "extra")
    known = IndicatorSnapshot.objects.filter(**filters, period_type=PeriodType.TOTAL).values_list(
        "territory_code", "territory_label"
    )
    # A relais with no row for the period had no activity then: zeros.
    blank = {"pcs": 0, "sold": 0, "given": 0, "lent": 0, "people": 0, "structures": 0}
    by_relais = {code: {"relais": label, **blank} for code, label in known}
    for code, label, indicator, value, extra in rows:
        row = by_relais.setdefault(code, {"relais": label, **blank})
        if indicator == "devices_distributed":
            row["sold"], row["given"] = extra.get("sold", 0), extra.get("given", 0)
        elif indicator in RELAIS_COLUMNS:
            row[RELAIS_COLUMNS[indicator]] = value
    return Table(
        "relais",
        TABLES["relais"],
        [
            Column("relais", _("Relais")),
            Column("pcs", _("PC vendus ou donnés"), "int"),
            Column("sold", _("Appareils vendus"), "int"),
            Column("given", _("Appareils donnés"), "int"),
            Column("lent", _("Prêts"), "int"),
            Column("people", _("Personnes équipées"), "int"),
            Column("structures", _("Structures équipées"), "int"),
        ],
        sorted(by_relais.values(), key=lambda row: row["relais"]),
    )


def _donor_kinds_table(selection, context):
    extra = _flows(selection, context).get("reuse_rate", {}).get(selection.period_start, (None, {}))[1]
    labels = dict(Provenance.choices)
    rows = [
        {
            "kind": str(labels.get(kind, kind)),
            "received": line["received"],
            "reused": line["reused"],
            "rate": line["rate"],
        }
        for kind, line in sorted(extra.get("by_provenance", {}).items())
    ]
    if rows:
        rows.append(
            {
                "kind": _("Ensemble"),
                "received": extra.get("received", 0),
                "reused": extra.get("reused", 0),
                "rate": extra.get("reused", 0) / extra["received"] * 100 if extra.get("received") else None,
            }
        )
    return Table(
        "donor_kinds",
        TABLES["donor_kinds"],
        [
            Column("kind", _("Type de donateur")),
            Column("received", _("Appareils reçus"), "int"),
            Column("reused", _("Réemployés depuis"), "int"),
            Column("rate", _("Taux de réemploi (%)"), "dec1"),
        ],
        rows,
        note=_(
            "Appareils reçus dans la période ; ceux reçus récemment ont encore peu de chances d'avoir été réemployés."
        ),
    )


def _mesh_table(selection, context):
    states = _states(selection, context)
    rows = []
    for measure in MESH_MEASURES:
        row = {"measure": str(MESH_LABELS[measure]), "decimals": catalogue.get(f"places_{measure}").decimals}
        for prefix, _label in NETWORKS:
            row[prefix] = states.get(f"{prefix}_{measure}", (None, {}))[0]
        rows.append(row)
    rows.insert(
        3,
        {
            "measure": _("… en ne comptant que les lieux du département (km)"),
            "decimals": 1,
            **{
                prefix: states.get(f"{prefix}_weighted_distance_km", (None, {}))[1].get(
                    "within_departement_only_km"
                )
                for prefix, _label in NETWORKS
            },
        },
    )
    return Table(
        "mesh",
        TABLES["mesh"],
        [Column("measure", _("Mesure"))] + [Column(prefix, str(label), "row") for prefix, label in NETWORKS],
        rows,
    )


def _far_communes_table(selection, context):
    states = _states(selection, context)
    rows = []
    for prefix, label in NETWORKS:
        for commune in states.get(f"{prefix}_far_communes", (None, {}))[1].get("communes", []):
            rows.append(
                {
                    "commune": commune["name"],
                    "network": str(label),
                    "insee": commune["insee"],
                    "population": commune["population"],
                    "distance": commune["distance_km"],
                }
            )
    return Table(
        "far_communes",
        TABLES["far_communes"],
        [
            Column("commune", _("Commune")),
            Column("network", _("Plus proche de")),
            Column("insee", _("Code INSEE")),
            Column("population", _("Population"), "int"),
            Column("distance", _("Distance au plus proche (km)"), "dec1"),
        ],
        rows,
    )


def _public_donors_table(selection, context):
    kind = selection.period_type
    if kind == PeriodType.TOTAL:
        start = selection.period_start
    else:
        kind = PeriodType.YEAR
        start = date(selection.period_start.year, 1, 1) if selection.period_start else None
    extra = {}
    if selection.computed_on is not None and start is not None:
        row = (
            IndicatorSnapshot.objects.filter(
                departement_code=selection.code,
                computed_on=selection.computed_on,
                territory_type=TerritoryType.DEPARTEMENT,
                indicator="public_donor_reuse",
                period_type=kind,
                period_start=start,
            )
            .values_list("extra", flat=True)
            .first()
        )
        extra = row or {}
    rows = [
        {
            "donor": line["name"],
            "received": line["received"],
            "oriented": line["oriented"],
            "in_progress": line["in_progress"],
            "recycled": line["recycled"],
            "retired_stock": line["retired_stock"],
            "ratio": line["ratio"],
            "target": line["target"],
        }
        for line in extra.get("donors", [])
    ]
    return Table(
        "public_donors",
        f"{TABLES['public_donors']} — {period_label(kind, start)}",
        [
            Column("donor", _("Donateur public")),
            Column("received", _("Reçus (DEEE 2° et 6°)"), "int"),
            Column("oriented", _("Orientés vers le réemploi (A)"), "int"),
            Column("in_progress", _("En cours de reconditionnement"), "int"),
            Column("recycled", _("Recyclés"), "int"),
            Column("retired_stock", _("Stock réformé au 1er janvier (B)"), "int"),
            Column("ratio", _("Ratio A / B (%)"), "dec1"),
            Column("target", _("Objectif légal (%)"), "int"),
        ],
        rows,
        note=catalogue.get("public_donor_reuse").source_note,
    )


def _communes_table(selection, context):
    day = state_day(selection.code, selection.state_until)
    values = state_values(
        selection.code, day, TerritoryType.COMMUNE, ["commune_place_distance_km", "commune_deee_distance_km"]
    )
    rows = {}
    for (indicator, insee), (value, extra, label) in values.items():
        row = rows.setdefault(
            insee, {"insee": insee, "commune": label, "population": extra.get("population")}
        )
        prefix = "place" if indicator == "commune_place_distance_km" else "deee"
        row[f"{prefix}_km"] = value
        row[f"{prefix}_nearest"] = extra.get("nearest", "")
    return Table(
        "communes",
        TABLES["communes"],
        [
            Column("insee", _("Code INSEE")),
            Column("commune", _("Commune")),
            Column("population", _("Population"), "int"),
            Column("place_km", _("Distance au lieu ouvert au public (km)"), "dec1"),
            Column("place_nearest", _("Lieu le plus proche")),
            Column("deee_km", _("Distance au point DEEE (km)"), "dec1"),
            Column("deee_nearest", _("Point DEEE le plus proche")),
        ],
        sorted(rows.values(), key=lambda row: row["commune"]),
    )


# --- The map -------------------------------------------------------------------------------------


# Distance classes of the map (km) and their colours (ColorBrewer OrRd: the farther, the darker).
DISTANCE_CLASSES = [
    (5, "#fef0d9", gettext_lazy("5 km ou moins")),
    (10, "#fdcc8a", gettext_lazy("de 5 à 10 km")),
    (20, "#fc8d59", gettext_lazy("de 10 à 20 km")),
    (None, "#d7301f", gettext_lazy("plus de 20 km")),
]
NO_PLACE_COLOR = "#bdbdbd"


def map_layers(selection):
    """Communes (centre, population, distance to the nearest place and DEEE point) and the places,
    as computed at the end of the selected period."""
    day = state_day(selection.code, selection.state_until)
    values = state_values(
        selection.code, day, TerritoryType.COMMUNE, ["commune_place_distance_km", "commune_deee_distance_km"]
    )
    communes = {}
    for (indicator, insee), (value, extra, label) in values.items():
        commune = communes.setdefault(
            insee,
            {
                "insee": insee,
                "name": label,
                "population": extra.get("population"),
                "lat": extra.get("lat"),
                "lon": extra.get("lon"),
            },
        )
        prefix = "place" if indicator == "commune_place_distance_km" else "deee"
        commune[f"{prefix}_km"] = None if value is None else round(value, 2)
        commune[f"{prefix}_nearest"] = extra.get("nearest", "")
    states = state_values(selection.code, day, indicators=["places_count", "deee_points_count"])
    return {
        "computed_on": day.isoformat() if day else None,
        "computed_on_label": date_format(day, "j F Y") if day else "",
        "classes": [
            {"max_km": km, "color": color, "label": str(label)} for km, color, label in DISTANCE_CLASSES
        ],
        "no_place_color": NO_PLACE_COLOR,
        "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        "communes": sorted(communes.values(), key=lambda c: c["insee"]),
        "places": states.get("places_count", (None, {}))[1].get("sites", []),
        "deee_points": states.get("deee_points_count", (None, {}))[1].get("sites", []),
    }


# --- The computation's status --------------------------------------------------------------------


def run_status(user, departement):
    """The last finished computation covering the département, the one waiting or running if any,
    and whether `user` may ask for another."""
    runs = SnapshotRun.objects.covering(departement)
    last_done = runs.filter(status=RunStatus.DONE).order_by("-finished_at").first()
    failed = runs.filter(status=RunStatus.FAILED)
    if last_done is not None:
        failed = failed.filter(finished_at__gt=last_done.finished_at)
    return {
        "last_done": last_done,
        "failed_since": failed.order_by("-finished_at").first(),
        "pending": runs.unfinished().filter(requested_at__gte=timezone.now() - timedelta(hours=1)).first(),
        "can_request": can_request_computation(user, departement),
    }


def dashboard(selection, user):
    """Everything the page and the API show."""
    context = {}
    flows = _flows(selection, context)
    figures = _cached(context, "figures", lambda: key_figures(selection, flows))
    tables = {
        code: build_table(code, selection, context) for code in tables_for(selection) if code != "communes"
    }
    page_tables = {code: table for code, table in tables.items() if code not in TABLES_NOT_ON_PAGE}
    return {
        "figures": figures,
        "series": _cached(context, "series", lambda: flow_series(selection)),
        "state_series": state_series(selection) if not selection.is_relais else None,
        "tables": tables,
        "page_tables": page_tables,
        "status": run_status(user, selection.departement),
    }
