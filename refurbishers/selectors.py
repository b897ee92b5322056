"""Reads of the workshop. The work queue annotates each device with subqueries so that a page costs the
same number of SQL queries whatever its size."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from reemploi.enums import DeeeCategory
from reemploi.enums import DeviceState as S

from .enums import SanitisationOutcome, ShipmentLineStatus, WasteLotStatus
from .models import (
    Destruction,
    NoStorageDeclaration,
    Sanitisation,
    ShipmentLine,
    StorageMedium,
    WasteLot,
    WasteLotLine,
)


def _count(queryset):
    return Coalesce(
        Subquery(
            queryset.order_by().values("device_id").annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


def work_queue(queryset):
    """Devices with what the queue shows: media held and media cleared, declarations, and whether the
    device is already in a shipment or a DEEE lot."""
    attached = StorageMedium.objects.filter(device_id=OuterRef("pk"), detached_at__isnull=True)
    erased = Sanitisation.objects.filter(medium_id=OuterRef("pk"), outcome=SanitisationOutcome.ERASED)
    destroyed = Destruction.objects.filter(medium_id=OuterRef("pk"))
    return queryset.select_related("category", "holder").annotate(
        media_count=_count(attached),
        cleared_count=_count(attached.filter(Q(Exists(erased)) | Q(Exists(destroyed)))),
        declared_empty=Exists(NoStorageDeclaration.objects.filter(device_id=OuterRef("pk"))),
        in_shipment=Exists(
            ShipmentLine.objects.filter(device_id=OuterRef("pk"), status=ShipmentLineStatus.PENDING)
        ),
        in_lot=Exists(WasteLotLine.objects.filter(device_id=OuterRef("pk"))),
    )


def next_step(device):
    """What the workshop does next with a device of the queue (needs the `work_queue` annotations)."""
    if device.in_lot:
        return _("Dans un lot DEEE")
    if device.in_shipment:
        return _("Dans une expédition")
    if device.state == S.RECEIVED:
        return _("Diagnostiquer")
    if device.state in (S.AUDITED, S.SANITISED):
        if device.media_count == 0 and not device.declared_empty:
            return _("Enregistrer ses supports de stockage")
        if device.cleared_count < device.media_count:
            return _("Effacer les données")
        return _("Classer et fixer le prix")
    if device.state == S.READY:
        return _("À expédier vers un relais")
    return ""


def storage_status(device):
    if device.media_count == 0:
        return ("ok", _("aucun support")) if device.declared_empty else ("", "—")
    label = ngettext("%(done)d/%(total)d effacé", "%(done)d/%(total)d effacés", device.media_count) % {
        "done": device.cleared_count,
        "total": device.media_count,
    }
    return ("ok" if device.cleared_count == device.media_count else "warn", label)


def media_with_proofs(device):
    """The device's media (attached first), each with its sanitisations and destruction."""
    media = list(
        StorageMedium.objects.filter(device=device)
        .select_related("destruction", "harvested_as")
        .order_by("detached_at", "added_at")
    )
    by_medium = defaultdict(list)
    for sanitisation in Sanitisation.objects.filter(medium__in=media).select_related("evidence"):
        by_medium[sanitisation.medium_id].append(sanitisation)
    for medium in media:
        medium.proofs = by_medium.get(medium.pk, [])
        medium.erased = next((s for s in reversed(medium.proofs) if s.succeeded), None)
        medium.destroyed = getattr(medium, "destruction", None) if _has_destruction(medium) else None
        medium.cleared = bool(medium.erased or medium.destroyed)
    return media


def _has_destruction(medium):
    try:
        return medium.destruction is not None
    except Destruction.DoesNotExist:
        return False


def waste_register(lots):
    """The waste register: one row per handed-over lot and DEEE category (date, waste code, category,
    weight, destination, treatment code, slip number). A weighed lot's weight is shared between its
    categories in proportion to their estimated weights."""
    lots = list(
        lots.filter(status=WasteLotStatus.HANDED_OVER)
        .order_by("handover_date", "reference")
        .prefetch_related("lines")
    )
    rows = []
    for lot in lots:
        by_category = defaultdict(lambda: {"count": 0, "weight": Decimal("0")})
        for line in lot.lines.all():
            entry = by_category[line.deee_category]
            entry["count"] += 1
            entry["weight"] += line.weight_kg
        estimated = sum((entry["weight"] for entry in by_category.values()), Decimal("0"))
        for category, entry in sorted(by_category.items()):
            weight = entry["weight"]
            if lot.measured_weight_kg and estimated:
                weight = (lot.measured_weight_kg * entry["weight"] / estimated).quantize(Decimal("0.01"))
            rows.append(
                {
                    "date": lot.handover_date,
                    "reference": lot.reference,
                    "waste_code": lot.waste_code,
                    "category": DeeeCategory(category).label if category in DeeeCategory.values else category,
                    "devices": entry["count"],
                    "weight_kg": weight,
                    "weighed": bool(lot.measured_weight_kg),
                    "destination": f"{lot.destination_name} (SIRET {lot.destination_siret})",
                    "eco_organisme": lot.get_eco_organisme_display() if lot.eco_organisme else "",
                    "treatment_code": lot.treatment_code,
                    "slip": lot.bsdd_number,
                    "lot": lot,
                }
            )
    return rows


def lot_weights(lot):
    """Devices and estimated weight per DEEE category of a lot."""
    totals = defaultdict(lambda: {"count": 0, "weight": Decimal("0")})
    for line in lot.lines.all():
        totals[line.deee_category]["count"] += 1
        totals[line.deee_category]["weight"] += line.weight_kg
    return [
        {
            "category": DeeeCategory(category).label if category in DeeeCategory.values else category,
            **values,
        }
        for category, values in sorted(totals.items())
    ]


def open_lots(organisations):
    return WasteLot.objects.filter(organisation__in=organisations, status=WasteLotStatus.OPEN)


def donation_declarations(donation):
    """Declarations that a device of the donation holds no storage medium."""
    from .documents import donation_devices

    return list(
        NoStorageDeclaration.objects.filter(device__in=donation_devices(donation))
        .select_related("device", "device__category", "declared_by")
        .order_by("device__public_id")
    )


def media_with_certificates(media):
    """{medium id: [its issued per-medium certificates]} for media loaded by `media_with_proofs`."""
    from django.contrib.contenttypes.models import ContentType

    from reemploi.models import Document

    from .documents import MEDIUM_CERTIFICATE

    owners = {}
    for medium in media:
        for proof in medium.proofs:
            owners[(Sanitisation, proof.pk)] = medium.pk
        if medium.destroyed:
            owners[(Destruction, medium.destroyed.pk)] = medium.pk
    result = defaultdict(list)
    for model in (Sanitisation, Destruction):
        ids = [pk for (kind, pk) in owners if kind is model]
        if not ids:
            continue
        documents = Document.objects.issued().filter(
            kind=MEDIUM_CERTIFICATE, subject_type=ContentType.objects.get_for_model(model), subject_id__in=ids
        )
        for document in documents.order_by("issued_at"):
            result[owners[(model, document.subject_id)]].append(document)
    return result
