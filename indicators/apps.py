from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    """Indicateurs de la stratégie départementale."""

    name = "indicators"
    verbose_name = "Indicateurs"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from reemploi import documents
        from reemploi.context_processors import NAV_ENTRIES
        from reemploi.enums import OrganisationKind

        from .documents import build_impact_report, build_reuse_attestation

        documents.register_kind(
            "reuse_attestation",
            prefix="ATR",
            label=_("Attestation de réemploi (décret n° 2023-266)"),
            build=build_reuse_attestation,
        )
        documents.register_kind(
            "impact_report", prefix="BIL", label=_("Bilan d'impact"), build=build_impact_report
        )

        entry = {
            "url": "indicators:dashboard",
            "label": "Indicateurs",
            "kinds": [OrganisationKind.DEPARTEMENT],
        }
        documents_entry = {
            "url": "indicators:donor_documents",
            "label": "Documents donateurs",
            "kinds": [OrganisationKind.COORDINATOR],
        }
        for item in (entry, documents_entry):
            if item not in NAV_ENTRIES:
                NAV_ENTRIES.append(item)
