import csv
import io
import json
import re
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db.models import Sum

from reemploi.communes import CommuneImportError, communes_import
from reemploi.models import Commune, CommunePostalCode
from tests.reemploi.factories import CommuneFactory

SHARED_CSV = Path(settings.BASE_DIR).parent / "shared" / "data" / "communes-france-2024.csv"
FIXTURE_58 = Path(apps.get_app_config("reemploi").path) / "data" / "communes-58.json"
HEADER = (
    "code_insee,nom,code_departement,code_region,codes_postaux,latitude,longitude,population,superficie_km2"
)

NATIONAL_LOCATED = 34_928
NATIONAL_SKIPPED = [
    "ligne 23101 (code 60694) : coordonnées absentes",
    "ligne 32698 (code 85165) : coordonnées absentes",
    "ligne 32737 (code 85212) : coordonnées absentes",
]
NIEVRE_COMMUNES = 309
NIEVRE_POPULATION = 202_417

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared_csv():
    if not SHARED_CSV.exists():
        pytest.skip(f"shared reference data not found at {SHARED_CSV} (../shared/data next to the project)")
    return SHARED_CSV


def write(tmp_path, text, name="communes.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def csv_file(tmp_path, *lines, name="communes.csv"):
    return write(tmp_path, "\n".join([HEADER, *lines]) + "\n", name=name)


def nievre_population():
    return Commune.objects.filter(departement__code="58").aggregate(total=Sum("population"))["total"]


def postal_codes(insee_code):
    return sorted(Commune.objects.get(insee_code=insee_code).postal_code_list)


# --- The national file (run on SQLite and on PostgreSQL) ----------------------------------------


def test_national_file_imports_every_located_commune(shared_csv):
    report = communes_import(path_or_file=shared_csv)

    assert (report.file_format, report.rows) == ("csv", 34_931)
    assert (report.created, report.updated, report.unchanged) == (NATIONAL_LOCATED, 0, 0)
    assert [str(row) for row in report.skipped] == NATIONAL_SKIPPED
    assert Commune.objects.count() == NATIONAL_LOCATED
    assert not Commune.objects.filter(insee_code__in=["60694", "85165", "85212"]).exists()

    assert Commune.objects.filter(departement__code="58").count() == NIEVRE_COMMUNES
    assert nievre_population() == NIEVRE_POPULATION
    nevers = Commune.objects.get(insee_code="58194")
    assert (nevers.name, nevers.departement.code) == ("Nevers", "58")
    assert Commune.objects.with_postal_code("58000").filter(pk=nevers.pk).exists()
    assert Commune.objects.get(insee_code="2A004").departement.code == "2A"
    assert Commune.objects.get(insee_code="97411").departement.code == "974"

    with shared_csv.open(encoding="utf-8", newline="") as handle:
        expected_codes = sum(
            len(set(row["codes_postaux"].split())) for row in csv.DictReader(handle) if row["latitude"]
        )
    assert CommunePostalCode.objects.count() == expected_codes


def test_national_file_second_run_changes_nothing(shared_csv, django_assert_max_num_queries):
    communes_import(path_or_file=shared_csv)
    commune_ids = set(Commune.objects.values_list("id", flat=True))
    postal_code_ids = set(CommunePostalCode.objects.values_list("id", flat=True))

    out = io.StringIO()
    with django_assert_max_num_queries(10):  # no per-row queries
        call_command("import_communes", str(shared_csv), stdout=out)

    assert re.search(
        r"34 928 communes importées \(0 créées, 0 mises à jour, 34 928 inchangées\), "
        r"3 lignes ignorées en \d+,\d s",
        out.getvalue(),
    )
    for line in NATIONAL_SKIPPED:
        assert line in out.getvalue()
    assert set(Commune.objects.values_list("id", flat=True)) == commune_ids
    assert set(CommunePostalCode.objects.values_list("id", flat=True)) == postal_code_ids


# --- geo.api.gouv.fr's JSON ----------------------------------------------------------------------


def test_nievre_fixture_in_geo_api_format():
    report = communes_import(path_or_file=FIXTURE_58)

    assert report.file_format == "json"
    assert (report.created, report.updated, report.unchanged, report.skipped) == (NIEVRE_COMMUNES, 0, 0, [])
    assert nievre_population() == NIEVRE_POPULATION
    nevers = Commune.objects.get(insee_code="58194")
    assert (nevers.name, nevers.population > 0) == ("Nevers", True)
    assert (nevers.latitude, nevers.longitude) == pytest.approx((46.99, 3.16), abs=0.02)
    assert postal_codes("58194") == ["58000"]


def test_nievre_fixture_is_the_national_file_converted(shared_csv, tmp_path):
    communes_import(path_or_file=FIXTURE_58)
    with shared_csv.open(encoding="utf-8", newline="") as handle:
        nievre_lines = [line.rstrip("\r\n") for line in handle if line.split(",")[2] == "58"]

    report = communes_import(path_or_file=csv_file(tmp_path, *nievre_lines))

    assert (report.created, report.updated, report.unchanged, report.skipped) == (0, 0, NIEVRE_COMMUNES, [])


GEO_API_SAMPLE = [
    {
        "nom": "Nevers",
        "code": "58194",
        "codeDepartement": "58",
        "siren": "215801948",
        "codeEpci": "245804497",
        "codeRegion": "27",
        "codesPostaux": ["58000"],
        "population": 32990,
        "centre": {"type": "Point", "coordinates": [3.1573, 46.9881]},
    },
    {  # geo.api.gouv.fr leaves out the population of a few communes
        "nom": "Château-Chinon (Ville)",
        "code": "58062",
        "codeDepartement": "58",
        "codeRegion": "27",
        "codesPostaux": ["58120"],
        "centre": {"type": "Point", "coordinates": [3.9331, 47.0638]},
    },
    {
        "nom": "Sans Centre",
        "code": "58999",
        "codeDepartement": "58",
        "codesPostaux": ["58000"],
        "population": 3,
    },
    {
        "nom": "Saint-Pierre",
        "code": "97502",
        "codeDepartement": "975",
        "codesPostaux": ["97500"],
        "population": 5412,
        "centre": {"type": "Point", "coordinates": [-56.1773, 46.7811]},
    },
    {"nom": "Centre Cassé", "code": "58998", "codeDepartement": "58", "centre": {"type": "Point"}},
]


def test_geo_api_json_sample(tmp_path):
    path = write(tmp_path, json.dumps(GEO_API_SAMPLE), name="communes.json")  # served on one line

    report = communes_import(path_or_file=path)

    assert (report.file_format, report.created) == ("json", 2)
    assert [str(row) for row in report.skipped] == [
        "élément 3 (code 58999) : coordonnées absentes",
        "élément 4 (code 97502) : département inconnu : « 975 »",
        "élément 5 (code 58998) : centre invalide (un point GeoJSON [longitude, latitude] est attendu)",
    ]
    nevers = Commune.objects.get(insee_code="58194")
    assert (nevers.population, nevers.latitude, nevers.longitude) == (32990, 46.9881, 3.1573)
    chateau_chinon = Commune.objects.get(insee_code="58062")
    assert (chateau_chinon.name, chateau_chinon.population) == ("Château-Chinon (Ville)", 0)
    assert postal_codes("58062") == ["58120"]


def test_geo_api_geojson_and_open_files():
    features = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": item["centre"],
                "properties": {k: v for k, v in item.items() if k != "centre"},
            }
            for item in GEO_API_SAMPLE[:2]
        ],
    }
    report = communes_import(path_or_file=io.BytesIO(json.dumps(features).encode()))
    assert (report.created, report.skipped) == (2, [])

    report = communes_import(path_or_file=io.StringIO(json.dumps(GEO_API_SAMPLE[:2])))
    assert (report.created, report.unchanged) == (0, 2)


