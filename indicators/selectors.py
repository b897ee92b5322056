"""Reads for the computation: each selector turns database rows into the plain arrays of
`computations.Dataset`. Nothing here computes an indicator.

Heavy reads (one row per device event) run the SQL the ORM writes without building model
instances: on PostgreSQL through COPY, parsed by numpy. The database turns dates into local days
(days since 1970, Paris time).

A device that came from a donation takes its dates and weights from the donation: the delay to
distribution counts from the day the donation was proposed, and the kilograms collected are the
weights measured at reception (else at collection), shared among the donation's devices."""

import io

import numpy as np
from django.db import connection
from django.db.models import FloatField, Func, IntegerField, Q, Value
from django.db.models.functions import Cast, Coalesce, TruncDate
from django.utils import timezone

from beneficiaries.enums import BeneficiaryKind
from donors import selectors as donors_selectors
from donors.models import Donation
from reemploi.enums import DeviceState as S
from reemploi.models import Commune, Departement, DeviceEvent, EquipmentCategory, Organisation, Site
from relais.models import Sale

from . import computations as c


class EpochDay(Func):
    """Days since 1970-01-01 of a date expression: an integer numpy turns into a day at no cost."""

    output_field = IntegerField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(%(expressions)s - DATE '1970-01-01')", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="CAST(julianday(%(expressions)s) - 2440587.5 AS INTEGER)", **extra
        )


def local_day(field):
    return EpochDay(TruncDate(field))


DISTRIBUTION_STATES = [S.SOLD, S.GIVEN, S.LENT, S.RETURNED]
# A device enters the network at its first reception; later receptions are returns to a workshop.
INTAKE_FROM_STATES = ["", S.EXPECTED, S.COLLECTED]
DISPOSAL_STATES = [S.DEEE, S.PARTS]


def dataset_load(*, departement_codes=None, today=None):
    """Everything the computation needs, for the given départements (default: every département
    where the network has a site or a departmental organisation). Places and collection points are
    loaded for the whole country: a commune's nearest place may lie across the border."""
    today = today or timezone.localdate()
    codes = departements_to_compute() if departement_codes is None else set(departement_codes)
    departements = dict(Departement.objects.filter(code__in=codes).values_list("code", "name"))
    organisations = organisations_load()
    located = dict(zip(organisations.id.tolist(), organisations.departement, strict=True))
    holders = None
    if departement_codes is not None:
        holders = [org_id for org_id, code in located.items() if code in departements]
    return c.Dataset(
        today=today,
        departements=departements,
        categories={
            pk: (code, deee)
            for pk, code, deee in EquipmentCategory.objects.values_list("pk", "code", "deee_category")
        },
        organisations=organisations,
        distributions=distribution_events(holders=holders, until=today),
        intakes=intake_flows(holders, today),
        disposals=device_flows(Q(to_state__in=DISPOSAL_STATES), holders, today),
        places=places_load(Site.objects.public_places()),
        collection_points=places_load(Site.objects.collection_points()),
        communes=communes_load(departements),
        people_sales=people_sales(holders=holders, until=today),
        structure_sales=structure_sales(holders=holders, until=today),
        retired_stock=public_donors_retired_stock(),
    )


def departements_to_compute():
    with_sites = Site.objects.filter(is_active=True).values_list("commune__departement__code", flat=True)
    with_staff = Organisation.objects.filter(kind="departement", is_active=True).values_list(
        "departement__code", flat=True
    )
    return set(with_sites.distinct()) | set(with_staff.distinct())


def organisations_load():
    declared = dict(Organisation.objects.values_list("pk", "departement__code"))
    sites = Site.objects.filter(is_active=True).values_list(
        "organisation_id", "pk", "is_relais_shop", "commune__insee_code", "commune__departement__code"
    )
    located = c.locate_organisations(declared, sites)
    rows = list(Organisation.objects.order_by("pk").values_list("pk", "uuid", "name", "kind"))
    return c.Organisations(
        id=np.array([row[0] for row in rows], dtype=np.int64),
        uuid=[str(row[1]) for row in rows],
        name=[row[2] for row in rows],
        kind=[row[3] for row in rows],
        departement=[located.get(row[0], ("", ""))[0] for row in rows],
        commune=[located.get(row[0], ("", ""))[1] for row in rows],
    )


