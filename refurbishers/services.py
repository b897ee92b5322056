"""Every write of the workshop: audits, storage media, sanitisation and destruction proofs, repairs and
parts, the « ready » decision with its price, harvest for parts, DEEE lots and shipments to relais.

State changes always go through `reemploi.lifecycle.device_transition`, so the guards registered in
`refurbishers.guards` apply whatever the path."""

import hashlib
import os
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from reemploi.documents import document_request
from reemploi.enums import DeviceState as S
from reemploi.enums import OrganisationKind
from reemploi.lifecycle import TRANSITIONS, device_transition
from reemploi.models import Device, DocumentCounter, Site

from . import documents
from .enums import (
    MEDIUM_MATERIAL_CLASS,
    READY_FUNCTIONAL_GRADES,
    TECHNIQUE_LEVELS,
    TECHNIQUE_MEDIA,
    MediumKind,
    PartKind,
    PartOrigin,
    PartStatus,
    RecordSource,
    SanitisationOutcome,
    ShipmentLineStatus,
    ShipmentStatus,
    VerificationMethod,
    VerificationResult,
    WasteLotStatus,
    is_hazardous,
)
from .guards import storage_problems
from .models import (
    Audit,
    Destruction,
    Evidence,
    Grading,
    NoStorageDeclaration,
    Part,
    Repair,
    RepairPart,
    Sanitisation,
    Shipment,
    ShipmentLine,
    StorageMedium,
    WasteLot,
    WasteLotLine,
)

# --- Helpers -------------------------------------------------------------------------------------


def next_reference(counter_kind, prefix):
    """A gapless yearly sequence (e.g. EXP-2026-00012), numbered under a row lock."""
    year = timezone.localdate().year
    counter, _created = DocumentCounter.objects.get_or_create(kind=counter_kind, year=year)
    counter = DocumentCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{prefix}-{year}-{counter.last:05d}"


def workshop_site(organisation):
    return Site.objects.filter(organisation=organisation, is_workshop=True, is_active=True).first()


def actor_name(actor):
    if actor is None:
        return ""
    return actor.get_full_name() or actor.username


def _transition_if_possible(device, to_state, *, actor, note, cause, at=None):
    """Move the device on when its workshop records allow it (e.g. audited → sanitised once every
    medium is erased). Only from the state where this is the natural next step."""
    device.refresh_from_db(fields=["state", "state_changed_at", "holder"])
    if to_state not in TRANSITIONS.get(device.state, set()):
        return False
    device_transition(device=device, to_state=to_state, actor=actor, note=note, cause=cause, at=at)
    return True


# --- Evidence ------------------------------------------------------------------------------------


def evidence_store(*, organisation, kind, name, data, actor=None, import_job=None):
    """Keep a raw report file as unchangeable evidence, with its SHA-256."""
    evidence = Evidence(
        organisation=organisation,
        kind=kind,
        import_job=import_job,
        original_name=os.path.basename(name or "rapport")[:255] or "rapport",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        uploaded_by=actor,
    )
    evidence.file.save(evidence.original_name, ContentFile(data), save=False)
    evidence.full_clean(exclude=["import_job"])
    evidence.save()
    return evidence


# --- Audit ---------------------------------------------------------------------------------------


def audit_record(
    *,
    device,
    actor,
    source=RecordSource.FORM,
    evidence=None,
    organisation=None,
    performed_at=None,
    medium=None,
    no_storage_reason="",
    transition=True,
    **fields,
):
    """Record a diagnostic. `medium` (a dict of StorageMedium fields) records the device's main storage
    medium at the same time; `no_storage_reason` declares that it holds none. A complete diagnostic
    (with grades) moves a received device to « diagnostiqué »."""
    organisation = organisation or device.holder
    with transaction.atomic():
        if medium:
            added = medium_add(device=device, actor=actor, source=source, evidence=evidence, **medium)
            fields.setdefault("storage_summary", medium_summary(added))
        if no_storage_reason:
            no_storage_declare(device=device, actor=actor, reason=no_storage_reason, transition=False)
            fields.setdefault("storage_summary", _("Aucun support de stockage"))
        audit = Audit(
            device=device,
            organisation=organisation,
            source=source,
            evidence=evidence,
            performed_by=actor,
            performed_at=performed_at or timezone.now(),
            **fields,
        )
        audit.full_clean()
        audit.save()
        if transition and audit.is_complete and device.state == S.RECEIVED:
            device_transition(
                device=device, to_state=S.AUDITED, actor=actor, note=_("Diagnostic enregistré"), cause=audit
            )
    return audit


