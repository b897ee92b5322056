from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RefurbishersConfig(AppConfig):
    """Diagnostic, effacement des données, réparation, DEEE, expéditions."""

    name = "refurbishers"
    verbose_name = _("Reconditionnement")

    def ready(self):
        from reemploi import views
        from reemploi.context_processors import NAV_ENTRIES
        from reemploi.enums import OrganisationKind as K

        from . import documents, guards, panels

        guards.register()
        documents.register()
        entries = [
            {"url": "refurbishers:work_queue", "label": _("File de travail"), "kinds": [K.REFURBISHER]},
            {"url": "refurbishers:waste_lots", "label": _("Lots DEEE"), "kinds": [K.REFURBISHER]},
            {"url": "refurbishers:shipments", "label": _("Expéditions"), "kinds": [K.REFURBISHER]},
            {"url": "refurbishers:parts", "label": _("Pièces"), "kinds": [K.REFURBISHER]},
            {"url": "refurbishers:deliveries", "label": _("Livraisons à recevoir"), "kinds": [K.RELAIS]},
        ]
        for entry in entries:
            if entry not in NAV_ENTRIES:
                NAV_ENTRIES.append(entry)
        for provider in panels.DEVICE_PANELS:
            if provider not in views.DEVICE_SECTIONS:
                views.DEVICE_SECTIONS.append(provider)
        for provider in panels.HOME:
            if provider not in views.HOME_PANELS:
                views.HOME_PANELS.append(provider)
