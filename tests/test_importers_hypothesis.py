"""Every importer under generated input (hypothesis): random bytes, truncated or garbled valid files,
other encodings, huge fields, missing or extra columns, values of the wrong type; and files mixing
good and bad rows.

Each importer may only fail with its documented error (CommuneImportError, MalformedReport, or the
médiation numérique import's report), in French; a file that cannot be read saves nothing (row counts
before and after), and a file with bad rows saves exactly its good rows. Each example runs in a
savepoint rolled back at its end, so examples do not see each other's rows."""

import codecs
import csv
import io
import json
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from reemploi.communes import CommuneImportError, communes_import
from reemploi.models import Commune, CommunePostalCode, Device, DeviceEvent, Organisation, Site
from refurbishers import imports, parsers
from refurbishers.enums import ImportStatus
from refurbishers.models import (
    Audit,
    Evidence,
    ImportJob,
    NoStorageDeclaration,
    Sanitisation,
    StorageMedium,
)
from relais import mednum
from relais.models import RelaisProfile
from tests.reemploi.factories import CommuneFactory, DeviceFactory

pytestmark = pytest.mark.django_db

EXAMPLES = hypothesis_settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible, CI is stable
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEW_EXAMPLES = hypothesis_settings(EXAMPLES, max_examples=15)

# Words a French message is made of; the importers' messages must hold at least one.
FRENCH_WORDS = {
    "fichier", "ligne", "colonne", "colonnes", "valeur", "rapport", "attendu", "attendue", "absent",
    "absente", "absents", "invalide", "illisible", "vide", "encodage", "inconnu", "inconnue", "champ",
    "commune", "introuvable", "format", "nombre", "caractères", "obligatoire", "double", "date",
    "de", "du", "des", "la", "le", "les", "et", "à", "au", "un", "une", "est", "pas", "ou", "hors",
}  # fmt: skip
WORD = re.compile(r"\w+")


def is_french(message):
    return bool(set(WORD.findall(str(message).lower())) & FRENCH_WORDS)