def medium_summary(medium):
    size = f" {medium.capacity_gb} Go" if medium.capacity_gb else ""
    return f"{medium.get_kind_display()}{size}"


# --- Storage media, sanitisation, destruction ----------------------------------------------------


def medium_add(
    *,
    device,
    actor,
    kind,
    serial_number="",
    interface="",
    vendor="",
    model="",
    capacity_bytes=None,
    property_number="",
    source=RecordSource.FORM,
    evidence=None,
    part=None,
    added_at=None,
):
    """Record a storage medium the device holds. It must then be erased or destroyed before the device
    may leave, even if the device's other media already were."""
    medium = StorageMedium(
        device=device,
        kind=kind,
        interface=interface or default_interface(kind),
        vendor=vendor.strip(),
        model=model.strip(),
        serial_number=serial_number.strip(),
        capacity_bytes=capacity_bytes,
        property_number=property_number.strip(),
        source=source,
        evidence=evidence,
        part=part,
        added_by=actor,
        added_at=added_at or timezone.now(),
    )
    medium.full_clean()
    try:
        with transaction.atomic():
            medium.save()
    except IntegrityError as error:
        raise ValidationError(
            {"serial_number": _("Ce numéro de série est déjà celui d'un support installé dans un appareil.")}
        ) from error
    return medium


def default_interface(kind):
    return {
        MediumKind.NVME: "nvme",
        MediumKind.EMMC: "mmc",
        MediumKind.FLASH: "other",
    }.get(kind, "sata")


def medium_detach(*, medium, actor, reason):
    """The medium was taken out of the device (swapped, harvested, destroyed apart)."""
    if medium.detached_at is not None:
        raise ValidationError(_("Ce support a déjà été retiré de l'appareil."))
    if not reason.strip():
        raise ValidationError({"reason": _("Indiquez pourquoi le support est retiré.")})
    medium.detached_at = timezone.now()
    medium.detached_by = actor
    medium.detach_reason = reason.strip()
    medium.full_clean()
    medium.save(update_fields=["detached_at", "detached_by", "detach_reason"])
    return medium


def check_sanitisation(*, medium, level, technique, outcome, verification_result, verification_method=None):
    errors = {}
    if technique in TECHNIQUE_LEVELS and level not in TECHNIQUE_LEVELS[technique]:
        errors["level"] = _(
            "La technique « %(technique)s » relève du niveau %(levels)s (NIST SP 800-88)."
        ) % {
            "technique": dict(_technique_choices())[technique],
            "levels": " / ".join(str(lvl).capitalize() for lvl in TECHNIQUE_LEVELS[technique]),
        }
    if technique in TECHNIQUE_MEDIA and medium.kind not in TECHNIQUE_MEDIA[technique]:
        errors["technique"] = _("Cette technique ne convient pas à un support de type « %(kind)s ».") % {
            "kind": medium.get_kind_display()
        }
    if verification_method == VerificationMethod.NONE and verification_result == VerificationResult.PASSED:
        errors["verification_method"] = _(
            "Une vérification réussie suppose une méthode de vérification : indiquez laquelle, "
            "ou enregistrez l'effacement comme non vérifié."
        )
    elif outcome == SanitisationOutcome.ERASED and verification_result != VerificationResult.PASSED:
        errors["verification_result"] = _(
            "Un support n'est déclaré effacé qu'après une vérification réussie."
        )
    if errors:
        raise ValidationError(errors)


def _technique_choices():
    from .enums import SanitisationTechnique

    return SanitisationTechnique.choices