# --- CSV variants --------------------------------------------------------------------------------


def test_csv_from_a_spreadsheet_semicolons_bom_crlf_decimal_comma(tmp_path):
    text = (
        "\r\n".join(
            [
                HEADER.replace(",", ";"),
                "58194;Nevers;58;27;58000;46,9881;3,1573;32 990;17,3",
                "58062;Château-Chinon (Ville);58;27;58120;47,0638;3,9331;1 998;4,6",
            ]
        )
        + "\r\n"
    )
    report = communes_import(path_or_file=write(tmp_path, text, encoding="utf-8-sig"))

    assert (report.created, report.skipped) == (2, [])
    nevers = Commune.objects.get(insee_code="58194")
    assert (nevers.name, nevers.population, nevers.latitude, nevers.longitude) == (
        "Nevers",
        32990,
        46.9881,
        3.1573,
    )

    report = communes_import(path_or_file=write(tmp_path, text, name="windows.csv", encoding="cp1252"))
    assert (report.unchanged, report.skipped) == (2, [])
    assert Commune.objects.filter(name="Château-Chinon (Ville)").count() == 1


def test_csv_leading_zeros_dropped_by_a_spreadsheet(tmp_path):
    path = csv_file(tmp_path, "1001,L'Abergement-Clémenciat,1,84,1400,46.1517,4.9306,832,15.95")

    report = communes_import(path_or_file=path)

    assert (report.created, report.skipped) == (1, [])
    commune = Commune.objects.get(insee_code="01001")
    assert commune.departement.code == "01"
    assert postal_codes("01001") == ["01400"]