@contextmanager
def scratch():
    """A savepoint rolled back at the end: each generated example starts from the same database."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def counts(*models):
    return {model.__name__: model.objects.count() for model in models}


# --- Generic ways to spoil a file ------------------------------------------------------------------

HUGE = "X" * 300_000  # above csv's default field size limit (131 072)


@st.composite
def spoiled(draw, valid: bytes):
    """A valid file damaged in one of the ways files get damaged on their way to an upload."""
    how = draw(
        st.sampled_from(
            ["truncate", "flip", "insert", "utf16", "latin1_garble", "nul", "duplicate_tail", "huge"]
        )
    )
    if how == "truncate":
        return valid[: draw(st.integers(0, max(0, len(valid) - 1)))]
    if how == "flip":
        data = bytearray(valid)
        for _ in range(draw(st.integers(1, 8))):
            position = draw(st.integers(0, len(data) - 1))
            data[position] = draw(st.integers(0, 255))
        return bytes(data)
    if how == "insert":
        position = draw(st.integers(0, len(valid)))
        return valid[:position] + draw(st.binary(min_size=1, max_size=64)) + valid[position:]
    if how == "utf16":
        return codecs.BOM_UTF16_LE + valid.decode("utf-8", "replace").encode("utf-16-le")
    if how == "latin1_garble":
        return valid.decode("utf-8", "replace").encode("utf-8").decode("latin-1").encode("utf-8")
    if how == "nul":
        position = draw(st.integers(0, len(valid)))
        return valid[:position] + b"\x00" * draw(st.integers(1, 16)) + valid[position:]
    if how == "duplicate_tail":
        position = draw(st.integers(0, len(valid)))
        return valid + valid[position:]
    position = draw(st.integers(0, len(valid)))
    return valid[:position] + HUGE.encode() + valid[position:]


def garbage_or_spoiled(valid: bytes):
    return st.one_of(st.binary(max_size=3000), spoiled(valid))


# --- Communes (reemploi/communes.py, manage.py import_communes) -----------------------------------

COMMUNES_HEADER = (
    "code_insee,nom,code_departement,code_region,codes_postaux,latitude,longitude,population,superficie_km2"
)
COMMUNE_MODELS = (Commune, CommunePostalCode)


def commune_line(code, name="Village", dept="58", postal="58000", lat="47.0", lon="3.1", population="120"):
    return f"{code},{name},{dept},27,{postal},{lat},{lon},{population},12.5"


VALID_COMMUNES = (
    "\n".join(
        [COMMUNES_HEADER, commune_line("58194", "Nevers"), commune_line("58086", "Cosne-Cours-sur-Loire")]
    )
    + "\n"
).encode()

# Each bad row, and the defect it carries.
BAD_COMMUNE_FIELDS = {
    "latitude_text": {"lat": "nord"},
    "latitude_out": {"lat": "123.4"},
    "longitude_missing": {"lon": ""},
    "population_negative": {"population": "-4"},
    "population_text": {"population": "beaucoup"},
    "unknown_departement": {"dept": "ZZ"},
    "code_not_in_departement": {"dept": "21"},
    "no_name": {"name": ""},
    "name_too_long": {"name": "N" * 500},
    "postal_code_letters": {"postal": "ABCDE"},
    "huge_field": {"name": HUGE[:50_000]},
}


@EXAMPLES
@given(data=garbage_or_spoiled(VALID_COMMUNES))
def test_communes_import_of_a_damaged_file_fails_cleanly_or_imports_whole_rows(data):
    with scratch():
        before = counts(*COMMUNE_MODELS)
        try:
            report = communes_import(path_or_file=io.BytesIO(data))
        except CommuneImportError as error:
            assert is_french(error.message), error.message
            assert counts(*COMMUNE_MODELS) == before
            return
        assert report.imported + len(report.skipped) == report.rows
        assert all(is_french(str(skipped)) for skipped in report.skipped)
        assert Commune.objects.count() == before["Commune"] + report.created


@EXAMPLES
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 999), st.sampled_from([None, *BAD_COMMUNE_FIELDS])),
        min_size=1,
        max_size=12,
        unique_by=lambda row: row[0],
    ),
    delimiter=st.sampled_from([",", ";"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
def test_communes_import_saves_exactly_the_good_rows(rows, delimiter, encoding):
    lines = [COMMUNES_HEADER]
    good, bad = {}, set()
    for number, defect in rows:
        code = f"58{number:03d}"
        values = {"name": f"Bourg-Saint-Éloi {number}", **BAD_COMMUNE_FIELDS.get(defect, {})}
        lines.append(commune_line(code, **values))
        if defect is None:
            good[code] = values["name"]
        else:
            bad.add(code)
    text = "\n".join(lines) + "\n"
    if delimiter == ";":
        text = text.replace(",", ";")
    with scratch():
        report = communes_import(path_or_file=io.BytesIO(text.encode(encoding)))
        assert report.created == len(good)
        assert {skipped.code for skipped in report.skipped} == bad
        assert dict(Commune.objects.values_list("insee_code", "name")) == good
        assert CommunePostalCode.objects.count() == len(good)


COMMUNE_COLUMNS = COMMUNES_HEADER.split(",")


@EXAMPLES
@given(
    columns=st.lists(st.sampled_from([*COMMUNE_COLUMNS, "inconnue", "", "NOM "]), max_size=11),
    cells=st.lists(st.lists(st.text(max_size=12), max_size=11), max_size=5),
    delimiter=st.sampled_from([",", ";", "\t"]),
)
def test_communes_import_with_any_columns_and_cells(columns, cells, delimiter):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(columns)
    writer.writerows(cells)
    with scratch():
        before = counts(*COMMUNE_MODELS)
        try:
            report = communes_import(path_or_file=io.BytesIO(buffer.getvalue().encode()))
        except CommuneImportError as error:
            assert is_french(error.message), error.message
            assert counts(*COMMUNE_MODELS) == before
            return
        assert report.imported + len(report.skipped) == report.rows
        assert Commune.objects.count() == before["Commune"] + report.created


@FEW_EXAMPLES
@given(
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=30),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    ),
    field=st.sampled_from(["code", "nom", "codeDepartement", "codesPostaux", "population", "centre"]),
)
def test_communes_json_with_values_of_any_type_fails_cleanly_or_skips_the_row(value, field):
    item = {
        "code": "58194",
        "nom": "Nevers",
        "codeDepartement": "58",
        "codesPostaux": ["58000"],
        "population": 33000,
        "centre": {"type": "Point", "coordinates": [3.16, 46.99]},
    }
    data = json.dumps([{**item, field: value}, {**item, "code": "58086", "nom": "Cosne"}]).encode()
    with scratch():
        before = counts(*COMMUNE_MODELS)
        try:
            report = communes_import(path_or_file=io.BytesIO(data))
        except CommuneImportError as error:
            assert is_french(error.message)
            assert counts(*COMMUNE_MODELS) == before
            return
        assert Commune.objects.filter(insee_code="58086").exists()  # the good row is always saved
        assert report.imported + len(report.skipped) == 2


def test_communes_command_turns_a_bad_file_into_a_french_command_error(tmp_path):
    from django.core.management import CommandError, call_command

    path = tmp_path / "communes.csv"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CommandError) as raised:
        call_command("import_communes", str(path), verbosity=0)
    assert is_french(str(raised.value)) and not Commune.objects.exists()


# --- Workshop imports: lshw JSON, nwipe JSON, devices CSV (refurbishers/imports.py) ---------------

WORKSHOP_MODELS = (
    ImportJob,
    Evidence,
    Audit,
    StorageMedium,
    Sanitisation,
    NoStorageDeclaration,
    Device,
    DeviceEvent,
)


def _lshw_dir():
    for parent in Path(settings.BASE_DIR).resolve().parents:
        candidate = parent / "shared" / "data" / "lshw"
        if candidate.is_dir():
            return candidate
    return None


LSHW_DIR = _lshw_dir()
CRAFTED_LSHW = json.dumps(
    {
        "id": "laptop",
        "class": "system",
        "vendor": "Hewlett-Packard",
        "product": "HP ProBook 450 G2 (J4S99EA#ABF)",
        "serial": "CND4286ZJ2",
        "configuration": {"chassis": "notebook"},
        "children": [
            {
                "id": "core",
                "class": "bus",
                "children": [
                    {
                        "id": "cpu",
                        "class": "processor",
                        "product": "Intel Core i5",
                        "configuration": {"cores": "2"},
                    },
                    {"id": "memory", "class": "memory", "description": "System Memory", "size": 8589934592},
                    {
                        "id": "disk",
                        "class": "disk",
                        "description": "ATA Disk",
                        "product": "ST500LT012-1DG14",
                        "vendor": "Seagate",
                        "serial": "S3P9A80F",
                        "businfo": "scsi@0:0.0.0",
                        "logicalname": "/dev/sda",
                        "size": 500107862016,
                    },
                ],
            }
        ],
    }
).encode()
VALID_LSHW = (LSHW_DIR / "hp_probook_450.json").read_bytes() if LSHW_DIR else CRAFTED_LSHW


def json_values():
    """Any JSON value, the keys drawn mostly from those the readers look for."""
    keys = st.sampled_from(
        [
            "class",
            "children",
            "id",
            "serial",
            "size",
            "businfo",
            "logicalname",
            "description",
            "configuration",
            "capabilities",
            "vendor",
            "product",
            "disabled",
            "serial_number",
            "type",
            "status",
            "method",
            "verify",
            "start_time",
            "end_time",
            "errors",
            "rounds_requested",
            "rounds_completed",
        ]
    ) | st.text(max_size=6)
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**70), max_value=2**70)
        | st.floats()
        | st.text(max_size=12)
        | st.sampled_from(["system", "disk", "storage", "processor", "memory", "nvme", "usb@1", "/dev/sda"])
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
        max_leaves=25,
    )


@st.composite
def lshw_like(draw):
    """A JSON document shaped like an lshw report, with values of any type in any place."""
    node = draw(
        st.dictionaries(st.sampled_from(["vendor", "product", "serial", "configuration"]), json_values())
    )
    node.update({"class": "system", "children": draw(st.lists(json_values() | st.just({}), max_size=4))})
    if draw(st.booleans()):
        node = [node]
    return json.dumps(node).encode()


@pytest.fixture
def workshop(refurbisher, refurbisher_org, django_capture_on_commit_callbacks):
    def run(kind, *files, device=None, **options):
        uploads = [imports.Upload(name, data) for name, data in files]
        with django_capture_on_commit_callbacks(execute=True):
            return imports.import_run(
                kind=kind,
                organisation=refurbisher_org,
                actor=refurbisher,
                uploads=uploads,
                device=device,
                options=options,
            )

    run.organisation = refurbisher_org
    return run


def check_workshop_import(run, kind, *files, device=None, **options):
    """Run an import: either it raises MalformedReport in French and saves nothing, or it finishes
    with every row either saved or refused with a French reason."""
    before = counts(*WORKSHOP_MODELS)
    try:
        job = run(kind, *files, device=device, **options)
    except parsers.MalformedReport as error:
        assert is_french(error.message), error.message
        assert counts(*WORKSHOP_MODELS) == before
        return None
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE, job.failure
    assert job.saved + job.rejected <= job.processed  # a report imported twice is noticed, not saved
    assert all(error["reason"] for error in job.errors)
    assert Evidence.objects.count() == before["Evidence"] + len(files)
    return job


@EXAMPLES
@given(data=garbage_or_spoiled(VALID_LSHW))
def test_lshw_import_of_a_damaged_report(workshop, data):
    with scratch():
        device = DeviceFactory(holder=workshop.organisation, serial_number="CND4286ZJ2")
        check_workshop_import(workshop, "lshw", ("lshw.json", data))
        check_workshop_import(workshop, "lshw", ("lshw.json", data), device=device)


@EXAMPLES
@given(data=lshw_like())
def test_lshw_import_of_a_report_with_values_of_any_type(workshop, data):
    with scratch():
        device = DeviceFactory(holder=workshop.organisation, serial_number="CND4286ZJ2")
        check_workshop_import(workshop, "lshw", ("lshw.json", data), device=device)


def nwipe_report(serial="DISK-NW-1", **wipe):
    start = 1767258000
    return {
        "report_schema": "org.nwipe.report.v1",
        "report_metadata": {"generated_at": start + 3600, "software": "nwipe", "version": "0.38"},
        "organization_details": {"business_name": "Atelier A", "op_tech_name": "Samia Technicienne"},
        "system": {"system_serial_number": "MACHINE-1"},
        "device": {
            "name": "/dev/sda",
            "model": "ST500LT012-1DG14",
            "serial_number": serial,
            "size_bytes": 500107862016,
            "real_size_bytes": 500107862016,
            "type": "ATA",
        },
        "wipe": {
            "status": "success",
            "method": "PRNG Stream",
            "prng": "XORoshiro-256",
            "verify": "Last Pass",
            "rounds_requested": 1,
            "rounds_completed": 1,
            "start_time": start,
            "end_time": start + 3600,
            "errors": {"pass": 0, "verify": 0, "round": 0, "fsyncdata": 0},
            **wipe,
        },
    }


VALID_NWIPE = json.dumps([nwipe_report("DISK-NW-1"), nwipe_report("DISK-NW-2")]).encode()
NWIPE_SECTIONS = {
    "report_metadata": ["software", "version"],
    "organization_details": ["op_tech_name"],
    "system": ["system_serial_number"],
    "device": ["name", "model", "serial_number", "size_bytes", "real_size_bytes", "type"],
    "wipe": ["status", "method", "verify", "start_time", "end_time", "errors", "rounds_completed"],
}


@st.composite
def nwipe_with_a_wrong_value(draw):
    report = nwipe_report("DISK-NW-1")
    section = draw(st.sampled_from(sorted(NWIPE_SECTIONS)))
    if draw(st.booleans()):
        report[section] = draw(json_values())
    else:
        report[section][draw(st.sampled_from(NWIPE_SECTIONS[section]))] = draw(json_values())
    return json.dumps(report).encode()


@EXAMPLES
@given(data=st.one_of(garbage_or_spoiled(VALID_NWIPE), nwipe_with_a_wrong_value()))
def test_nwipe_import_of_a_damaged_report(workshop, data):
    with scratch():
        device = DeviceFactory(holder=workshop.organisation, serial_number="MACHINE-1")
        check_workshop_import(workshop, "nwipe", ("nwipe.json", data))
        check_workshop_import(workshop, "nwipe", ("nwipe.json", data), device=device)


BAD_NWIPE_WIPES = {
    "failure": ({"status": "failure"}, True),  # recorded, as a failed erasure
    "unknown_status": ({"status": "maybe"}, False),
    "no_end": ({"end_time": None}, False),
    "end_before_start": ({"end_time": 1}, False),
    "unknown_method": ({"method": "Magnet"}, False),
    "no_verification": ({"verify": "Off"}, False),
}


@EXAMPLES
@given(
    defects=st.lists(st.sampled_from([None, *BAD_NWIPE_WIPES]), min_size=1, max_size=6),
    one_file=st.booleans(),
)
def test_nwipe_import_saves_exactly_the_good_erasures(workshop, defects, one_file):
    reports = []
    recorded = set()
    for number, defect in enumerate(defects):
        serial = f"DISK-{number}"
        wipe, kept = BAD_NWIPE_WIPES.get(defect, ({}, True))
        reports.append(nwipe_report(serial, **wipe))
        if kept:
            recorded.add(serial)
    files = (
        [("nwipe.json", json.dumps(reports).encode())]
        if one_file
        else [(f"nwipe-{n}.json", json.dumps(report).encode()) for n, report in enumerate(reports)]
    )
    with scratch():
        device = DeviceFactory(holder=workshop.organisation, serial_number="MACHINE-1")
        job = check_workshop_import(workshop, "nwipe", *files, device=device)
        assert job.saved == len(recorded) and job.rejected == len(defects) - len(recorded)
        assert set(Sanitisation.objects.values_list("medium__serial_number", flat=True)) == recorded


CSV_HEADER = ";".join(parsers.CSV_KEYS)


def csv_line(**values):
    return ";".join(values.get(key, "") for key in parsers.CSV_KEYS)


def complete_row(identifier, **extra):
    values = {
        "identifiant": identifier,
        "processeur": "Intel Core i5-8250U",
        "memoire_go": "8",
        "batterie_sante_pct": "87",
        "ecran_pouces": "15,6",
        "test_clavier": "ok",
        "test_wifi": "ko",
        "chargeur": "oui",
        "grade_esthetique": "B",
        "grade_fonctionnel": "fonctionnel",
        "stockage_type": "ssd",
        "stockage_capacite_go": "256",
        "stockage_numero_serie": f"DISK-{identifier}",
    }
    return csv_line(**{**values, **extra})


VALID_CSV = ("\r\n".join([CSV_HEADER, complete_row("SER-1"), complete_row("SER-2")]) + "\r\n").encode()

BAD_CSV_VALUES = {
    "memory_text": {"memoire_go": "beaucoup"},
    "memory_huge": {"memoire_go": "1e400"},
    "battery_over": {"batterie_sante_pct": "140"},
    "screen_nan": {"ecran_pouces": "NaN"},
    "test_value": {"test_clavier": "peut-être"},
    "charger": {"chargeur": "parfois"},
    "one_grade": {"grade_fonctionnel": ""},
    "storage_kind": {"stockage_type": "disquette"},
    "storage_without_serial": {"stockage_numero_serie": ""},
    "no_storage_with_serial": {"stockage_type": "aucun"},
    "unknown_device": {"identifiant": "NOT-IN-WORKSHOP"},
    "empty_identifier": {"identifiant": ""},
    "capacity_text": {"stockage_capacite_go": "grand"},
    "huge_notes": {"observations": "Z" * 100_000},  # a long text is a valid text
}
KEPT_CSV_DEFECTS = {"huge_notes"}


@EXAMPLES
@given(data=garbage_or_spoiled(VALID_CSV))
def test_csv_import_of_a_damaged_file(workshop, data):
    with scratch():
        DeviceFactory(holder=workshop.organisation, serial_number="SER-1")
        DeviceFactory(holder=workshop.organisation, serial_number="SER-2")
        check_workshop_import(workshop, "csv", ("diagnostics.csv", data))


@EXAMPLES
@given(
    columns=st.lists(st.sampled_from([*parsers.CSV_KEYS, "couleur", "", "Identifiant "]), max_size=8),
    cells=st.lists(st.lists(st.text(max_size=20), max_size=10), max_size=5),
    delimiter=st.sampled_from([";", ","]),
)
def test_csv_import_with_any_columns_and_cells(workshop, columns, cells, delimiter):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(columns)
    writer.writerows(cells)
    with scratch():
        DeviceFactory(holder=workshop.organisation, serial_number="SER-1")
        check_workshop_import(workshop, "csv", ("diagnostics.csv", buffer.getvalue().encode()))


@EXAMPLES
@given(
    defects=st.lists(st.sampled_from([None, *BAD_CSV_VALUES]), min_size=1, max_size=10),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
)
def test_csv_import_saves_exactly_the_good_rows(workshop, defects, encoding):
    lines, good = [CSV_HEADER], set()
    with scratch():
        for number, defect in enumerate(defects):
            identifier = f"SER-{number}"
            DeviceFactory(holder=workshop.organisation, serial_number=identifier)
            lines.append(complete_row(identifier, **BAD_CSV_VALUES.get(defect, {})))
            if defect is None or defect in KEPT_CSV_DEFECTS:
                good.add(identifier)
        job = check_workshop_import(workshop, "csv", ("diagnostics.csv", "\r\n".join(lines).encode(encoding)))
        assert (job.saved, job.rejected) == (len(good), len(defects) - len(good))
        assert set(Audit.objects.values_list("device__serial_number", flat=True)) == good
        assert set(StorageMedium.objects.values_list("device__serial_number", flat=True)) == good


# --- Médiation numérique CSV (relais/mednum.py) ---------------------------------------------------

MEDNUM_MODELS = (Organisation, Site, RelaisProfile)


def mednum_row(identifier, **values):
    return {
        "id": identifier,
        "pivot": "73282932000074",
        "nom": f"Espace numérique {identifier}",
        "commune": "Nevers",
        "code_postal": "58000",
        "code_insee": "58194",
        "adresse": "Place Carnot",
        "horaires": "Tu 09:00-12:00",
        "itinerance": "Fixe",
        "date_maj": "2025-03-01",
        "services": "Aide aux démarches administratives",
        **values,
    }


def mednum_csv(rows, fields=mednum.FIELDS):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: row.get(name, "") for name in fields})
    return buffer.getvalue()


VALID_MEDNUM = mednum_csv([mednum_row("lieu-1"), mednum_row("lieu-2")]).encode()
BAD_MEDNUM_VALUES = {
    "postal_code": {"code_postal": "5800"},
    "no_date": {"date_maj": ""},
    "bad_date": {"date_maj": "01/03/2025"},
    "service": {"services": "Vente de PC"},
    "hours": {"horaires": "mardi matin"},
    "latitude_alone": {"latitude": "46.9"},
    "latitude_text": {"latitude": "nord", "longitude": "est"},
    "unknown_commune": {"code_insee": "58999"},
    "pivot": {"pivot": "1"},
    "long_summary": {"presentation_resume": "R" * 300},
    "long_name": {"nom": "N" * 400},
    "long_parent": {
        "pivot": "W581234567",
        "structure_parente": "P" * 400,
    },  # an RNA number: a new organisation
    "long_address": {"adresse": "A" * 400},
}
KEPT_MEDNUM_DEFECTS = set()


def check_mednum_import(data):
    before = counts(*MEDNUM_MODELS)
    report = mednum.import_csv(io.BytesIO(data))
    assert all(is_french(message) for _line, _field, message in report.errors), report.errors
    if report.created == report.updated == 0:
        assert counts(*MEDNUM_MODELS) == before
    assert RelaisProfile.objects.count() == before["RelaisProfile"] + report.created
    return report


@EXAMPLES
@given(data=garbage_or_spoiled(VALID_MEDNUM))
def test_mednum_import_of_a_damaged_file(data):
    with scratch():
        CommuneFactory(insee_code="58194", name="Nevers")
        check_mednum_import(data)


@EXAMPLES
@given(
    fields=st.lists(st.sampled_from([*mednum.FIELDS, "inconnue", ""]), max_size=12),
    cells=st.lists(st.lists(st.text(max_size=20), max_size=14), max_size=4),
)
def test_mednum_import_with_any_columns_and_cells(fields, cells):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(fields)
    writer.writerows(cells)
    with scratch():
        CommuneFactory(insee_code="58194", name="Nevers")
        check_mednum_import(buffer.getvalue().encode())


@EXAMPLES
@given(defects=st.lists(st.sampled_from([None, *BAD_MEDNUM_VALUES]), min_size=1, max_size=8))
def test_mednum_import_saves_exactly_the_good_rows(defects):
    rows, good = [], set()
    for number, defect in enumerate(defects):
        rows.append(mednum_row(f"lieu-{number}", **BAD_MEDNUM_VALUES.get(defect, {})))
        if defect is None or defect in KEPT_MEDNUM_DEFECTS:
            good.add(f"lieu-{number}")
    with scratch():
        CommuneFactory(insee_code="58194", name="Nevers")
        report = check_mednum_import(mednum_csv(rows).encode())
        assert report.created == len(good)
        assert {line for line, _field, _message in report.errors} == {
            number + 2
            for number, defect in enumerate(defects)
            if defect and defect not in KEPT_MEDNUM_DEFECTS
        }
        assert set(RelaisProfile.objects.values_list("external_id", flat=True)) == good


def test_mednum_file_with_an_unreadable_row_saves_none_of_its_rows():
    CommuneFactory(insee_code="58194", name="Nevers")
    data = mednum_csv([mednum_row("lieu-1"), mednum_row("lieu-2", presentation_detail=HUGE)]).encode()
    report = check_mednum_import(data)
    assert report.created == 0 and not RelaisProfile.objects.exists()
    assert [line for line, _field, _message in report.errors] == [3]