def sanitisation_record(
    *,
    medium,
    actor,
    organisation=None,
    source=RecordSource.FORM,
    evidence=None,
    transition=True,
    issue_documents=True,
    **fields,
):
    """Record the erasure (or a failed attempt) of one medium. When every medium of an audited device is
    then erased or destroyed, the device moves to « données effacées ». `issue_documents=False` (a reset
    at a relais, after a loan) issues no certificate to the donor: the erased data was a borrower's."""
    if medium.detached_at is not None:
        raise ValidationError(
            _("Ce support a été retiré de l'appareil : son effacement ne compte plus pour lui.")
        )
    device = medium.device
    organisation = organisation or device.holder
    fields.setdefault("operator_name", actor_name(actor))
    fields.setdefault("site", workshop_site(organisation))
    _check_plausible_dates(fields.get("started_at"), fields.get("ended_at"))
    check_sanitisation(
        medium=medium,
        level=fields.get("level"),
        technique=fields.get("technique"),
        outcome=fields.get("outcome"),
        verification_result=fields.get("verification_result"),
        verification_method=fields.get("verification_method"),
    )
    sanitisation = Sanitisation(
        medium=medium,
        organisation=organisation,
        source=source,
        evidence=evidence,
        recorded_by=actor,
        **fields,
    )
    sanitisation.full_clean()
    with transaction.atomic():
        sanitisation.save()
        if transition and sanitisation.succeeded:
            _after_storage_change(device, actor=actor, cause=sanitisation)
        if sanitisation.succeeded and issue_documents:
            documents.after_proof(record=sanitisation, actor=actor)
    return sanitisation


EARLIEST_RECORD = datetime(2000, 1, 1, tzinfo=UTC)


def _check_plausible_dates(started_at, ended_at):
    """An erasure is recorded as it happens or soon after: not before 2000, not in the future."""
    latest = timezone.now() + timedelta(days=1)
    for name, value in (("started_at", started_at), ("ended_at", ended_at)):
        if (
            isinstance(value, datetime)
            and timezone.is_aware(value)
            and not EARLIEST_RECORD <= value <= latest
        ):
            raise ValidationError(
                {name: _("Date invraisemblable : %(date)s.") % {"date": value.date().isoformat()}}
            )


def _after_storage_change(device, *, actor, cause):
    device.refresh_from_db(fields=["state", "state_changed_at", "holder"])
    if device.state == S.AUDITED and not storage_problems(device):
        _transition_if_possible(
            device,
            S.SANITISED,
            actor=actor,
            cause=cause,
            note=_("Tous les supports de stockage sont effacés ou détruits."),
        )


def destruction_record(*, medium, actor, organisation=None, evidence=None, transition=True, **fields):
    """Record the physical destruction of a medium at an ISO/IEC 21964 (DIN 66399) level."""
    if Destruction.objects.filter(medium=medium).exists():
        raise ValidationError(_("La destruction de ce support est déjà enregistrée."))
    material = MEDIUM_MATERIAL_CLASS.get(medium.kind)
    level = fields.get("iso_level", "")
    if material and not level.startswith(f"{material}-"):
        raise ValidationError(
            {
                "iso_level": _(
                    "Pour un support « %(kind)s », le niveau ISO/IEC 21964 est de la classe %(material)s "
                    "(par exemple %(material)s-4 ou %(material)s-5)."
                )
                % {"kind": medium.get_kind_display(), "material": material}
            }
        )
    device = medium.device
    organisation = organisation or device.holder
    fields.setdefault("operator_name", actor_name(actor))
    destruction = Destruction(
        medium=medium, organisation=organisation, evidence=evidence, recorded_by=actor, **fields
    )
    destruction.full_clean()
    with transaction.atomic():
        destruction.save()
        if transition:
            _after_storage_change(device, actor=actor, cause=destruction)
        documents.after_proof(record=destruction, actor=actor)
    return destruction


