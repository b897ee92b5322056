"""Export and import of relais in the national « schéma des lieux de médiation numérique » v1.0.1
(schema.data.gouv.fr, LaMednum/standard-mediation-num): CSV, UTF-8, comma-separated, every column in
the schema's order, multiple values separated by `|`.

Required by v1.0.1: id, pivot, nom, commune, code_postal, adresse, date_maj. The importer checks
those and the closed vocabularies' patterns, reports errors row by row, and imports the valid rows."""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from reemploi.enums import OrganisationKind
from reemploi.models import Commune, Organisation, Site
from reemploi.validators import validate_siret

from .enums import MEDNUM_PROGRAMMES, MEDNUM_SERVICES, PROGRAMME_RELAIS_NUMERIQUE
from .models import RelaisProfile
from .opening_hours import validate_opening_hours

SCHEMA_VERSION = "1.0.1"
FIELDS = [
    "id",
    "pivot",
    "nom",
    "commune",
    "code_postal",
    "code_insee",
    "adresse",
    "complement_adresse",
    "latitude",
    "longitude",
    "typologie",
    "telephone",
    "courriels",
    "site_web",
    "horaires",
    "presentation_resume",
    "presentation_detail",
    "source",
    "itinerance",
    "structure_parente",
    "date_maj",
    "services",
    "publics_specifiquement_adresses",
    "prise_en_charge_specifique",
    "frais_a_charge",
    "dispositif_programmes_nationaux",
    "formations_labels",
    "autres_formations_labels",
    "modalites_acces",
    "modalites_accompagnement",
    "fiche_acces_libre",
    "prise_rdv",
]
REQUIRED = ["id", "pivot", "nom", "commune", "code_postal", "adresse", "date_maj"]
SEPARATOR = "|"
PATTERNS = {
    "pivot": re.compile(r"^[a-zA-Z0-9]{9,14}$"),
    "code_postal": re.compile(r"^\d{5}$"),
    "code_insee": re.compile(r"^([013-9]\d|2[AB1-9])\d{3}$"),
    "telephone": re.compile(r"^(\+33|\+590|\+594|\+262|\+596|\+269|\+687|\+689|\+508|\+681)(\d){6,9}$"),
}
VOCABULARIES = {
    "itinerance": ["Itinérant", "Fixe"],
    "services": MEDNUM_SERVICES,
    "dispositif_programmes_nationaux": MEDNUM_PROGRAMMES,
    "frais_a_charge": ["Gratuit", "Gratuit sous condition", "Payant"],
    "modalites_acces": [
        "Se présenter",
        "Téléphoner",
        "Contacter par mail",
        "Prendre un RDV en ligne",
        "Ce lieu n'accueille pas de public",
        "Envoyer un mail avec une fiche de prescription",
    ],
    "modalites_accompagnement": [
        "En autonomie",
        "Accompagnement individuel",
        "Dans un atelier collectif",
        "À distance",
    ],
}


# --- Export --------------------------------------------------------------------------------------


def profile_row(profile):
    site = profile.site
    organisation = site.organisation
    commune = site.commune
    postal = site.postal_code or (commune.postal_code_list[:1] or [""])[0]
    detail = []
    if site.public_devices:
        detail.append(
            _("%(n)s équipement(s) informatique(s) en accès libre sur place.") % {"n": site.public_devices}
        )
    if profile.lends_equipment:
        detail.append(_("Prêt de matériel informatique."))
    if profile.sells_equipment:
        detail.append(_("Vente de matériel reconditionné à prix solidaire aux personnes éligibles."))
    return {
        "id": profile.mednum_id,
        "pivot": profile.mednum_pivot,
        "nom": site.name,
        "commune": commune.name,
        "code_postal": postal,
        "code_insee": commune.insee_code,
        "adresse": site.address,
        "complement_adresse": "",
        "latitude": "" if site.latitude is None else f"{site.latitude:.6f}",
        "longitude": "" if site.longitude is None else f"{site.longitude:.6f}",
        "typologie": "",
        "telephone": profile.phone,
        "courriels": profile.email,
        "site_web": profile.website,
        "horaires": profile.opening_hours,
        "presentation_resume": profile.summary,
        "presentation_detail": " ".join(detail),
        "source": settings.NETWORK_NAME,
        "itinerance": "Itinérant" if profile.is_itinerant else "Fixe",
        "structure_parente": organisation.name if organisation.name != site.name else "",
        "date_maj": profile.updated_on.isoformat(),
        "services": SEPARATOR.join(profile.mednum_services()),
        "publics_specifiquement_adresses": "",
        "prise_en_charge_specifique": "",
        "frais_a_charge": "",
        "dispositif_programmes_nationaux": SEPARATOR.join(
            p for p in MEDNUM_PROGRAMMES if p in profile.programmes
        ),
        "formations_labels": "",
        "autres_formations_labels": "",
        "modalites_acces": "Se présenter",
        "modalites_accompagnement": "",
        "fiche_acces_libre": "",
        "prise_rdv": "",
    }


