"""Documents the workshop issues through the kernel's register, and when it issues them.

- `delivery_note` (BL): a shipment's delivery note, when it leaves.
- `sanitisation_certificate` (CEF): one per storage medium, issued as soon as a successful erasure
  (or a destruction: it is then a destruction record) is recorded; its subject is that record.
- `sanitisation_summary` (CER): per donation, every medium of every device with its final proof;
  issued when the donation's received devices are all cleared, or on demand.
- `destruction_certificate` (CDD): per donation, the destroyed media; same triggers, only when the
  donation has destroyed media.
- `deee_certificate` (CTD): per donation and per DEEE lot handed over holding its devices.

A donation-level document records in its `params` the proofs it lists (`snapshot`): a later proof
changes the snapshot and issues a new version (`document_reissue`) that supersedes the previous one;
the same snapshot issues nothing, so a retried trigger never issues twice."""

from collections import defaultdict
from decimal import Decimal

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reemploi.documents import Rendered, document_reissue, document_request
from reemploi.enums import DeeeCategory, DocumentStatus
from reemploi.enums import DeviceState as S
from reemploi.models import Device, Document

from .enums import SanitisationOutcome, ShipmentLineStatus
from .models import Destruction, NoStorageDeclaration, Sanitisation, StorageMedium, WasteLot, WasteLotLine

MEDIUM_CERTIFICATE = "sanitisation_certificate"
SUMMARY = "sanitisation_summary"
DESTRUCTION_CERTIFICATE = "destruction_certificate"
DEEE_CERTIFICATE = "deee_certificate"
NOT_RECEIVED = [S.EXPECTED, S.COLLECTED, S.LOST]
STANDARDS_REFERRED = "NIST SP 800-88 Rév. 2 (septembre 2025), IEEE 2883-2022"


def register():
    from reemploi.documents import register_kind

    register_kind(
        "delivery_note", prefix="BL", label=gettext_lazy("Bon de livraison"), build=build_delivery_note
    )
    register_kind(
        MEDIUM_CERTIFICATE,
        prefix="CEF",
        label=gettext_lazy("Certificat d'effacement d'un support"),
        build=build_medium_certificate,
    )
    register_kind(
        SUMMARY,
        prefix="CER",
        label=gettext_lazy("Certificat récapitulatif d'effacement des données"),
        build=build_summary,
    )
    register_kind(
        DESTRUCTION_CERTIFICATE,
        prefix="CDD",
        label=gettext_lazy("Certificat de destruction des supports"),
        build=build_destruction_certificate,
    )
    register_kind(
        DEEE_CERTIFICATE,
        prefix="CTD",
        label=gettext_lazy("Certificat de traitement DEEE"),
        build=build_deee_certificate,
    )


def _date(value):
    return timezone.localtime(value).strftime("%d/%m/%Y") if value else ""


def _donation_of(device):
    line = device.donation_line
    return line.donation if line is not None else None


def _donor_email(donation):
    from donors import notifications

    return "" if notifications.is_muted() else donation.contact_email


# --- Delivery note -------------------------------------------------------------------------------


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


# --- One certificate per medium ------------------------------------------------------------------


def medium_certificate_issue(*, record, actor=None):
    """Request the certificate of one successful erasure or destruction, once. Called in the
    transaction that saves the record; returns the existing document when there is one already."""
    if isinstance(record, Sanitisation) and not record.succeeded:
        return None
    existing = Document.objects.about(record).filter(kind=MEDIUM_CERTIFICATE).first()
    if existing is not None:
        return existing
    medium = record.medium
    device = medium.device
    donation = _donation_of(device)
    if isinstance(record, Destruction):
        title = _("Procès-verbal de destruction du support %(serial)s")
    else:
        title = _("Certificat d'effacement du support %(serial)s")
    return document_request(
        kind=MEDIUM_CERTIFICATE,
        subject=record,
        title=title % {"serial": medium.serial_number or medium.get_kind_display()},
        owner=device.donor_organisation or (donation.donor_organisation if donation else None),
        recipient_email="",
        requested_by=actor,
        donation=donation,
    )