def no_storage_declare(*, device, actor, reason, organisation=None, declared_at=None, transition=True):
    """Declare, on one's name, that the device holds no storage medium."""
    if not reason or not reason.strip():
        raise ValidationError({"reason": _("Décrivez ce qui a été constaté.")})
    if StorageMedium.objects.attached().filter(device=device).exists():
        raise ValidationError(
            _(
                "Des supports de stockage sont enregistrés pour cet appareil : retirez-les d'abord s'ils n'y sont plus."
            )
        )
    declaration = NoStorageDeclaration(
        device=device,
        organisation=organisation or device.holder,
        declared_by=actor,
        declared_at=declared_at or timezone.now(),
        reason=reason.strip(),
    )
    declaration.full_clean()
    with transaction.atomic():
        declaration.save()
        if transition:
            _after_storage_change(device, actor=actor, cause=declaration)
        documents.after_proof(record=declaration, actor=actor)
    return declaration


def donation_certificates_request(*, donation, actor):
    """Issue the donation's summary certificate (and destruction certificate) as things stand today,
    on the workshop's or the coordinator's demand. Nothing new when what they list has not changed."""
    with transaction.atomic():
        return documents.donation_certificates_refresh(donation=donation, actor=actor, on_demand=True)


# --- Ready ---------------------------------------------------------------------------------------


def device_make_ready(
    *,
    device,
    actor,
    cosmetic_grade,
    functional_grade,
    price,
    has_charger,
    has_storage,
    has_os,
    battery_ok,
    os_name="",
    battery_health_pct=None,
    notes="",
    graded_at=None,
    transition=True,
):
    """Grade the device, set its solidarity price (never above the cap in force today) and make it
    ready. Returns the grading and the warnings to show (accessories the cap assumes but are missing)."""
    if functional_grade not in READY_FUNCTIONAL_GRADES:
        raise ValidationError(
            {"functional_grade": _("Un appareil à réparer ou hors d'usage ne peut pas être déclaré prêt.")}
        )
    category = device.category
    cap = category.cap_on(timezone.localdate())
    if cap is not None and price > cap.amount:
        raise ValidationError(
            {
                "price": _(
                    "Le prix de %(price)s € dépasse le plafond de %(cap)s € en vigueur pour « %(category)s » "
                    "(%(reference)s)."
                )
                % {
                    "price": number_format(price, 2),
                    "cap": number_format(cap.amount, 2),
                    "category": category.name,
                    "reference": cap.legal_reference,
                }
            }
        )
    grading = Grading(
        device=device,
        organisation=device.holder,
        category=category,
        cosmetic_grade=cosmetic_grade,
        functional_grade=functional_grade,
        battery_health_pct=battery_health_pct,
        has_charger=has_charger,
        has_storage=has_storage,
        has_os=has_os,
        battery_ok=battery_ok,
        os_name=os_name,
        price=price,
        cap=cap,
        cap_amount=cap.amount if cap else None,
        notes=notes,
        graded_by=actor,
        graded_at=graded_at or timezone.now(),
    )
    grading.full_clean()
    with transaction.atomic():
        grading.save()
        if transition:
            device_transition(
                device=device,
                to_state=S.READY,
                actor=actor,
                cause=grading,
                note=_("Prêt : grade %(grade)s, %(price)s €")
                % {"grade": cosmetic_grade, "price": number_format(price, 2)},
            )
        Device.objects.filter(pk=device.pk).update(price=price)
        device.price = price
    warnings = []
    missing = grading.missing_accessories
    if missing and cap is not None:
        warnings.append(
            _(
                "Le plafond du décret suppose un appareil complet (chargeur, disque, système, batterie en "
                "état). Il manque : %(missing)s. Pensez à un prix réduit."
            )
            % {"missing": ", ".join(str(m) for m in missing)}
        )
    return grading, warnings


# --- Repairs and parts ---------------------------------------------------------------------------