def _weight():
    return Cast(Coalesce("device__weight_kg", "device__category__typical_weight_kg"), FloatField())


def _events(condition, holders, until):
    events = DeviceEvent.objects.filter(condition, at__date__lte=until)
    if holders is not None:
        events = events.filter(holder_id__in=holders)
    return events.annotate(day=local_day("at"), weight=_weight())


def distribution_events(*, holders=None, until=None):
    """Sold, given, lent and returned events, chronological within each device. `first_day` is the
    day the device's donation was proposed, else (a device with no donation line) the device's first
    history event."""
    events = (
        _events(Q(to_state__in=DISTRIBUTION_STATES), holders, until or timezone.localdate())
        .annotate(
            first_day=local_day(Coalesce("device__donation_line__donation__created_at", "device__created_at"))
        )
        .order_by("device_id", "at", "id")
        .values_list(
            "device_id", "day", "to_state", "holder_id", "device__category_id", "weight", "first_day"
        )
    )
    device, day, state, holder, category, weight, first_day = _read_columns(
        events, [np.int64, np.int64, "U8", np.int64, np.int64, float, np.int64]
    )
    return c.DistributionEvents(
        device=device,
        day=day.astype("datetime64[D]"),
        state=state,
        holder=holder,
        category=category,
        weight_kg=weight,
        first_day=first_day.astype("datetime64[D]"),
    )


def intake_flows(holders=None, until=None):
    """Devices entering the network (first reception at a workshop). Their `weight_kg` is what was
    collected: a donation weighed at reception (else at collection) gives its weight, shared among
    its devices in proportion to their own weight (measured, else the category's typical weight);
    a device from no weighed donation weighs its own weight."""
    flows, donation = device_flows(
        Q(to_state=S.RECEIVED, from_state__in=INTAKE_FROM_STATES), holders, until, with_donation=True
    )
    flows.weight_kg = c.share_weighed(donation, flows.weight_kg, donations_weighed())
    return flows


def donations_weighed():
    """{donation id: kilograms weighed at reception, else at collection} for weighed donations."""
    weight = Coalesce("reception__weight_kg", "collection__weight_kg")
    rows = (
        Donation.objects.annotate(kg=Cast(weight, FloatField()))
        .filter(kg__isnull=False)
        .values_list("pk", "kg")
    )
    return dict(rows)


def device_flows(condition, holders=None, until=None, *, with_donation=False):
    """Devices entering (first reception) or leaving (DEEE, parts) the network; with the id of each
    device's donation (0: none) when `with_donation`."""
    events = (
        _events(condition, holders, until or timezone.localdate())
        .annotate(
            donor=Coalesce("device__donor_organisation_id", Value(0)),
            donation=Coalesce("device__donation_line__donation_id", Value(0)),
        )
        .order_by()
        .values_list(
            "device_id",
            "day",
            "to_state",
            "holder_id",
            "device__category_id",
            "weight",
            "device__provenance",
            "donor",
            "donation",
        )
    )
    device, day, state, holder, category, weight, provenance, donor, donation = _read_columns(
        events, [np.int64, np.int64, "U8", np.int64, np.int64, float, "U12", np.int64, np.int64]
    )
    flows = c.DeviceFlows(
        device=device,
        day=day.astype("datetime64[D]"),
        state=state,
        holder=holder,
        category=category,
        weight_kg=weight,
        provenance=provenance,
        donor=donor,
    )
    return (flows, donation) if with_donation else flows


