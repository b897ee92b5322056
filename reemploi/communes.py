"""Import of France's communes, from either of the two formats the platform meets:

- the CSV compiled from INSEE's COG and La Poste's postal codes (columns code_insee, nom,
  code_departement, code_region, codes_postaux separated by spaces, latitude, longitude, population,
  superficie_km2), with `,` or `;` as delimiter, with or without a UTF-8 BOM;
- the JSON that geo.api.gouv.fr serves for /communes (an array of objects with code, nom,
  codeDepartement, codesPostaux, population, centre as a GeoJSON point), or its GeoJSON variant.

The format is detected from the content. `communes_import()` is idempotent: a commune is matched on
its INSEE code, created, updated or left alone; its postal codes are replaced only when they changed.
Communes absent from the file are kept (a file may cover one département; sites point at communes).
A row that cannot be imported is skipped and reported; a file that cannot be read raises
CommuneImportError and saves nothing. Everything runs in one transaction, with bulk queries only.
"""

import csv
import io
import json
import math
import re
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connections, router, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Commune, CommunePostalCode, Departement

CSV_REQUIRED_COLUMNS = (
    "code_insee",
    "nom",
    "code_departement",
    "codes_postaux",
    "latitude",
    "longitude",
    "population",
)
JSON_REQUIRED_FIELDS = ("code", "nom", "codeDepartement")
BATCH_SIZE = 1000  # Django lowers it further where the database limits query parameters (SQLite)
DELETE_CHUNK = 500

INSEE_CODE_RE = re.compile(r"[0-9]{5}|2[AB][0-9]{3}")
POSTAL_CODE_RE = re.compile(r"[0-9]{5}")
FOUR_DIGITS_RE = re.compile(r"[0-9]{4}")
POSTAL_CODES_SEPARATOR_RE = re.compile(r"[\s,;|]+")
DIGITS_RE = re.compile(r"[0-9]+")
SPACES_RE = re.compile(r"[\s\u00a0\u202f]+")
POPULATION_MAX = 2_147_483_647  # PositiveIntegerField's upper bound on PostgreSQL
NAME_MAX_LENGTH = Commune._meta.get_field("name").max_length


class CommuneImportError(Exception):
    """The file cannot be imported at all. The message is meant for the user, in French."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SkippedRow:
    """A row left out of the import. `line` is the line in a CSV file, the element's rank in JSON."""

    line: int
    code: str
    reason: str
    file_format: str = "csv"

    def __str__(self):
        if self.file_format == "json":
            where = _("élément %(number)s") % {"number": self.line}
        else:
            where = _("ligne %(number)s") % {"number": self.line}
        if self.code:
            return _("%(where)s (code %(code)s) : %(reason)s") % {
                "where": where,
                "code": self.code,
                "reason": self.reason,
            }
        return _("%(where)s : %(reason)s") % {"where": where, "reason": self.reason}


@dataclass
class ImportReport:
    file_format: str = ""
    rows: int = 0  # data rows (CSV) or elements (JSON) read
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def imported(self):
        return self.created + self.updated + self.unchanged

    def summary(self):
        """E.g. « 34 928 communes importées (34 928 créées, 0 mises à jour, 0 inchangées),
        3 lignes ignorées en 4,2 s »."""
        return _("%(imported)s (%(created)s, %(updated)s, %(unchanged)s), %(skipped)s en %(seconds)s s") % {
            "imported": ngettext("%(count)s commune importée", "%(count)s communes importées", self.imported)
            % {"count": format_count(self.imported)},
            "created": ngettext("%(count)s créée", "%(count)s créées", self.created)
            % {"count": format_count(self.created)},
            "updated": ngettext("%(count)s mise à jour", "%(count)s mises à jour", self.updated)
            % {"count": format_count(self.updated)},
            "unchanged": ngettext("%(count)s inchangée", "%(count)s inchangées", self.unchanged)
            % {"count": format_count(self.unchanged)},
            "skipped": ngettext("%(count)s ligne ignorée", "%(count)s lignes ignorées", len(self.skipped))
            % {"count": format_count(len(self.skipped))},
            "seconds": f"{self.seconds:.1f}".replace(".", ","),
        }