def repair_record(
    *,
    device,
    actor,
    actions,
    duration_minutes,
    other_cost=0,
    stock_parts=(),
    bought_parts=(),
    notes="",
    performed_at=None,
):
    """Log a repair: actions, time, parts from the workshop's stock (which leave it) or bought. A disk
    taken from the stock becomes a new storage medium of the device: it must be erased there."""
    organisation = device.holder
    with transaction.atomic():
        repair = Repair(
            device=device,
            organisation=organisation,
            performed_by=actor,
            performed_at=performed_at or timezone.now(),
            actions=actions,
            duration_minutes=duration_minutes,
            other_cost=other_cost,
            notes=notes,
        )
        repair.full_clean()
        repair.save()
        ids = [part.pk for part in stock_parts]
        parts = list(
            Part.objects.select_for_update(of=("self",)).filter(pk__in=ids).select_related("source_medium")
        )
        if len(parts) != len(set(ids)):
            raise ValidationError(_("Une pièce choisie n'existe plus."))
        for part in parts:
            if part.organisation_id != organisation.pk or part.status != PartStatus.IN_STOCK:
                raise ValidationError(
                    _("La pièce « %(part)s » n'est pas disponible dans le stock de l'atelier.")
                    % {"part": part}
                )
            RepairPart.objects.create(
                repair=repair, part=part, description=str(part), quantity=1, unit_cost=0
            )
            part.status = PartStatus.USED
            part.save(update_fields=["status"])
            if part.kind == PartKind.STORAGE:
                _install_storage_part(device=device, part=part, actor=actor)
        for line in bought_parts:
            bought = RepairPart(repair=repair, **line)
            bought.full_clean(exclude=["part"])
            bought.save()
    return repair


def _install_storage_part(*, device, part, actor):
    source = part.source_medium
    return medium_add(
        device=device,
        actor=actor,
        kind=source.kind if source else (part.medium_kind or MediumKind.HDD),
        interface=source.interface if source else "",
        vendor=source.vendor if source else "",
        model=source.model if source else part.description[:150],
        serial_number=part.serial_number or (source.serial_number if source else ""),
        capacity_bytes=source.capacity_bytes if source else None,
        source=RecordSource.REPAIR,
        part=part,
    )


def part_add(
    *, organisation, actor, kind, description, serial_number="", origin=PartOrigin.DONATED, medium_kind=""
):
    """Put a donated or bought component into the stock."""
    part = Part(
        organisation=organisation,
        kind=kind,
        description=description,
        serial_number=serial_number,
        origin=origin,
        medium_kind=medium_kind if kind == PartKind.STORAGE else "",
        created_by=actor,
    )
    if kind == PartKind.STORAGE and not medium_kind:
        raise ValidationError({"medium_kind": _("Précisez le type de disque.")})
    part.full_clean()
    part.save()
    return part


def part_discard(*, part, actor):
    if part.status != PartStatus.IN_STOCK:
        raise ValidationError(_("Cette pièce n'est plus en stock."))
    part.status = PartStatus.DISCARDED
    part.save(update_fields=["status"])
    return part


def device_harvest(*, device, actor, components=(), note="", harvested_at=None, transition=True):
    """Dismantle a device for parts: its components (and its storage media, data included) enter the
    workshop's stock, and the device leaves the reuse circuit (« démantelé pour pièces »)."""
    organisation = device.holder
    now = harvested_at or timezone.now()
    parts = []
    with transaction.atomic():
        for medium in StorageMedium.objects.attached().filter(device=device):
            medium_detach(medium=medium, actor=actor, reason=_("Démonté pour pièces"))
            part = Part(
                organisation=organisation,
                kind=PartKind.STORAGE,
                description=medium_summary(medium) + (f" {medium.model}" if medium.model else ""),
                serial_number=medium.serial_number,
                origin=PartOrigin.HARVESTED,
                source_device=device,
                source_medium=medium,
                medium_kind=medium.kind,
                created_by=actor,
                created_at=now,
            )
            part.full_clean()
            part.save()
            parts.append(part)
        for component in components:
            part = Part(
                organisation=organisation,
                origin=PartOrigin.HARVESTED,
                source_device=device,
                created_by=actor,
                created_at=now,
                **component,
            )
            part.full_clean()
            part.save()
            parts.append(part)
        if transition:
            device_transition(
                device=device,
                to_state=S.PARTS,
                actor=actor,
                cause=parts[0] if parts else None,
                note=note
                or ngettext("%(count)d pièce mise en stock", "%(count)d pièces mises en stock", len(parts))
                % {"count": len(parts)},
                at=harvested_at,
            )
    return parts


