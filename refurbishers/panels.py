"""Panels the workshop adds to the kernel's device page and home page."""

from django.utils import timezone

from reemploi.enums import DeviceState as S
from reemploi.lifecycle import WORKSHOP_STATES

from . import permissions
from .enums import ShipmentLineStatus, ShipmentStatus
from .models import Grading, Shipment, ShipmentLine, WasteLotLine
from .selectors import media_with_certificates as medium_certificates
from .selectors import media_with_proofs


def _access(request, device):
    """(may see, may write) the device's workshop records."""
    if not permissions.can_see_workshop_records(request.user, device):
        return False, False
    return True, permissions.can_work_on(request.user, device)


def audit_panel(request, device):
    visible, writable = _access(request, device)
    if not visible:
        return None
    audits = list(device.audits.select_related("performed_by", "evidence")[:5])
    return {
        "template": "refurbishers/panels/audit.html",
        "audit": audits[0] if audits else None,
        "older": audits[1:],
        "writable": writable and device.state in WORKSHOP_STATES,
        "device": device,
    }


def storage_panel(request, device):
    visible, writable = _access(request, device)
    if not visible:
        return None
    media = media_with_proofs(device)
    declaration = device.no_storage_declarations.select_related("declared_by").first()
    attached = [m for m in media if m.detached_at is None]
    certificates = medium_certificates(media)
    for medium in media:
        medium.certificates = certificates.get(medium.pk, [])
    line = device.donation_line
    return {
        "template": "refurbishers/panels/storage.html",
        "attached": attached,
        "detached": [m for m in media if m.detached_at is not None],
        "declaration": declaration if not attached else None,
        "all_cleared": bool(attached) and all(m.cleared for m in attached) or (not attached and declaration),
        "writable": writable and device.state in WORKSHOP_STATES,
        "donation": line.donation if line is not None and visible else None,
        "device": device,
    }


def repair_panel(request, device):
    visible, writable = _access(request, device)
    if not visible:
        return None
    repairs = list(device.repairs.select_related("performed_by").prefetch_related("parts"))
    if not repairs and not (writable and device.state in WORKSHOP_STATES):
        return None
    return {
        "template": "refurbishers/panels/repairs.html",
        "repairs": repairs,
        "total_minutes": sum(r.duration_minutes for r in repairs),
        "total_cost": sum((r.total_cost for r in repairs), 0),
        "writable": writable and device.state in WORKSHOP_STATES,
        "device": device,
    }


def outcome_panel(request, device):
    """Grading and price, and where the device goes next (relais, parts, DEEE)."""
    visible, writable = _access(request, device)
    if not visible:
        return None
    grading = Grading.objects.filter(device=device).select_related("graded_by", "cap").first()
    line = (
        ShipmentLine.objects.filter(device=device)
        .select_related("shipment", "shipment__relais")
        .order_by("-added_at")
        .first()
    )
    lot_line = WasteLotLine.objects.filter(device=device).select_related("lot").first()
    cap = device.category.cap_on(timezone.localdate())
    return {
        "template": "refurbishers/panels/outcome.html",
        "grading": grading,
        "cap": cap,
        "shipment_line": line,
        "lot_line": lot_line,
        "writable": writable,
        "can_make_ready": writable and device.state in (S.AUDITED, S.SANITISED),
        "can_harvest": writable and device.state in WORKSHOP_STATES and lot_line is None,
        "can_label": writable or permissions.is_workshop_member(request.user),
        "device": device,
    }


DEVICE_PANELS = [audit_panel, storage_panel, repair_panel, outcome_panel]


def deliveries_home_panel(request):
    ids = permissions.relais_ids(request.user)
    if not ids:
        return None
    shipments = list(
        Shipment.objects.filter(relais_id__in=ids, status=ShipmentStatus.DISPATCHED).select_related(
            "refurbisher"
        )[:10]
    )
    if not shipments:
        return None
    return {"template": "refurbishers/panels/home_deliveries.html", "shipments": shipments}


def workshop_home_panel(request):
    ids = permissions.workshop_ids(request.user)
    if not ids:
        return None
    missing = list(
        Shipment.objects.filter(refurbisher_id__in=ids, status=ShipmentStatus.PARTIAL).select_related(
            "relais"
        )[:10]
    )
    pending = (
        ShipmentLine.objects.filter(
            shipment__refurbisher_id__in=ids, status=ShipmentLineStatus.MISSING
        ).count()
        if missing
        else 0
    )
    return {
        "template": "refurbishers/panels/home_workshop.html",
        "missing_shipments": missing,
        "missing_count": pending,
    }


HOME = [deliveries_home_panel, workshop_home_panel]