def format_count(number):
    """French digit grouping: 34928 → « 34 928 »."""
    return f"{number:,}".replace(",", " ")


def communes_import(*, path_or_file, stdout=None) -> ImportReport:
    """Import the communes of a CSV or geo.api.gouv.fr JSON file (a path, or an open file in text or
    binary mode). Raises CommuneImportError, with nothing saved, when the file cannot be read."""
    started = time.perf_counter()
    text = _read_text(path_or_file)
    if text.lstrip()[:1] in ("[", "{"):
        file_format, raw_rows = "json", _json_rows(text)
    else:
        file_format, raw_rows = "csv", _csv_rows(text)
    report = ImportReport(file_format=file_format, rows=len(raw_rows))

    with transaction.atomic():
        departement_ids = dict(Departement.objects.values_list("code", "id"))
        rows = _valid_rows(raw_rows, departement_ids, file_format, report.skipped)
        if stdout is not None:
            stdout.write(
                _("Fichier %(format)s : %(rows)s, %(valid)s valides.\n")
                % {
                    "format": file_format.upper(),
                    "rows": ngettext("%(count)s ligne lue", "%(count)s lignes lues", report.rows)
                    % {"count": format_count(report.rows)},
                    "valid": format_count(len(rows)),
                }
            )
        _save(rows, departement_ids, report)

    report.seconds = time.perf_counter() - started
    return report


# --- Reading -------------------------------------------------------------------------------------


def _read_text(path_or_file):
    if isinstance(path_or_file, (str, Path)):
        path = Path(path_or_file)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise CommuneImportError(_("Fichier introuvable : %(path)s") % {"path": path}) from exc
        except OSError as exc:
            raise CommuneImportError(
                _("Impossible de lire le fichier %(path)s : %(error)s")
                % {"path": path, "error": exc.strerror}
            ) from exc
    else:
        data = path_or_file.read()

    if isinstance(data, bytes):
        if data.startswith(b"PK\x03\x04"):
            raise CommuneImportError(
                _("Ce fichier est une archive ou un classeur (XLSX, ODS) : enregistrez-le au format CSV.")
            )
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:  # a CSV saved by a French spreadsheet without choosing UTF-8
                text = data.decode("cp1252")
            except UnicodeDecodeError as exc:
                raise CommuneImportError(
                    _("Encodage du fichier non reconnu : un fichier texte en UTF-8 est attendu.")
                ) from exc
    else:
        text = data.removeprefix("\ufeff")
    if not text.strip():
        raise CommuneImportError(_("Le fichier est vide."))
    return text


@dataclass
class _RawRow:
    line: int
    code: object
    name: object
    departement: object
    postal_codes: object
    population: object
    latitude: object
    longitude: object
    error: str = ""  # a defect found while reading the row


