"""Documents the workshop issues through the kernel's register: the delivery note of a shipment and
the per-device data sanitisation certificate."""

from django.utils.translation import gettext as _

from reemploi.documents import Rendered

from .enums import ShipmentLineStatus
from .models import Destruction, Sanitisation, StorageMedium


def build_delivery_note(document):
    shipment = document.subject
    lines = list(
        shipment.lines.exclude(status=ShipmentLineStatus.MISSING, shipment__dispatched_at__isnull=True)
        .select_related("device", "device__category")
        .order_by("device__category__sort_order", "device__public_id")
    )
    total_price = sum((line.device.price or 0) for line in lines)
    return Rendered(
        template="refurbishers/pdf/delivery_note.html",
        context={"shipment": shipment, "lines": lines, "total_price": total_price},
        public_facts={
            _("Expédition"): shipment.reference,
            _("Atelier"): shipment.refurbisher.name,
            _("Relais destinataire"): shipment.relais.name,
            _("Appareils"): len(lines),
            _("Expédiée le"): shipment.dispatched_at.strftime("%d/%m/%Y") if shipment.dispatched_at else "",
        },
    )


def build_sanitisation_certificate(document):
    device = document.subject
    media = list(StorageMedium.objects.filter(device=device).order_by("added_at", "id"))
    erasures = {}
    for sanitisation in Sanitisation.objects.filter(medium__in=media).select_related("organisation", "site"):
        erasures.setdefault(sanitisation.medium_id, []).append(sanitisation)
    destructions = {
        d.medium_id: d for d in Destruction.objects.filter(medium__in=media).select_related("organisation")
    }
    rows = [
        {
            "medium": medium,
            "sanitisations": erasures.get(medium.pk, []),
            "destruction": destructions.get(medium.pk),
        }
        for medium in media
    ]
    declaration = device.no_storage_declarations.select_related("declared_by").first()
    return Rendered(
        template="refurbishers/pdf/sanitisation_certificate.html",
        context={"device": device, "rows": rows, "declaration": declaration if not media else None},
        public_facts={
            _("Appareil"): device.public_id,
            _("Catégorie"): device.category.name,
            _("Supports de stockage"): len(media),
            _("Supports effacés ou détruits"): sum(
                1 for row in rows if row["destruction"] or any(s.succeeded for s in row["sanitisations"])
            ),
        },
    )