def build_medium_certificate(document):
    record = document.subject
    is_destruction = isinstance(record, Destruction)
    medium = StorageMedium.objects.select_related(
        "device", "device__category", "device__donor_organisation"
    ).get(pk=record.medium_id)
    device = medium.device
    donation = document.donation
    if is_destruction:
        from .services import workshop_site

        site = workshop_site(record.organisation)
    else:
        site = record.site
    if is_destruction:
        level, technique = _("Destroy (destruction physique)"), record.get_method_display()
        ended = record.performed_at
    else:
        level, technique = record.get_level_display(), record.get_technique_display()
        ended = record.ended_at
    return Rendered(
        template="refurbishers/pdf/medium_certificate.html",
        context={
            "record": record,
            "is_destruction": is_destruction,
            "medium": medium,
            "device": device,
            "donation": donation,
            "site": site,
            "organisation": record.organisation,
            "level": level,
            "technique": technique,
            "standards": STANDARDS_REFERRED,
        },
        public_facts={
            _("Type de document"): _("Procès-verbal de destruction") if is_destruction else _("Effacement"),
            _("Appareil"): device.public_id,
            _("Support"): medium.get_kind_display()
            + (f" {medium.capacity_gb} Go" if medium.capacity_gb else ""),
            _("Niveau NIST SP 800-88"): level,
            **({_("Niveau ISO/IEC 21964"): record.iso_level} if is_destruction else {}),
            _("Technique"): technique,
            _("Résultat"): _("Détruit") if is_destruction else record.get_outcome_display(),
            _("Date"): _date(ended),
        },
    )


# --- Donation-level documents --------------------------------------------------------------------


def donation_devices(donation):
    """The donation's devices that reached a workshop."""
    return Device.objects.filter(donation_line__donation=donation).exclude(state__in=NOT_RECEIVED)


def donation_is_cleared(donation):
    """Whether every attached medium of every received device is erased or destroyed, and every device
    without a medium was declared empty. Three queries, whatever the donation's size."""
    devices = donation_devices(donation)
    if not devices.exists():
        return False
    attached = StorageMedium.objects.attached().filter(device__in=devices)
    pending = (
        attached.annotate(
            erased=Exists(
                Sanitisation.objects.filter(medium=OuterRef("pk"), outcome=SanitisationOutcome.ERASED)
            ),
            destroyed=Exists(Destruction.objects.filter(medium=OuterRef("pk"))),
        )
        .filter(erased=False, destroyed=False)
        .exists()
    )
    if pending:
        return False
    undeclared = (
        devices.annotate(
            has_media=Exists(StorageMedium.objects.attached().filter(device=OuterRef("pk"))),
            declared=Exists(NoStorageDeclaration.objects.filter(device=OuterRef("pk"))),
        )
        .filter(has_media=False, declared=False)
        .exists()
    )
    return not undeclared


def donation_media_rows(donation, snapshot=None, as_of=None):
    """One row per medium of the donation's devices, with its final proof: the destruction, or the last
    successful erasure, or the last failed attempt, or nothing yet. With a `snapshot` and `as_of`, only
    the proofs it lists and the media known then count (a document shows what was true when it was
    requested, even when it is generated later)."""
    devices = donation_devices(donation)
    media = StorageMedium.objects.all()
    if as_of is not None:
        media = media.filter(added_at__lte=as_of)
    media = list(
        media.filter(device__in=devices)
        .filter(Q(detached_at__isnull=True) | Q(sanitisations__isnull=False) | Q(destruction__isnull=False))
        .distinct()
        .select_related("device", "device__category")
        .order_by("device__public_id", "added_at", "id")
    )
    sanitisations = Sanitisation.objects.filter(medium__in=[m.pk for m in media]).select_related(
        "organisation", "site"
    )
    destructions = Destruction.objects.filter(medium__in=[m.pk for m in media]).select_related("organisation")
    if snapshot is not None:
        allowed_s, allowed_d = set(snapshot.get("sanitisations", [])), set(snapshot.get("destructions", []))
        sanitisations = [
            s
            for s in sanitisations
            if s.pk in allowed_s or (not s.succeeded and (as_of is None or s.recorded_at <= as_of))
        ]
        destructions = [d for d in destructions if d.pk in allowed_d]
    best = {}
    for sanitisation in sorted(sanitisations, key=lambda s: (s.succeeded, s.ended_at, s.pk)):
        best[sanitisation.medium_id] = sanitisation
    destroyed = {d.medium_id: d for d in destructions}
    rows = []
    for medium in media:
        destruction = destroyed.get(medium.pk)
        sanitisation = best.get(medium.pk)
        if destruction is None and sanitisation is None and medium.detached_at is not None:
            continue
        rows.append(
            {
                "medium": medium,
                "device": medium.device,
                "destruction": destruction,
                "sanitisation": sanitisation,
            }
        )
    return rows