def _csv_rows(text):
    header_line = text.lstrip().splitlines()[0]
    delimiter = max(",;\t", key=header_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
        while not any(cell.strip() for cell in header):
            header = next(reader)
        columns = {name.strip().lower(): index for index, name in enumerate(header)}
        missing = [name for name in CSV_REQUIRED_COLUMNS if name not in columns]
        if missing:
            raise CommuneImportError(
                _(
                    "Ce fichier n'est ni un CSV de communes ni un JSON de geo.api.gouv.fr : "
                    "colonnes manquantes dans l'en-tête : %(missing)s. Colonnes attendues : %(expected)s "
                    "(séparateur virgule ou point-virgule)."
                )
                % {"missing": ", ".join(missing), "expected": ", ".join(CSV_REQUIRED_COLUMNS)}
            )
        width = len(header)
        rows = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) > width and not any(cell.strip() for cell in cells[width:]):
                cells = cells[:width]  # trailing empty cells left by a spreadsheet
            values = {
                name: cells[columns[name]] if columns[name] < len(cells) else ""
                for name in CSV_REQUIRED_COLUMNS
            }
            row = _RawRow(
                line=reader.line_num,
                code=values["code_insee"],
                name=values["nom"],
                departement=values["code_departement"],
                postal_codes=values["codes_postaux"],
                population=values["population"],
                latitude=values["latitude"],
                longitude=values["longitude"],
            )
            if len(cells) != width:
                row.error = _("nombre de colonnes incorrect (%(found)s au lieu de %(expected)s)") % {
                    "found": len(cells),
                    "expected": width,
                }
            rows.append(row)
    except csv.Error as exc:
        raise CommuneImportError(
            _("Fichier CSV illisible à la ligne %(line)s : %(error)s")
            % {"line": reader.line_num, "error": exc}
        ) from exc
    except StopIteration as exc:
        raise CommuneImportError(_("Le fichier est vide.")) from exc
    if not rows:
        raise CommuneImportError(_("Le fichier ne contient aucune commune."))
    return rows


def _json_rows(text):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommuneImportError(
            _("JSON invalide à la ligne %(line)s, colonne %(column)s (%(error)s).")
            % {"line": exc.lineno, "column": exc.colno, "error": exc.msg}
        ) from exc

    if isinstance(data, dict) and data.get("type") == "FeatureCollection":  # geo.api.gouv.fr's format=geojson
        features = data.get("features")
        if not isinstance(features, list) or not all(isinstance(item, dict) for item in features):
            raise CommuneImportError(_("Structure GeoJSON inattendue : une liste « features » est attendue."))
        data = [_feature_as_commune(feature) for feature in features]
    if not isinstance(data, list):
        raise CommuneImportError(
            _("Structure JSON inattendue : un tableau de communes est attendu (format de geo.api.gouv.fr).")
        )
    if not data:
        raise CommuneImportError(_("Le fichier ne contient aucune commune."))
    for rank, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            raise CommuneImportError(
                _("Structure JSON inattendue : l'élément %(rank)s n'est pas un objet commune.")
                % {"rank": rank}
            )
    if not any(all(name in item for name in JSON_REQUIRED_FIELDS) for item in data):
        raise CommuneImportError(
            _(
                "Ce JSON n'est pas une liste de communes de geo.api.gouv.fr : aucun élément n'a les champs "
                "%(fields)s."
            )
            % {"fields": ", ".join(JSON_REQUIRED_FIELDS)}
        )

    rows = []
    for rank, item in enumerate(data, start=1):
        latitude = longitude = None
        error = ""
        centre = item.get("centre")
        if centre is not None:
            coordinates = centre.get("coordinates") if isinstance(centre, dict) else None
            if (
                isinstance(coordinates, list)
                and len(coordinates) >= 2
                and centre.get("type", "Point") == "Point"
            ):
                longitude, latitude = coordinates[0], coordinates[1]
            else:
                error = _("centre invalide (un point GeoJSON [longitude, latitude] est attendu)")
        rows.append(
            _RawRow(
                line=rank,
                code=item.get("code"),
                name=item.get("nom"),
                departement=item.get("codeDepartement"),
                postal_codes=item.get("codesPostaux"),
                population=item.get("population"),
                latitude=latitude,
                longitude=longitude,
                error=error,
            )
        )
    return rows


def _feature_as_commune(feature):
    properties = feature.get("properties") or {}
    if not isinstance(properties, dict):
        return None
    return {**properties, "centre": feature.get("geometry")}


# --- Checking ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    code: str
    name: str
    departement_id: int
    postal_codes: frozenset
    population: int
    latitude: float
    longitude: float


class _RowError(Exception):
    pass