# --- DEEE lots -----------------------------------------------------------------------------------


DEEE_FROM_STATES = {state for state, targets in TRANSITIONS.items() if S.DEEE in targets}


def waste_lot_create(*, organisation, actor, **fields):
    with transaction.atomic():
        lot = WasteLot(organisation=organisation, created_by=actor, reference="pending", **fields)
        lot.full_clean(exclude=["reference"])
        lot.reference = next_reference("waste_lot", "DEEE")
        lot.save()
    return lot


def waste_lot_add_devices(*, lot, devices, actor):
    """Put devices into an open lot. Returns (added lines, {device: reason} for those refused)."""
    added, refused = [], {}
    with transaction.atomic():
        lot = WasteLot.objects.select_for_update().get(pk=lot.pk)
        if not lot.is_open:
            raise ValidationError(_("Ce lot a déjà été remis : il ne peut plus changer."))
        for device in devices:
            reason = _waste_refusal(lot, device)
            if reason:
                refused[device] = reason
                continue
            added.append(
                WasteLotLine.objects.create(
                    lot=lot,
                    device=device,
                    deee_category=device.category.deee_category,
                    weight_kg=device.effective_weight_kg,
                    added_by=actor,
                )
            )
    return added, refused


def _waste_refusal(lot, device):
    if device.holder_id != lot.organisation_id:
        return _("l'appareil n'est pas détenu par cet atelier")
    if device.state not in DEEE_FROM_STATES:
        return _("un appareil « %(state)s » ne part pas en DEEE") % {"state": device.get_state_display()}
    if WasteLotLine.objects.filter(device=device).exists():
        return _("l'appareil est déjà dans un lot DEEE")
    if ShipmentLine.objects.filter(device=device, status=ShipmentLineStatus.PENDING).exists():
        return _("l'appareil fait partie d'une expédition en cours")
    return ""


def waste_lot_remove_device(*, lot, device, actor):
    lot.refresh_from_db(fields=["status"])
    if not lot.is_open:
        raise ValidationError(_("Ce lot a déjà été remis : il ne peut plus changer."))
    WasteLotLine.objects.filter(lot=lot, device=device).delete()


def waste_lot_hand_over(*, lot, actor, handover_date, bsdd_number="", measured_weight_kg=None, at=None):
    """Hand the lot over to the treatment operator: its devices move to « envoyé en traitement DEEE »."""
    if not lot.is_open:
        raise ValidationError(_("Ce lot a déjà été remis."))
    lines = list(lot.lines.select_related("device"))
    if not lines:
        raise ValidationError(_("Ce lot ne contient aucun appareil."))
    bsdd_number = (bsdd_number or lot.bsdd_number).strip()
    if is_hazardous(lot.waste_code) and not bsdd_number:
        raise ValidationError(
            {
                "bsdd_number": _("Un déchet dangereux (%(code)s) voyage avec un BSDD : indiquez son numéro.")
                % {"code": lot.waste_code}
            }
        )
    with transaction.atomic():
        lot = WasteLot.objects.select_for_update().get(pk=lot.pk)
        lot.status = WasteLotStatus.HANDED_OVER
        lot.handover_date = handover_date
        lot.bsdd_number = bsdd_number
        lot.measured_weight_kg = measured_weight_kg
        lot.handed_over_by = actor
        lot.handed_over_at = at or timezone.now()
        lot.full_clean()
        lot.save()
        for line in lines:
            device_transition(
                device=line.device,
                to_state=S.DEEE,
                actor=actor,
                cause=lot,
                note=_("Lot DEEE %(reference)s remis à %(operator)s")
                % {"reference": lot.reference, "operator": lot.destination_name},
                at=at,
            )
        documents.deee_certificates_issue(lot=lot, actor=actor)
    return lot


# --- Shipments -----------------------------------------------------------------------------------