def donation_snapshot(donation):
    """The proofs a donation-level document lists: ids of the erasures and destructions shown, and of
    the declarations of devices without storage."""
    rows = donation_media_rows(donation)
    devices = donation_devices(donation)
    return {
        "sanitisations": sorted(
            r["sanitisation"].pk
            for r in rows
            if r["sanitisation"] and r["sanitisation"].succeeded and not r["destruction"]
        ),
        "destructions": sorted(r["destruction"].pk for r in rows if r["destruction"]),
        "declarations": sorted(
            NoStorageDeclaration.objects.filter(device__in=devices).values_list("pk", flat=True)
        ),
    }


def _latest(donation, kind):
    return (
        Document.objects.filter(donation=donation, kind=kind, superseded_by__isnull=True)
        .exclude(status=DocumentStatus.FAILED)
        .order_by("-requested_at", "-id")
        .first()
    )


def _issue_version(*, donation, kind, title, params, actor, recipient_email):
    """Request the document, or a new version superseding the current one when what it lists changed.
    Returns (document, created)."""
    current = _latest(donation, kind)
    if current is not None and current.params.get("snapshot") == params["snapshot"]:
        return current, False
    if current is not None and current.status == DocumentStatus.ISSUED:
        document = document_reissue(
            document=current, requested_by=actor, params=params, recipient_email=recipient_email
        )
        return document, True
    document = document_request(
        kind=kind,
        subject=donation,
        title=title,
        owner=donation.donor_organisation,
        recipient_email=recipient_email,
        requested_by=actor,
        params=params,
        supersedes=current,  # a version still being generated is superseded as soon as it is issued
        donation=donation,
    )
    return document, True


def donation_certificates_refresh(*, donation, actor=None, on_demand=False):
    """Issue (or issue a new version of) the donation's summary certificate and, when media were
    destroyed, its destruction certificate. Automatic calls issue only once every received device is
    cleared; `on_demand` issues the state of the day. Locks the donation: two proofs recorded at the
    same time issue one version each, never the same one twice. Returns the documents requested."""
    from donors.models import Donation

    donation = Donation.objects.select_for_update().get(pk=donation.pk)
    cleared = donation_is_cleared(donation)
    if not cleared and not on_demand:
        return []
    snapshot = donation_snapshot(donation)
    if not snapshot["sanitisations"] and not snapshot["destructions"] and not snapshot["declarations"]:
        return []
    email = _donor_email(donation)
    requested = []
    summary, created = _issue_version(
        donation=donation,
        kind=SUMMARY,
        title=_("Certificat récapitulatif d'effacement des données – don %(reference)s")
        % {"reference": donation.reference},
        params={"snapshot": snapshot, "complete": cleared},
        actor=actor,
        recipient_email=email,
    )
    if created:
        requested.append(summary)
    if snapshot["destructions"]:
        destruction_snapshot = {"destructions": snapshot["destructions"]}
        certificate, created = _issue_version(
            donation=donation,
            kind=DESTRUCTION_CERTIFICATE,
            title=_("Certificat de destruction des supports – don %(reference)s")
            % {"reference": donation.reference},
            params={"snapshot": destruction_snapshot},
            actor=actor,
            recipient_email=email,
        )
        if created:
            requested.append(certificate)
    return requested


def after_proof(*, record, actor=None):
    """What a new erasure, destruction or declaration issues: the medium's certificate, and the
    donation's certificates when the donation is now cleared (or a new version of them)."""
    if not isinstance(record, NoStorageDeclaration):
        medium_certificate_issue(record=record, actor=actor)
        device = record.medium.device
    else:
        device = record.device
    donation = _donation_of(device)
    if donation is not None:
        donation_certificates_refresh(donation=donation, actor=actor)


def _summary_context(document):
    donation = document.subject
    snapshot = document.params.get("snapshot", {})
    rows = donation_media_rows(donation, snapshot=snapshot, as_of=document.requested_at)
    declarations = list(
        NoStorageDeclaration.objects.filter(pk__in=snapshot.get("declarations", []))
        .select_related("device", "device__category", "declared_by")
        .order_by("device__public_id")
    )
    return donation, rows, declarations


def build_summary(document):
    donation, rows, declarations = _summary_context(document)
    erased = sum(
        1 for r in rows if r["sanitisation"] and r["sanitisation"].succeeded and not r["destruction"]
    )
    destroyed = sum(1 for r in rows if r["destruction"])
    pending = len(rows) - erased - destroyed
    devices = {r["device"].pk for r in rows} | {d.device_id for d in declarations}
    dates = [
        r["destruction"].performed_at if r["destruction"] else r["sanitisation"].ended_at
        for r in rows
        if r["destruction"] or r["sanitisation"]
    ]
    return Rendered(
        template="refurbishers/pdf/sanitisation_summary.html",
        context={
            "donation": donation,
            "rows": rows,
            "declarations": declarations,
            "counts": {
                "media": len(rows),
                "erased": erased,
                "destroyed": destroyed,
                "pending": pending,
                "devices": len(devices),
            },
            "complete": document.params.get("complete", False),
            "first_date": min(dates) if dates else None,
            "last_date": max(dates) if dates else None,
            "standards": STANDARDS_REFERRED,
        },
        public_facts={
            _("Don"): donation.reference,
            _("Appareils"): len(devices),
            _("Supports"): len(rows),
            _("Supports effacés"): erased,
            _("Supports détruits"): destroyed,
            _("Supports en attente"): pending,
            _("Appareils déclarés sans support"): len(declarations),
            _("Période"): f"{_date(min(dates))} – {_date(max(dates))}" if dates else "",
        },
    )