def _valid_rows(raw_rows, departement_ids, file_format, skipped):
    rows = []
    first_seen = {}
    for raw in raw_rows:
        code = _insee_code(raw.code)
        try:
            if raw.error:
                raise _RowError(raw.error)
            row = _check(raw, code, departement_ids)
            if code in first_seen:
                raise _RowError(
                    _("code INSEE en double (déjà présent plus haut, %(where)s %(line)s)")
                    % {
                        "where": _("élément") if file_format == "json" else _("ligne"),
                        "line": first_seen[code],
                    }
                )
        except _RowError as exc:
            skipped.append(SkippedRow(raw.line, code, str(exc), file_format))
            continue
        first_seen[code] = raw.line
        rows.append(row)
    return rows


def _check(raw, code, departement_ids):
    if not code:
        raise _RowError(_("code INSEE absent"))
    if not INSEE_CODE_RE.fullmatch(code):
        raise _RowError(_("code INSEE invalide : « %(code)s »") % {"code": code})

    name = _text(raw.name)
    if not name:
        raise _RowError(_("nom absent"))
    if len(name) > NAME_MAX_LENGTH:
        raise _RowError(
            _("nom trop long (%(length)s caractères, %(max)s au plus)")
            % {"length": len(name), "max": NAME_MAX_LENGTH}
        )

    departement = _text(raw.departement).upper()
    if DIGITS_RE.fullmatch(departement) and len(departement) == 1:
        departement = "0" + departement  # leading zero lost by a spreadsheet
    if not departement:
        raise _RowError(_("département absent"))
    if departement not in departement_ids:
        raise _RowError(_("département inconnu : « %(code)s »") % {"code": departement})
    if not code.startswith(departement):
        raise _RowError(
            _("code INSEE incohérent avec le département %(departement)s") % {"departement": departement}
        )

    if _is_blank(raw.latitude) or _is_blank(raw.longitude):
        raise _RowError(_("coordonnées absentes"))
    latitude = _coordinate(raw.latitude, "latitude", 90)
    longitude = _coordinate(raw.longitude, "longitude", 180)

    return _Row(
        code=code,
        name=name,
        departement_id=departement_ids[departement],
        postal_codes=_postal_codes(raw.postal_codes),
        population=_population(raw.population),
        latitude=latitude,
        longitude=longitude,
    )


def _text(value):
    if value is None or isinstance(value, (bool, dict, list)):
        return ""
    return str(value).strip()


def _is_blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _insee_code(value):
    code = _text(value).upper()
    if FOUR_DIGITS_RE.fullmatch(code):
        code = "0" + code  # leading zero lost by a spreadsheet
    return code


def _coordinate(value, which, limit):
    if isinstance(value, bool):
        number = math.nan
    elif isinstance(value, (int, float)):
        number = float(value)
    else:
        try:
            number = float(str(value).strip().replace(",", "."))
        except ValueError:
            number = math.nan
    if math.isfinite(number) and abs(number) <= limit:
        return number
    label = _("latitude") if which == "latitude" else _("longitude")
    if not math.isfinite(number):
        raise _RowError(_("%(label)s invalide : « %(value)s »") % {"label": label, "value": _text(value)})
    raise _RowError(
        _("%(label)s hors limites : %(value)s (entre -%(limit)s et %(limit)s)")
        % {"label": label, "value": _text(value), "limit": limit}
    )


def _population(value):
    if _is_blank(value):
        return 0  # geo.api.gouv.fr leaves it out for a few communes
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, float):
        number = int(value) if value.is_integer() else None
    else:
        text = SPACES_RE.sub("", str(value))
        number = int(text) if DIGITS_RE.fullmatch(text) else None
    if number is None or not 0 <= number <= POPULATION_MAX:
        raise _RowError(_("population invalide : « %(value)s »") % {"value": _text(value)})
    return number