def shipment_create(*, refurbisher, relais, actor, devices=(), carrier="", notes="", relais_site=None):
    if relais.kind != OrganisationKind.RELAIS:
        raise ValidationError({"relais": _("Le destinataire doit être un relais numérique.")})
    if refurbisher.kind != OrganisationKind.REFURBISHER:
        raise ValidationError({"refurbisher": _("L'expéditeur doit être un atelier de reconditionnement.")})
    if relais_site is None:
        relais_site = (
            Site.objects.filter(organisation=relais, is_active=True).order_by("-is_relais_shop", "pk").first()
        )
    with transaction.atomic():
        shipment = Shipment(
            refurbisher=refurbisher,
            relais=relais,
            relais_site=relais_site,
            carrier=carrier,
            notes=notes,
            created_by=actor,
            reference="pending",
        )
        shipment.full_clean(exclude=["reference"])
        shipment.reference = next_reference("shipment", "EXP")
        shipment.save()
        added, refused = shipment_add_devices(shipment=shipment, devices=devices, actor=actor)
    return shipment, refused


def shipment_add_devices(*, shipment, devices, actor):
    """Add ready devices to a shipment being prepared. Returns (added lines, {device: reason})."""
    added, refused = [], {}
    with transaction.atomic():
        shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
        if not shipment.is_draft:
            raise ValidationError(_("Cette expédition est partie : elle ne peut plus changer."))
        for device in devices:
            reason = _shipment_refusal(shipment, device)
            if reason:
                refused[device] = reason
                continue
            added.append(ShipmentLine.objects.create(shipment=shipment, device=device))
    return added, refused


def _shipment_refusal(shipment, device):
    if device.holder_id != shipment.refurbisher_id:
        return _("l'appareil n'est pas détenu par cet atelier")
    if device.state != S.READY:
        return _("l'appareil n'est pas prêt (état « %(state)s »)") % {"state": device.get_state_display()}
    if ShipmentLine.objects.filter(device=device, status=ShipmentLineStatus.PENDING).exists():
        return _("l'appareil fait déjà partie d'une expédition en cours")
    if WasteLotLine.objects.filter(device=device).exists():
        return _("l'appareil est dans un lot DEEE")
    problems = storage_problems(device)
    if problems:
        return " ".join(problems)
    return ""


def shipment_remove_device(*, shipment, device, actor):
    shipment.refresh_from_db(fields=["status"])
    if not shipment.is_draft:
        raise ValidationError(_("Cette expédition est partie : elle ne peut plus changer."))
    ShipmentLine.objects.filter(shipment=shipment, device=device, status=ShipmentLineStatus.PENDING).delete()


def shipment_dispatch(*, shipment, actor, carrier=None, at=None):
    """Send the shipment: each device moves to « en route vers un relais », held by the relais from
    now on, and the delivery note is issued."""
    with transaction.atomic():
        shipment = (
            Shipment.objects.select_for_update().select_related("relais", "refurbisher").get(pk=shipment.pk)
        )
        if not shipment.is_draft:
            raise ValidationError(_("Cette expédition est déjà partie."))
        lines = list(shipment.lines.select_related("device", "device__category", "device__holder"))
        if not lines:
            raise ValidationError(_("Ajoutez au moins un appareil avant d'expédier."))
        problems = []
        for line in lines:
            if line.device.state != S.READY:
                problems.append(
                    _("%(device)s n'est pas prêt (« %(state)s »)")
                    % {"device": line.device.public_id, "state": line.device.get_state_display()}
                )
            problems += [f"{line.device.public_id} : {problem}" for problem in storage_problems(line.device)]
        if problems:
            raise ValidationError(problems)
        for line in lines:
            device_transition(
                device=line.device,
                to_state=S.IN_TRANSIT,
                actor=actor,
                holder=shipment.relais,
                cause=shipment,
                note=_("Expédition %(reference)s vers %(relais)s")
                % {"reference": shipment.reference, "relais": shipment.relais.name},
                at=at,
            )
        shipment.status = ShipmentStatus.DISPATCHED
        shipment.dispatched_at = at or timezone.now()
        shipment.dispatched_by = actor
        if carrier is not None:
            shipment.carrier = carrier
        shipment.save(update_fields=["status", "dispatched_at", "dispatched_by", "carrier"])
        document_request(
            kind="delivery_note",
            subject=shipment,
            title=_("Bon de livraison %(reference)s") % {"reference": shipment.reference},
            owner=shipment.refurbisher,
            requested_by=actor,
        )
    return shipment