# --- Idempotence ---------------------------------------------------------------------------------


def test_second_run_updates_changed_rows_and_replaces_changed_postal_codes_only(tmp_path):
    kept = CommuneFactory(insee_code="58300", name="Absente du fichier")
    communes_import(
        path_or_file=csv_file(
            tmp_path,
            "58194,Nevers,58,27,58000,46.9881,3.1573,32990,17.3",
            "58062,Château-Chinon (Ville),58,27,58120,47.0638,3.9331,1998,4.6",
            "58086,Cosne-Cours-sur-Loire,58,27,58200,47.3925,2.9356,9960,65.1",
        )
    )
    nevers_codes = set(
        CommunePostalCode.objects.filter(commune__insee_code="58194").values_list("id", flat=True)
    )
    cosne_codes = set(
        CommunePostalCode.objects.filter(commune__insee_code="58086").values_list("id", flat=True)
    )

    report = communes_import(
        path_or_file=csv_file(
            tmp_path,
            "58194,Nevers,58,27,58000,46.9881,3.1573,33000,17.3",  # new census
            "58062,Château-Chinon (Ville),58,27,58120 58121,47.0638,3.9331,1998,4.6",  # one more postal code
            "58086,Cosne-Cours-sur-Loire,58,27,58200,47.3925,2.9356,9960,65.1",
            "58303,Varennes-Vauzelles,58,27,58640,47.0172,3.1431,9330,29.5",
            name="second.csv",
        )
    )

    assert (report.created, report.updated, report.unchanged, report.skipped) == (1, 2, 1, [])
    assert Commune.objects.get(insee_code="58194").population == 33000
    assert postal_codes("58062") == ["58120", "58121"]
    assert postal_codes("58303") == ["58640"]
    # Untouched postal code sets keep their rows.
    assert (
        set(CommunePostalCode.objects.filter(commune__insee_code="58194").values_list("id", flat=True))
        == nevers_codes
    )
    assert (
        set(CommunePostalCode.objects.filter(commune__insee_code="58086").values_list("id", flat=True))
        == cosne_codes
    )
    # A commune the file does not mention is kept.
    assert Commune.objects.filter(pk=kept.pk).exists()
    assert Commune.objects.count() == 5


def test_update_of_every_field(tmp_path):
    communes_import(path_or_file=csv_file(tmp_path, "58194,Nevers,58,27,58000,46.9881,3.1573,32990,17.3"))

    report = communes_import(
        path_or_file=csv_file(
            tmp_path,
            "58194,Nevers-sur-Loire,58,27,58000,46.5,3.5,1,17.3",
            name="second.csv",
        )
    )

    assert (report.created, report.updated) == (0, 1)
    nevers = Commune.objects.get(insee_code="58194")
    assert (nevers.name, nevers.population, nevers.latitude, nevers.longitude) == (
        "Nevers-sur-Loire",
        1,
        46.5,
        3.5,
    )


# --- Bad rows and bad files ----------------------------------------------------------------------


def test_bad_rows_are_skipped_and_the_others_saved(tmp_path):
    path = csv_file(
        tmp_path,
        "58194,Nevers,58,27,58000,46.9881,3.1573,32990,17.3",  # line 2
        "58062,Château-Chinon (Ville),58,27,58120,,,1998,4.6",
        "97501,Miquelon-Langlade,975,975,97500,47.0975,-56.3814,580,215",
        "5X001,Nulle Part,58,27,58000,47,3,10,1",
        "58086,Cosne-Cours-sur-Loire,58,27,58200,47.3925,2.9356,beaucoup,65.1",
        "58303,Varennes-Vauzelles,58,27,58640,97.0172,3.1431,9330,29.5",  # line 7
        "58001,Achun,58,27,58110,47.13167,abc,159,1",
        "58194,Nevers,58,27,58000,46.9881,3.1573,32990,17.3",
        "58002,Alligny-Cosne,58,27,5820,47.44631,3.07255,917,1",  # line 10
        "58003,,58,27,58110,47.1,3.6,1,1",
        "21231,Dijon,58,27,21000,47.3,5.0,1,1",
        "58004,Trop,De,Colonnes,58110,47.1,3.6,1,1,1",
        "58005,Arleuf,58,27,58430 5843X,47.05,4.03,700,1",  # line 14
        "58006,Armes,58,27,58500,47.45,3.54,190,1",
    )

    report = communes_import(path_or_file=path)

    assert (report.created, report.updated, report.unchanged) == (3, 0, 0)
    assert sorted(Commune.objects.values_list("insee_code", flat=True)) == ["58002", "58006", "58194"]
    assert postal_codes("58002") == ["05820"]  # four digits: the leading zero a spreadsheet drops
    assert [str(row) for row in report.skipped] == [
        "ligne 3 (code 58062) : coordonnées absentes",
        "ligne 4 (code 97501) : département inconnu : « 975 »",
        "ligne 5 (code 5X001) : code INSEE invalide : « 5X001 »",
        "ligne 6 (code 58086) : population invalide : « beaucoup »",
        "ligne 7 (code 58303) : latitude hors limites : 97.0172 (entre -90 et 90)",
        "ligne 8 (code 58001) : longitude invalide : « abc »",
        "ligne 9 (code 58194) : code INSEE en double (déjà présent plus haut, ligne 2)",
        "ligne 11 (code 58003) : nom absent",
        "ligne 12 (code 21231) : code INSEE incohérent avec le département 58",
        "ligne 13 (code 58004) : nombre de colonnes incorrect (10 au lieu de 9)",
        "ligne 14 (code 58005) : code postal invalide : « 5843X »",
    ]