def places_load(sites):
    rows = list(
        sites.located()
        .order_by("pk")
        .values_list(
            "pk",
            "name",
            "latitude",
            "longitude",
            "commune__departement__code",
            "commune__insee_code",
            "public_devices",
        )
    )
    pk, name, lat, lon, departement, commune, public = (
        (list(col) for col in zip(*rows, strict=True)) if rows else ([],) * 7
    )
    return c.Places(
        id=np.asarray(pk, dtype=np.int64),
        name=name,
        latitude=np.asarray(lat, dtype=float),
        longitude=np.asarray(lon, dtype=float),
        departement=np.asarray(departement, dtype="U3"),
        commune=np.asarray(commune, dtype="U5"),
        public_devices=np.asarray(public, dtype=np.int64),
    )


def communes_load(departement_codes):
    rows = list(
        Commune.objects.located()
        .filter(departement__code__in=list(departement_codes))
        .order_by("insee_code")
        .values_list("insee_code", "name", "departement__code", "population", "latitude", "longitude")
    )
    insee, name, departement, population, lat, lon = (
        (list(col) for col in zip(*rows, strict=True)) if rows else ([],) * 6
    )
    return c.Communes(
        insee=np.asarray(insee, dtype="U5"),
        name=name,
        departement=np.asarray(departement, dtype="U3"),
        population=np.asarray(population, dtype=np.int64),
        latitude=np.asarray(lat, dtype=float),
        longitude=np.asarray(lon, dtype=float),
    )


# --- Sales and their beneficiaries (relais, beneficiaries) ----------------------------------------


def people_sales(*, holders=None, until=None):
    """One row per (day, relais, person) of a sale or gift with a device still sold (a line not
    returned under guarantee)."""
    return _sales(BeneficiaryKind.PERSON, holders, until)


def structure_sales(*, holders=None, until=None):
    """The same for associations serving people in precarity: the structures equipped."""
    return _sales(BeneficiaryKind.ASSOCIATION, holders, until)


def _sales(kind, holders, until):
    sales = Sale.objects.filter(
        beneficiary__kind=kind, sold_on__lte=until or timezone.localdate(), lines__is_active=True
    )
    if holders is not None:
        sales = sales.filter(relais_id__in=holders)
    rows = (
        sales.annotate(day=EpochDay("sold_on")).order_by().values_list("day", "relais_id", "beneficiary_id")
    )
    day, holder, beneficiary = _read_columns(rows.distinct(), [np.int64, np.int64, np.int64])
    return c.PersonSales(day=day.astype("datetime64[D]"), holder=holder, beneficiary=beneficiary)


# --- Public donors (décret n° 2023-266) ------------------------------------------------------------


def public_donors_retired_stock(organisation_ids=None):
    """{(public donor organisation id, year): retired items (DEEE 2° and 6°, items over 10 years old
    excluded) in stock on 1 January of that year}, as declared with their donations: the B of the
    décret n° 2023-266 ratio, for the indicator and the reuse attestation alike."""
    return donors_selectors.retired_stock_declarations(organisation_ids)


# --- Raw reads -----------------------------------------------------------------------------------


def _read_columns(queryset, dtypes):
    """The columns of a values_list queryset as numpy arrays of `dtypes`, without building a Python
    object per value on PostgreSQL (COPY of the query's rows, parsed by numpy); values must not be
    NULL. Other databases go through a cursor."""
    sql, params = queryset.query.sql_with_params()
    if connection.vendor == "postgresql":
        buffer = io.BytesIO()
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({sql}) TO STDOUT", params) as copy:
            for data in copy:
                buffer.write(data)
        if not buffer.tell():
            return [np.zeros(0, dtype=dtype) for dtype in dtypes]
        buffer.seek(0)
        fields = [(f"f{i}", dtype) for i, dtype in enumerate(dtypes)]
        table = np.loadtxt(buffer, delimiter="\t", dtype=fields, ndmin=1, comments=None, encoding="utf-8")
        return [table[name] for name, _dtype in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(dtypes)
    return [np.asarray(column, dtype=dtype) for column, dtype in zip(columns, dtypes, strict=True)]
