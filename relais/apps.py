from django.apps import AppConfig


class RelaisConfig(AppConfig):
    """Annuaire des relais, stock, ventes, prêts, retours."""

    name = "relais"
    verbose_name = "Relais numériques"

    def ready(self):
        from beneficiaries.exports import PERSONAL_DATA_SECTIONS
        from beneficiaries.views import BENEFICIARY_SECTIONS
        from reemploi.context_processors import NAV_ENTRIES
        from reemploi.documents import register_kind
        from reemploi.enums import OrganisationKind as K
        from reemploi.views import DEVICE_SECTIONS

        from . import guards, panels, receipts

        guards.register()
        register_kind("sale_receipt", prefix="VTE", label="Reçu de vente (relais)", build=receipts.build)
        for entry in (
            {"url": "relais:stock", "label": "Stock", "kinds": [K.RELAIS]},
            {"url": "relais:sale_list", "label": "Ventes", "kinds": [K.RELAIS]},
            {"url": "relais:loan_list", "label": "Prêts", "kinds": [K.RELAIS]},
            {"url": "relais:directory", "label": "Relais", "kinds": [K.COORDINATOR]},
        ):
            if entry not in NAV_ENTRIES:
                NAV_ENTRIES.append(entry)
        for registry, provider in (
            (DEVICE_SECTIONS, panels.device_section),
            (BENEFICIARY_SECTIONS, panels.beneficiary_section),
            (PERSONAL_DATA_SECTIONS, panels.personal_data_sales),
            (PERSONAL_DATA_SECTIONS, panels.personal_data_loans),
        ):
            if provider not in registry:
                registry.append(provider)