MALFORMED_FILES = {
    "invalid JSON": ('[{"code": "58194", "nom": "Nevers",', r"^JSON invalide à la ligne 1"),
    "JSON object": ('{"communes": []}', r"^Structure JSON inattendue : un tableau de communes est attendu"),
    "JSON array of strings": ('["58194", "58062"]', r"l'élément 1 n'est pas un objet commune"),
    "JSON of something else": (
        '[{"id": 1, "title": "x"}]',
        r"aucun élément n'a les champs code, nom, codeDepartement",
    ),
    "empty JSON array": ("[]", r"^Le fichier ne contient aucune commune\.$"),
    "CSV missing columns": (
        "code_insee,nom,code_departement\n58194,Nevers,58\n",
        r"colonnes manquantes dans l'en-tête : codes_postaux, latitude, longitude, population\.",
    ),
    "CSV header only": (HEADER + "\n", r"^Le fichier ne contient aucune commune\.$"),
    "empty file": ("  \n", r"^Le fichier est vide\.$"),
}


@pytest.mark.parametrize("content, message", MALFORMED_FILES.values(), ids=MALFORMED_FILES.keys())
def test_malformed_file_raises_and_saves_nothing(tmp_path, content, message):
    existing = CommuneFactory(insee_code="58194", name="Nevers", population=1)
    path = write(tmp_path, content, name="communes.txt")

    with pytest.raises(CommuneImportError, match=message):
        communes_import(path_or_file=path)
    with pytest.raises(CommandError, match=message):
        call_command("import_communes", str(path), stdout=io.StringIO())

    assert list(Commune.objects.all()) == [existing]
    assert Commune.objects.get().population == 1


def test_missing_file_and_spreadsheet_are_command_errors(tmp_path):
    with pytest.raises(CommandError, match=r"^Fichier introuvable : "):
        call_command("import_communes", str(tmp_path / "absent.csv"))
    (tmp_path / "communes.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 40)
    with pytest.raises(CommandError, match="enregistrez-le au format CSV"):
        call_command("import_communes", str(tmp_path / "communes.xlsx"))


def test_failure_while_saving_rolls_back_the_whole_import(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(CommunePostalCode.objects, "bulk_create", fail)
    path = csv_file(tmp_path, "58194,Nevers,58,27,58000,46.9881,3.1573,32990,17.3")

    with pytest.raises(RuntimeError):
        communes_import(path_or_file=path)
    assert not Commune.objects.exists()


# --- The command's output ------------------------------------------------------------------------


def test_command_prints_skipped_rows_and_summary(tmp_path):
    path = csv_file(
        tmp_path,
        "58194,Nevers,58,27,58000,46.9881,3.1573,32990,17.3",
        "58062,Château-Chinon (Ville),58,27,58120,,,1998,4.6",
    )
    out = io.StringIO()

    call_command("import_communes", str(path), stdout=out)

    output = out.getvalue()
    assert "Lignes ignorées :\n  ligne 3 (code 58062) : coordonnées absentes\n" in output
    assert re.search(
        r"1 commune importée \(1 créée, 0 mises à jour, 0 inchangées\), 1 ligne ignorée en \d+,\d s", output
    )


def test_command_prints_at_most_50_skipped_rows(tmp_path):
    path = csv_file(tmp_path, *(f"58{n:03d},Commune {n},58,27,58000,,,1,1" for n in range(1, 61)))
    out = io.StringIO()

    call_command("import_communes", str(path), stdout=out)

    output = out.getvalue()
    assert output.count("coordonnées absentes") == 50
    assert "ligne 51 (code 58050) : coordonnées absentes" in output
    assert "ligne 52 " not in output
    assert "  … et 10 autres lignes ignorées." in output
    assert "0 communes importées (0 créées, 0 mises à jour, 0 inchangées), 60 lignes ignorées" in output
