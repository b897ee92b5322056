import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from relais import mednum, services
from relais.enums import SERVICE_SOLIDARITY_EQUIPMENT
from relais.models import RelaisProfile
from relais.opening_hours import humanise, validate_opening_hours
from tests.reemploi.factories import CommuneFactory, SiteFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "value",
    [
        "Mo-Fr 09:00-12:00,14:00-18:30; Sa 08:30-12:00",
        "24/7",
        "Mo-Fr 09:00-17:00; PH off",
        "Tu,Th 14:00-17:00",
        "Jan-Jun Mo 10:00-12:00",
        'We 14:00-16:00 "sur rendez-vous"',
        "Mo[1,3] 09:00-12:00",
        "Mo-Fr 09:00-12:00 || Sa 10:00-12:00",
        "Mo-Fr 09:00-12:00;",
    ],
)
def test_opening_hours_accepts_osm_syntax(value):
    validate_opening_hours(value)


@pytest.mark.parametrize(
    "value",
    [
        "lundi 9h-12h",
        "Mo-Fr 9-12",
        "Mo-Fr 25:00-26:00",
        "Mo-Xx 09:00-12:00",
        "Mo-Fr 09:00-09:00",
        "Mo-Fr 09:00-12:00;;Sa",
    ],
)
def test_opening_hours_refuses_mistakes(value):
    with pytest.raises(ValidationError):
        validate_opening_hours(value)


def test_opening_hours_read_in_french():
    assert humanise("Mo-Fr 09:00-12:00; PH off") == "lun. – ven. 9 h 00 – 12 h 00 · fermé les jours fériés"


def _relais_site(relais, **fields):
    return SiteFactory(
        organisation=relais,
        name="Relais de Nevers – Banlay",
        address="2 rue du Banlay",
        postal_code="58000",
        **fields,
    )


def test_profile_without_coordinates_uses_the_commune_centre_flagged_approximate(staff, relais):
    site = _relais_site(
        relais, commune=CommuneFactory(latitude=46.99, longitude=3.16), latitude=None, longitude=None
    )
    services.relais_profile_save(
        actor=staff, site=site, opening_hours="Mo-Fr 09:00-12:00", sells_equipment=True
    )
    site.refresh_from_db()
    assert (site.latitude, site.longitude, site.coordinates_approximate) == (46.99, 3.16, True)
    services.relais_profile_save(actor=staff, site=site, latitude=46.9912, longitude=3.1598)
    site.refresh_from_db()
    assert (site.latitude, site.coordinates_approximate) == (46.9912, False)


def test_export_follows_the_schema_with_the_solidarity_service(staff, relais):
    relais.siret = "73282932000074"
    relais.save()
    site = _relais_site(relais, public_devices=3)
    services.relais_profile_save(
        actor=staff,
        site=site,
        opening_hours="Mo-Fr 09:00-12:00",
        sells_equipment=True,
        services=["Accès internet et matériel informatique"],
        programmes=["Relais numérique (Emmaüs Connect)"],
    )
    text, incomplete = mednum.export_csv(RelaisProfile.objects.all())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == mednum.FIELDS and not incomplete
    row = rows[0]
    assert row["services"] == f"Accès internet et matériel informatique|{SERVICE_SOLIDARITY_EQUIPMENT}"
    assert row["dispositif_programmes_nationaux"] == "Relais numérique (Emmaüs Connect)"
    assert (
        row["pivot"] == "73282932000074"
        and row["itinerance"] == "Fixe"
        and row["horaires"] == "Mo-Fr 09:00-12:00"
    )
    assert "3 équipement(s)" in row["presentation_detail"]
    assert mednum.validate_row(row) == []


def test_export_reports_relais_without_siret(staff, relais):
    services.relais_profile_save(actor=staff, site=_relais_site(relais), sells_equipment=False)
    text, incomplete = mednum.export_csv(RelaisProfile.objects.all())
    assert len(incomplete) == 1
    assert SERVICE_SOLIDARITY_EQUIPMENT not in text


def _csv(rows):
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=mednum.FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({name: row.get(name, "") for name in mednum.FIELDS})
    return SimpleUploadedFile("lieux.csv", buffer.getvalue().encode("utf-8"), content_type="text/csv")


def test_import_creates_valid_rows_and_reports_errors_per_row():
    commune = CommuneFactory(insee_code="58194", name="Nevers", latitude=46.99, longitude=3.16)
    good = {
        "id": "lieu-1",
        "pivot": "73282932000074",
        "nom": "Bus numérique du Morvan",
        "commune": "Nevers",
        "code_postal": "58000",
        "code_insee": "58194",
        "adresse": "Place Carnot",
        "horaires": "Tu 09:00-12:00",
        "itinerance": "Itinérant",
        "date_maj": "2025-03-01",
        "services": f"Aide aux démarches administratives|{SERVICE_SOLIDARITY_EQUIPMENT}",
        "dispositif_programmes_nationaux": "Relais numérique (Emmaüs Connect)",
    }
    bad = {
        **good,
        "id": "lieu-2",
        "code_postal": "5800",
        "date_maj": "",
        "services": "Vente de PC",
        "horaires": "mardi matin",
    }
    report = mednum.import_csv(_csv([good, bad]))
    assert (report.created, report.updated) == (1, 0)
    fields = {(line, field) for line, field, _message in report.errors}
    assert fields == {(3, "code_postal"), (3, "date_maj"), (3, "services"), (3, "horaires")}
    profile = RelaisProfile.objects.get(external_id="lieu-1")
    assert profile.is_itinerant and profile.sells_equipment and profile.site.commune == commune
    assert profile.site.coordinates_approximate and profile.site.organisation.siret == "73282932000074"
    # Importing the same file again updates instead of duplicating.
    again = mednum.import_csv(_csv([good]))
    assert (again.created, again.updated) == (0, 1) and RelaisProfile.objects.count() == 1


def test_import_refuses_a_file_without_the_required_columns():
    upload = SimpleUploadedFile("x.csv", b"nom,commune\nA,B\n")
    report = mednum.import_csv(upload)
    assert report.errors and "id" in report.errors[0][1]


def test_humanised_hours_keep_a_space_after_each_comma():
    assert (
        humanise("Mo,We,Fr 09:00-12:00,14:00-17:00") == "lun., mer., ven. 9 h 00 – 12 h 00, 14 h 00 – 17 h 00"
    )


def test_import_keeps_a_pivot_that_is_not_a_siret_and_exports_it_again():
    CommuneFactory(insee_code="58194", name="Nevers", latitude=46.99, longitude=3.16)
    row = {
        "id": "asso-1",
        "pivot": "W581234567",  # an association's RNA number
        "nom": "Association Le Lien",
        "commune": "Nevers",
        "code_postal": "58000",
        "code_insee": "58194",
        "adresse": "3 rue du Midi",
        "date_maj": "2025-03-01",
    }
    report = mednum.import_csv(_csv([row]))
    assert report.ok and report.created == 1
    profile = RelaisProfile.objects.get(external_id="asso-1")
    assert profile.pivot == "W581234567" and profile.site.organisation.siret == ""
    text, incomplete = mednum.export_csv(RelaisProfile.objects.all())
    exported = next(csv.DictReader(io.StringIO(text)))
    assert exported["pivot"] == "W581234567" and not incomplete
    assert mednum.validate_row(exported) == []