def export_csv(profiles):
    """The CSV text, and the ids of rows missing a value the schema requires (a relais without SIRET)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    incomplete = []
    for profile in profiles:
        row = profile_row(profile)
        if any(not row[name] for name in REQUIRED):
            incomplete.append(profile)
        writer.writerow(row)
    return buffer.getvalue(), incomplete


# --- Import --------------------------------------------------------------------------------------


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list = field(default_factory=list)  # (line number, field, message)

    @property
    def ok(self):
        return not self.errors


def _split(value):
    return [part.strip() for part in value.split(SEPARATOR) if part.strip()]


def validate_row(row):
    """Errors of one row as (field, message); an empty list when the row follows the schema."""
    errors = []
    for name in REQUIRED:
        if not (row.get(name) or "").strip():
            errors.append((name, _("champ obligatoire vide")))
    for name, pattern in PATTERNS.items():
        value = (row.get(name) or "").strip()
        if value and not pattern.match(value):
            errors.append((name, _("« %(value)s » ne respecte pas le format attendu") % {"value": value}))
    for name, allowed in VOCABULARIES.items():
        for value in _split(row.get(name) or ""):
            if value not in allowed:
                errors.append((name, _("valeur inconnue « %(value)s »") % {"value": value}))
    value = (row.get("date_maj") or "").strip()
    if value:
        try:
            date.fromisoformat(value)
        except ValueError:
            errors.append(
                ("date_maj", _("date attendue au format AAAA-MM-JJ, lu « %(value)s »") % {"value": value})
            )
    for name, low, high in (("latitude", -90, 90), ("longitude", -180, 180)):
        value = (row.get(name) or "").strip()
        if value:
            try:
                number = float(value)
            except ValueError:
                errors.append((name, _("nombre attendu, lu « %(value)s »") % {"value": value}))
            else:
                if not low <= number <= high:
                    errors.append(
                        (name, _("hors des bornes %(low)s à %(high)s") % {"low": low, "high": high})
                    )
    if bool((row.get("latitude") or "").strip()) != bool((row.get("longitude") or "").strip()):
        errors.append(("latitude", _("latitude et longitude vont ensemble")))
    if len(row.get("presentation_resume") or "") > 280:
        errors.append(("presentation_resume", _("280 caractères au plus")))
    hours = (row.get("horaires") or "").strip()
    if hours:
        try:
            validate_opening_hours(hours)
        except ValidationError as error:
            errors.append(("horaires", error.messages[0]))
    return errors


def _commune(row):
    insee = (row.get("code_insee") or "").strip()
    if insee:
        return Commune.objects.filter(insee_code=insee).first()
    postal, name = row["code_postal"].strip(), row["commune"].strip()
    candidates = Commune.objects.with_postal_code(postal)
    return candidates.filter(name__iexact=name).first() or (
        candidates.first() if candidates.count() == 1 else None
    )


def _organisation(row, departement):
    pivot = row["pivot"].strip()
    siret = ""
    try:
        validate_siret(pivot)
        siret = pivot
    except ValidationError:
        pass  # an RNA or RIDET number: kept on the place's profile (RelaisProfile.pivot)
    if siret:
        found = Organisation.objects.filter(siret=siret, kind=OrganisationKind.RELAIS).first()
        if found:
            return found
    name = (row.get("structure_parente") or "").strip() or row["nom"].strip()
    found = Organisation.objects.filter(name=name, kind=OrganisationKind.RELAIS).first()
    if found:
        return found
    organisation = Organisation(name=name, kind=OrganisationKind.RELAIS, siret=siret, departement=departement)
    organisation.full_clean()
    organisation.save()
    return organisation


def _apply(row, commune):
    external_id = row["id"].strip()
    profile = RelaisProfile.objects.select_related("site").filter(external_id=external_id).first()
    if profile is None and external_id.startswith("reemploi-"):
        profile = (
            RelaisProfile.objects.select_related("site")
            .filter(site__uuid=external_id.removeprefix("reemploi-"))
            .first()
        )
    created = profile is None
    if created:
        organisation = _organisation(row, commune.departement)
        site = Site(organisation=organisation, name=row["nom"].strip(), commune=commune)
        profile = RelaisProfile(site=site, external_id=external_id)
    site = profile.site
    site.name = row["nom"].strip()
    site.address = row["adresse"].strip()
    site.postal_code = row["code_postal"].strip()
    site.commune = commune
    lat, lon = (row.get("latitude") or "").strip(), (row.get("longitude") or "").strip()
    if lat and lon:
        site.latitude, site.longitude, site.coordinates_approximate = float(lat), float(lon), False
    else:
        site.latitude = site.longitude = None
        site.coordinates_approximate = False
        site.fill_coordinates_from_commune()
    site.is_relais_shop = True
    site.full_clean()
    site.save()
    services = _split(row.get("services") or "")
    profile.site = site
    profile.opening_hours = (row.get("horaires") or "").strip()
    profile.is_itinerant = "Itinérant" in _split(row.get("itinerance") or "")
    profile.sells_equipment = "Acquisition de matériel informatique à prix solidaire" in services
    profile.services = [s for s in services if s != "Acquisition de matériel informatique à prix solidaire"]
    profile.programmes = _split(row.get("dispositif_programmes_nationaux") or "")
    profile.phone = (row.get("telephone") or "").strip()
    emails = _split(row.get("courriels") or "")
    profile.email = emails[0] if emails else ""
    sites_web = _split(row.get("site_web") or "")
    profile.website = sites_web[0] if sites_web else ""
    profile.summary = (row.get("presentation_resume") or "").strip()
    # A pivot that is not a SIRET (an association's RNA number, a RIDET) is kept on the place itself.
    pivot = row["pivot"].strip()
    profile.pivot = "" if pivot == site.organisation.siret else pivot
    profile.updated_on = date.fromisoformat(row["date_maj"].strip())
    profile.full_clean()
    profile.save()
    return created


def import_csv(file, *, actor=None):
    """Import a CSV in the schema: each valid row creates or updates a relais site and its profile
    (matched on the schema's `id`); each invalid row is reported and skipped."""
    report = ImportReport()
    raw = file.read()
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        report.errors.append(
            (
                1,
                "",
                _(
                    "le fichier n'est pas du texte UTF-8, l'encodage que le schéma impose : réenregistrez-le en CSV UTF-8"
                ),
            )
        )
        return report
    # Every row is read before anything is saved: a file that breaks halfway saves none of its rows.
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        fieldnames = reader.fieldnames or []
        rows = list(reader)
    except csv.Error as error:
        report.errors.append(
            (
                reader.line_num + 1,
                "",
                _("fichier CSV illisible à partir de cette ligne : %(error)s") % {"error": error},
            )
        )
        return report
    missing = [name for name in REQUIRED if name not in fieldnames]
    if missing:
        report.errors.append((1, ", ".join(missing), _("colonnes obligatoires absentes de l'en-tête")))
        return report
    seen = set()
    for number, row in enumerate(rows, start=2):
        errors = validate_row(row)
        identifier = (row.get("id") or "").strip()
        if identifier and identifier in seen:
            errors.append(("id", _("identifiant en double dans le fichier")))
        seen.add(identifier)
        commune = None
        if not errors:
            commune = _commune(row)
            if commune is None:
                errors.append(
                    (
                        "commune",
                        _("commune introuvable (%(name)s, %(postal)s)")
                        % {"name": row["commune"], "postal": row["code_postal"]},
                    )
                )
        if errors:
            report.errors.extend((number, name, message) for name, message in errors)
            continue
        try:
            with transaction.atomic():
                created = _apply(row, commune)
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                report.errors.extend(
                    (number, name, " ".join(msgs)) for name, msgs in error.message_dict.items()
                )
            else:
                report.errors.append((number, "", " ".join(error.messages)))
            continue
        if created:
            report.created += 1
        else:
            report.updated += 1
    return report


def default_programmes():
    """Programmes preset on a new relais profile: the network's relais are « relais numériques »."""
    return [PROGRAMME_RELAIS_NUMERIQUE]


def export_filename():
    return f"{timezone.localdate():%Y%m%d}_lieux-de-mediation-numerique_relais.csv"
