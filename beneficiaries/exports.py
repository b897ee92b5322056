"""A person's data, on request (RGPD art. 15 and 20): everything the platform holds about them, as
JSON. Other apps add their sections (sales, loans) through PERSONAL_DATA_SECTIONS so this app never
imports them."""

from django.utils import timezone

# Functions `(beneficiary) -> (key, list_of_dicts)` registered by other apps from AppConfig.ready().
PERSONAL_DATA_SECTIONS: list = []


def _date(value):
    return value.isoformat() if value else None


def personal_data(beneficiary):
    household = beneficiary.household
    data = {
        "exporte_le": timezone.now().isoformat(),
        "bénéficiaire": {
            "identifiant": str(beneficiary.uuid),
            "type": beneficiary.get_kind_display(),
            "prénom": beneficiary.first_name,
            "nom": beneficiary.last_name,
            "association": beneficiary.organisation_name,
            "commune": beneficiary.commune.name,
            "code_insee": beneficiary.commune.insee_code,
            "foyer": {"référence": household.reference, "taille": household.size} if household else None,
            "relais": beneficiary.relais.name,
            "enregistré_le": _date(beneficiary.created_at),
            "dernier_contact": _date(beneficiary.last_contact_at),
            "anonymisé_le": _date(beneficiary.anonymised_at),
        },
        "vérifications_d_éligibilité": [
            {
                "critère": str(check.criterion),
                "justificatif_vu": check.get_document_type_display(),
                "vérifié_le": _date(check.checked_at),
                "vérifié_par": check.checked_by.get_full_name() or check.checked_by.username,
                "valable_jusqu_au": _date(check.valid_until),
                "note": "Le justificatif a été consulté, jamais copié ni conservé.",
            }
            for check in beneficiary.checks.select_related("criterion", "checked_by")
        ],
        "bons_de_prescription": [
            {
                "code": voucher.display_code,
                "structure": voucher.prescriber.name,
                "émis_le": _date(voucher.issued_at),
                "valable_jusqu_au": _date(voucher.expires_on),
                "utilisé_le": _date(voucher.redeemed_at),
            }
            for voucher in beneficiary.vouchers.select_related("prescriber")
        ],
    }
    for section in PERSONAL_DATA_SECTIONS:
        key, rows = section(beneficiary)
        data[key] = rows
    return data