def build_destruction_certificate(document):
    donation = document.subject
    ids = document.params.get("snapshot", {}).get("destructions", [])
    destructions = list(
        Destruction.objects.filter(pk__in=ids)
        .select_related("medium", "medium__device", "medium__device__category", "organisation")
        .order_by("performed_at", "id")
    )
    from .services import workshop_site

    sites = {}
    for destruction in destructions:
        if destruction.organisation_id not in sites:
            sites[destruction.organisation_id] = workshop_site(destruction.organisation)
        destruction.site = sites[destruction.organisation_id]
    levels = sorted({d.iso_level for d in destructions})
    return Rendered(
        template="refurbishers/pdf/destruction_certificate.html",
        context={"donation": donation, "destructions": destructions, "levels": levels},
        public_facts={
            _("Don"): donation.reference,
            _("Supports détruits"): len(destructions),
            _("Niveaux ISO/IEC 21964"): ", ".join(levels),
            _("Période"): f"{_date(destructions[0].performed_at)} – {_date(destructions[-1].performed_at)}"
            if destructions
            else "",
        },
    )


# --- DEEE treatment ------------------------------------------------------------------------------


def deee_certificates_issue(*, lot, actor=None):
    """One certificate per donation whose devices are in this handed-over lot (once per lot and
    donation). Called in the transaction that hands the lot over."""
    from donors.models import Donation

    donation_ids = set(
        WasteLotLine.objects.filter(lot=lot, device__donation_line__isnull=False).values_list(
            "device__donation_line__donation_id", flat=True
        )
    )
    requested = []
    for donation in Donation.objects.filter(pk__in=donation_ids).order_by("pk"):
        exists = Document.objects.about(lot).filter(kind=DEEE_CERTIFICATE, donation=donation).exists()
        if exists:
            continue
        requested.append(
            document_request(
                kind=DEEE_CERTIFICATE,
                subject=lot,
                title=_("Certificat de traitement DEEE – don %(reference)s, lot %(lot)s")
                % {"reference": donation.reference, "lot": lot.reference},
                owner=donation.donor_organisation,
                recipient_email=_donor_email(donation),
                requested_by=actor,
                donation=donation,
            )
        )
    return requested


def build_deee_certificate(document):
    lot = WasteLot.objects.select_related("organisation").get(pk=document.subject_id)
    donation = document.donation
    lines = list(
        lot.lines.filter(device__donation_line__donation=donation)
        .select_related("device", "device__category")
        .order_by("deee_category", "device__public_id")
    )
    by_category = defaultdict(lambda: {"count": 0, "weight": Decimal(0)})
    for line in lines:
        group = by_category[line.deee_category]
        group["count"] += 1
        group["weight"] += line.weight_kg
    labels = dict(DeeeCategory.choices)
    categories = [
        {"code": code, "label": labels.get(code, code), **values}
        for code, values in sorted(by_category.items())
    ]
    total = sum((line.weight_kg for line in lines), Decimal(0))
    from .services import workshop_site

    return Rendered(
        template="refurbishers/pdf/deee_certificate.html",
        context={
            "donation": donation,
            "lot": lot,
            "lines": lines,
            "categories": categories,
            "total_weight": total,
            "site": workshop_site(lot.organisation),
        },
        public_facts={
            _("Don"): donation.reference,
            _("Lot DEEE"): lot.reference,
            _("Appareils traités"): len(lines),
            _("Poids total (kg)"): f"{total:.2f}".replace(".", ","),
            **{
                _("Catégorie %(code)s° (kg)") % {"code": c["code"]}: f"{c['weight']:.2f}".replace(".", ",")
                for c in categories
                if c["code"]
            },
            _("Opérateur de traitement"): lot.destination_name,
            _("Code de traitement"): lot.treatment_code,
            _("Code déchet"): lot.waste_code,
            _("Remis le"): lot.handover_date.strftime("%d/%m/%Y") if lot.handover_date else "",
        },
    )
