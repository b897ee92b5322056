from django.apps import AppConfig


class BeneficiariesConfig(AppConfig):
    """Critères d'éligibilité, bénéficiaires, vérifications, bons, quotas."""

    name = "beneficiaries"
    verbose_name = "Bénéficiaires"

    def ready(self):
        from reemploi.context_processors import NAV_ENTRIES
        from reemploi.enums import OrganisationKind as K

        for entry in (
            {"url": "beneficiaries:list", "label": "Bénéficiaires", "kinds": [K.RELAIS]},
            {"url": "beneficiaries:criteria", "label": "Critères d'éligibilité", "kinds": [K.COORDINATOR]},
            {
                "url": "beneficiaries:quota_exceptions",
                "label": "Exceptions de quota",
                "kinds": [K.COORDINATOR],
            },
            {"url": "beneficiaries:vouchers", "label": "Bons", "kinds": [K.PRESCRIBER]},
        ):
            if entry not in NAV_ENTRIES:
                NAV_ENTRIES.append(entry)
