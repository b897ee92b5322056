"""Builders for the indicators' tests: places at real towns, devices with a dated history.

Histories are written as DeviceEvent rows directly (the indicators read the history, whatever
guard other apps put on the transitions that produced it)."""

import csv
import os
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import factory
from django.conf import settings

from indicators.enums import PeriodType, TerritoryType
from indicators.models import IndicatorSnapshot
from reemploi.communes import communes_import
from reemploi.enums import DeviceState, OrganisationKind, Provenance
from reemploi.models import Commune, Departement, DeviceEvent, Organisation
from tests.reemploi.factories import DeviceFactory, OrganisationFactory, SiteFactory, category

PARIS = ZoneInfo("Europe/Paris")
SHARED_DATA = Path(
    os.environ.get("REEMPLOI_SHARED_DATA") or Path(settings.BASE_DIR).parent / "shared" / "data"
)
COMMUNES_CSV = SHARED_DATA / "communes-france-2024.csv"
# The Nièvre and the départements around it: Cher, Loiret, Yonne, Côte-d'Or, Saône-et-Loire, Allier.
NEIGHBOURS = ("18", "45", "89", "21", "71", "03")

# Real towns of the Nièvre (INSEE codes) where the tests put places.
NEVERS, COSNE, DECIZE, CLAMECY, CHATEAU_CHINON, LA_CHARITE, LUZY, SAINT_PIERRE = (
    "58194",
    "58086",
    "58095",
    "58079",
    "58062",
    "58059",
    "58149",
    "58264",
)


def read_communes(departements=("58",)):
    """The communes of `departements` from the shared reference file, as plain dicts."""
    with COMMUNES_CSV.open(encoding="utf-8") as handle:
        return [
            {
                "insee": row["code_insee"],
                "name": row["nom"],
                "departement": row["code_departement"],
                "population": int(row["population"] or 0),
                "lat": float(row["latitude"]),
                "lon": float(row["longitude"]),
            }
            for row in csv.DictReader(handle)
            if row["code_departement"] in departements and row["latitude"]
        ]


def create_communes(rows, tmp_path):
    """Import `rows` through the platform's own communes importer (a CSV in its format)."""
    path = tmp_path / "communes.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["code_insee", "nom", "code_departement", "codes_postaux", "latitude", "longitude", "population"]
        )
        for row in rows:
            writer.writerow(
                [row["insee"], row["name"], row["departement"], "", row["lat"], row["lon"], row["population"]]
            )
    communes_import(path_or_file=path)
    return {c.insee_code: c for c in Commune.objects.filter(insee_code__in=[r["insee"] for r in rows])}


def organisation_at(insee, kind=OrganisationKind.RELAIS, name=None, **site_fields):
    """An organisation with one active site at the centre of commune `insee`."""
    commune = Commune.objects.get(insee_code=insee)
    organisation = OrganisationFactory(kind=kind, name=name or f"{kind} {commune.name}")
    SiteFactory(
        organisation=organisation, commune=commune, name=name or f"Lieu {commune.name}", **site_fields
    )
    return organisation


def relais_at(insee, public_devices=0, **fields):
    return organisation_at(
        insee,
        OrganisationKind.RELAIS,
        is_relais_shop=True,
        is_public_place=True,
        public_devices=public_devices,
        **fields,
    )


def workshop_at(insee, **fields):
    return organisation_at(
        insee, OrganisationKind.REFURBISHER, is_workshop=True, is_collection_point=True, **fields
    )


def local(day, hour=12):
    """An aware datetime at `hour` o'clock, Paris time, on `day`."""
    return datetime.combine(day, time(hour), tzinfo=PARIS)


def device_with_history(steps, *, code="laptop", provenance=Provenance.COMPANY, donor=None, weight_kg=None):
    """A device whose history is `steps`: [(state, holder, day or datetime), ...], the first step
    being its creation. The device ends in the last state, held by the last holder."""
    first_state, first_holder, first_at = steps[0]
    first_at = first_at if isinstance(first_at, datetime) else local(first_at)
    last_state, last_holder, _last_at = steps[-1]
    device = DeviceFactory(
        category=category(code),
        provenance=provenance,
        donor_organisation=donor,
        holder=last_holder,
        state=last_state,
        weight_kg=weight_kg,
        created_at=first_at,
    )
    previous = ""
    for state, holder, at in steps:
        DeviceEvent.objects.create(
            device=device,
            from_state=previous,
            to_state=state,
            holder=holder,
            at=at if isinstance(at, datetime) else local(at),
        )
        previous = state
    return device


def pipeline(workshop, relais, received, distributed, state=DeviceState.SOLD, **fields):
    """received at `workshop` on `received`, through the workshop to `relais`, then `state` on
    `distributed`."""
    S = DeviceState
    return device_with_history(
        [
            (S.RECEIVED, workshop, received),
            (S.AUDITED, workshop, received),
            (S.SANITISED, workshop, received),
            (S.READY, workshop, received),
            (S.IN_TRANSIT, relais, received),
            (S.IN_STOCK, relais, received),
            (state, relais, distributed),
        ],
        **fields,
    )


class SnapshotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IndicatorSnapshot

    indicator = "devices_distributed"
    territory_type = TerritoryType.DEPARTEMENT
    territory_code = "58"
    territory_label = "Nièvre"
    departement_code = "58"
    period_type = PeriodType.YEAR
    value = 0
    extra = factory.LazyFunction(dict)


def departement_org(code="58"):
    return Organisation.objects.create(
        name=f"Département {code}",
        kind=OrganisationKind.DEPARTEMENT,
        departement=Departement.objects.get(code=code),
    )