def _postal_codes(value):
    if _is_blank(value):
        return frozenset()
    if isinstance(value, list):
        items = [_text(item) for item in value]
    else:
        items = POSTAL_CODES_SEPARATOR_RE.split(_text(value))
    codes = set()
    for item in filter(None, items):
        code = "0" + item if FOUR_DIGITS_RE.fullmatch(item) else item
        if not POSTAL_CODE_RE.fullmatch(code):
            raise _RowError(_("code postal invalide : « %(code)s »") % {"code": item})
        codes.add(code)
    return frozenset(codes)


# --- Saving --------------------------------------------------------------------------------------

# Commune attribute → its name in bulk_update().
_COMPARED_FIELDS = {
    "name": "name",
    "departement_id": "departement",
    "population": "population",
    "latitude": "latitude",
    "longitude": "longitude",
}


def _save(rows, departement_ids, report):
    existing = {
        commune.insee_code: commune
        for commune in Commune.objects.order_by().only("insee_code", *_COMPARED_FIELDS)
    }
    existing_codes = defaultdict(set)
    for commune_id, code in (
        CommunePostalCode.objects.order_by().values_list("commune_id", "code").iterator(chunk_size=5000)
    ):
        existing_codes[commune_id].add(code)

    to_create, to_update, changed_fields = [], [], set()
    new_postal_codes = []  # (commune, its postal codes) for new communes and changed sets
    for row in rows:
        commune = existing.get(row.code)
        if commune is None:
            commune = Commune(
                insee_code=row.code, **{attname: getattr(row, attname) for attname in _COMPARED_FIELDS}
            )
            to_create.append(commune)
            new_postal_codes.append((commune, row.postal_codes))
            report.created += 1
            continue
        changed = False
        for attname, field_name in _COMPARED_FIELDS.items():
            if getattr(commune, attname) != getattr(row, attname):
                setattr(commune, attname, getattr(row, attname))
                changed_fields.add(field_name)
                changed = True
        if changed:
            to_update.append(commune)
        if existing_codes.get(commune.pk, set()) != row.postal_codes:
            new_postal_codes.append((commune, row.postal_codes))
            changed = True
        if changed:
            report.updated += 1
        else:
            report.unchanged += 1

    if to_create:
        Commune.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
        if any(commune.pk is None for commune in to_create):  # a database that does not return ids
            ids = dict(Commune.objects.order_by().values_list("insee_code", "id"))
            for commune in to_create:
                commune.pk = ids[commune.insee_code]
    if to_update:
        _bulk_update(to_update, sorted(changed_fields))

    replaced = [commune.pk for commune, _codes in new_postal_codes if commune.pk in existing_codes]
    for start in range(0, len(replaced), DELETE_CHUNK):
        CommunePostalCode.objects.filter(commune_id__in=replaced[start : start + DELETE_CHUNK]).delete()
    CommunePostalCode.objects.bulk_create(
        [
            CommunePostalCode(commune_id=commune.pk, code=code)
            for commune, codes in new_postal_codes
            for code in sorted(codes)
        ],
        batch_size=BATCH_SIZE,
    )


def _bulk_update(communes, field_names):
    """One parameterised UPDATE run with executemany(). QuerySet.bulk_update() builds a CASE WHEN per
    row and field: 12 to 20 s, mostly in Python, when a new census changes every commune's population.
    executemany() takes under a second on SQLite (a C loop) and 2 to 3 s on PostgreSQL (psycopg
    pipelines it)."""
    connection = connections[router.db_for_write(Commune)]
    quote = connection.ops.quote_name
    fields = [Commune._meta.get_field(name) for name in field_names]
    pk = Commune._meta.pk
    sql = "UPDATE {table} SET {assignments} WHERE {pk} = %s".format(
        table=quote(Commune._meta.db_table),
        assignments=", ".join(f"{quote(field.column)} = %s" for field in fields),
        pk=quote(pk.column),
    )
    params = [
        [field.get_db_prep_save(getattr(commune, field.attname), connection) for field in fields]
        + [pk.get_db_prep_save(commune.pk, connection)]
        for commune in communes
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(params), BATCH_SIZE):
            cursor.executemany(sql, params[start : start + BATCH_SIZE])