def shipment_receive(*, shipment, actor, received_devices, note="", at=None):
    """The relais confirms what arrived: those devices enter its stock; the others are flagged missing
    (they stay « en route » until found or declared lost)."""
    received_ids = {device.pk for device in received_devices}
    with transaction.atomic():
        shipment = (
            Shipment.objects.select_for_update().select_related("relais", "refurbisher").get(pk=shipment.pk)
        )
        if shipment.status != ShipmentStatus.DISPATCHED:
            raise ValidationError(_("Cette expédition n'attend pas de réception."))
        now = at or timezone.now()
        lines = list(shipment.lines.filter(status=ShipmentLineStatus.PENDING).select_related("device"))
        unknown = received_ids - {line.device_id for line in lines}
        if unknown:
            raise ValidationError(_("Un appareil coché ne fait pas partie de cette expédition."))
        missing = []
        for line in lines:
            if line.device_id in received_ids:
                _receive_line(line, actor=actor, at=now, shipment=shipment)
            else:
                line.status = ShipmentLineStatus.MISSING
                line.save(update_fields=["status"])
                missing.append(line)
        shipment.status = ShipmentStatus.PARTIAL if missing else ShipmentStatus.RECEIVED
        shipment.received_at = now
        shipment.received_by = actor
        shipment.receipt_note = note
        shipment.save(update_fields=["status", "received_at", "received_by", "receipt_note"])
        if missing:
            transaction.on_commit(lambda: _notify_missing(shipment.pk))
    return shipment, missing


def _receive_line(line, *, actor, at, shipment, note=""):
    device_transition(
        device=line.device,
        to_state=S.IN_STOCK,
        actor=actor,
        cause=shipment,
        note=note or _("Reçu au relais (expédition %(reference)s)") % {"reference": shipment.reference},
        at=at,
    )
    line.status = ShipmentLineStatus.RECEIVED
    line.received_at = at
    line.received_by = actor
    line.save(update_fields=["status", "received_at", "received_by"])


def shipment_line_found(*, line, actor, at=None):
    """A device flagged missing turned up after all."""
    with transaction.atomic():
        line = ShipmentLine.objects.select_for_update().select_related("shipment", "device").get(pk=line.pk)
        if line.status != ShipmentLineStatus.MISSING:
            raise ValidationError(_("Cet appareil n'est pas signalé manquant."))
        shipment = line.shipment
        _receive_line(
            line,
            actor=actor,
            at=at or timezone.now(),
            shipment=shipment,
            note=_("Arrivé après la réception de l'expédition %(reference)s")
            % {"reference": shipment.reference},
        )
        if not shipment.lines.filter(status=ShipmentLineStatus.MISSING).exists():
            shipment.status = ShipmentStatus.RECEIVED
            shipment.save(update_fields=["status"])
    return line


def _notify_missing(shipment_id):
    shipment = Shipment.objects.select_related("refurbisher", "relais").get(pk=shipment_id)
    recipients = [email for email in (shipment.refurbisher.email,) if email]
    if not recipients:
        return
    missing = shipment.lines.filter(status=ShipmentLineStatus.MISSING).select_related("device")
    body = _(
        "Le relais %(relais)s a réceptionné l'expédition %(reference)s.\n"
        "Appareils signalés manquants :\n%(devices)s\n"
    ) % {
        "relais": shipment.relais.name,
        "reference": shipment.reference,
        "devices": "\n".join(f"- {line.device.public_id} ({line.device.serial_number})" for line in missing),
    }
    send_mail(
        _("Expédition %(reference)s : appareils manquants") % {"reference": shipment.reference},
        body,
        settings.DEFAULT_FROM_EMAIL,
        recipients,
    )
