from django.apps import AppConfig


class IndicatorsConfig(AppConfig):
    """Indicateurs de la stratégie départementale."""

    name = "indicators"
    verbose_name = "Indicateurs"

    def ready(self):
        from reemploi.context_processors import NAV_ENTRIES
        from reemploi.enums import OrganisationKind

        entry = {
            "url": "indicators:dashboard",
            "label": "Indicateurs",
            "kinds": [OrganisationKind.DEPARTEMENT],
        }
        if entry not in NAV_ENTRIES:
            NAV_ENTRIES.append(entry)
