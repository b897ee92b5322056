from django.apps import AppConfig


class DonorsConfig(AppConfig):
    """Propositions de dons, qualification, collecte, réception, espace donateur."""

    name = "donors"
    verbose_name = "Dons"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from reemploi import context_processors, documents
        from reemploi import views as kernel_views
        from reemploi.enums import OrganisationKind as K

        from . import views
        from .documents import build_reception_sheet, build_tax_receipt

        documents.register_kind(
            "reception_sheet", prefix="REC", label=_("Fiche de réception"), build=build_reception_sheet
        )
        documents.register_download_link(views.tracked_document_path)
        documents.register_kind(
            "tax_receipt",
            prefix="RF",
            label=_("Reçu fiscal (article 238 bis du CGI)"),
            build=build_tax_receipt,
        )
        entries = [
            {"url": "donors:queue", "label": "Dons à qualifier", "kinds": [K.COORDINATOR]},
            {"url": "donors:space", "label": "Mes dons", "kinds": [K.COMPANY, K.PUBLIC_BODY, K.ASSOCIATION]},
            {"url": "donors:receptions", "label": "Réceptions", "kinds": [K.REFURBISHER]},
        ]
        for entry in entries:
            if entry not in context_processors.NAV_ENTRIES:
                context_processors.NAV_ENTRIES.append(entry)
        if views.home_panel not in kernel_views.HOME_PANELS:
            kernel_views.HOME_PANELS.append(views.home_panel)
        if views.device_section not in kernel_views.DEVICE_SECTIONS:
            kernel_views.DEVICE_SECTIONS.append(views.device_section)
