"""Every write on donations: submit, qualify, schedule, collect, receive, confirm, message.

Each service runs in one transaction, checks the actor's right, validates (`full_clean`), moves the
donation through its lifecycle with `_move` (row lock, transition table, event log) and sends its
emails once the transaction commits."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from reemploi import documents
from reemploi.enums import DeviceState, OrganisationKind, Role
from reemploi.lifecycle import TransitionError, device_create, device_transition
from reemploi.models import Commune, Device, Document, Membership, Organisation, Site
from reemploi.permissions import memberships
from reemploi.validators import validate_siret_or_siren

from . import notifications, permissions
from .enums import (
    AVAILABILITY_CHOICES,
    AccessRequestStatus,
    Channel,
    CollectionStatus,
    Condition,
    DonationStatus,
    DonorKind,
    HandoverMode,
    MessageSide,
    TaxReceiptStatus,
    Verdict,
)
from .models import (
    AcceptancePolicy,
    CategoryRule,
    Collection,
    Donation,
    DonationEvent,
    DonationLine,
    DonationMessage,
    DonationPhoto,
    DonorAccessRequest,
    Reception,
    ReceptionLine,
    ReferenceCounter,
    TaxReceiptRequest,
)
from .rules import LineInput, Rules
from .tokens import tracking_url

S = DonationStatus
TRANSITIONS = {
    S.SUBMITTED: {S.QUALIFIED, S.REFUSED, S.CANCELLED},
    S.QUALIFIED: {S.SCHEDULED, S.CANCELLED},
    S.SCHEDULED: {S.SCHEDULED, S.COLLECTED, S.CANCELLED},
    S.COLLECTED: {S.RECEIVED},
    S.RECEIVED: {S.CLOSED},
    S.REFUSED: set(),
    S.CLOSED: set(),
    S.CANCELLED: set(),
}
MAX_LINES = 30
MAX_ITEM_LENGTH = 100


class DonationTransitionError(TransitionError):
    """A step the donation's status does not allow (the API answers 409)."""

    def __init__(self, message):
        super().__init__(message, code="invalid_donation_step")


def _now(at):
    return at or timezone.now()


def _actor_label(user):
    return (user.get_full_name() or user.username) if user else ""


def _acting_organisation(user, preferred=None):
    own = memberships(user)
    for membership in own:
        if preferred is not None and membership.organisation_id == preferred.pk:
            return membership.organisation
    return own[0].organisation if own else None


def _event(
    donation,
    title,
    *,
    actor=None,
    note="",
    by_donor=False,
    is_public=True,
    at=None,
    from_status="",
    to_status="",
):
    return DonationEvent.objects.create(
        donation=donation,
        title=title,
        note=note,
        actor=actor,
        by_donor=by_donor,
        is_public=is_public,
        at=_now(at),
        from_status=from_status,
        to_status=to_status,
    )


def _move(donation, to_status, *, title, actor=None, note="", by_donor=False, at=None, **fields):
    """Lock the donation, check the transition table, save the new status (and `fields`) and log it."""
    locked = Donation.objects.select_for_update().get(pk=donation.pk)
    if to_status not in TRANSITIONS[locked.status]:
        raise DonationTransitionError(
            _("Étape impossible : le don %(reference)s est « %(status)s ».")
            % {"reference": locked.reference, "status": locked.get_status_display()}
        )
    from_status = locked.status
    locked.status = to_status
    locked.status_changed_at = _now(at)
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.save(update_fields=["status", "status_changed_at", *fields])
    _event(
        locked,
        title,
        actor=actor,
        note=note,
        by_donor=by_donor,
        at=at,
        from_status=from_status,
        to_status=to_status,
    )
    donation.status, donation.status_changed_at = locked.status, locked.status_changed_at
    for name, value in fields.items():
        setattr(donation, name, value)
    return locked


def _require(status_ok, message):
    if not status_ok:
        raise DonationTransitionError(message)


# --- Reference ------------------------------------------------------------------------------------


def next_reference(year=None):
    """DON-<year>-<6 digits>: sequential per year, without gaps, safe under concurrency (the year's
    counter row is locked until the calling transaction ends)."""
    year = year or timezone.localdate().year
    with transaction.atomic():
        if not ReferenceCounter.objects.filter(year=year).exists():
            try:
                with transaction.atomic():
                    ReferenceCounter.objects.create(year=year)
            except IntegrityError:
                pass  # created meanwhile by a concurrent submission
        counter = ReferenceCounter.objects.select_for_update().get(year=year)
        counter.last += 1
        counter.save(update_fields=["last"])
        return f"DON-{year}-{counter.last:06d}"


# --- Submission -----------------------------------------------------------------------------------


def normalise_siret(value):
    return "".join((value or "").split())


def parse_items(text):
    """Announced or received items typed or scanned one per line: `serial`, or `serial;asset tag`
    (a tab or a comma also separates them)."""
    items = []
    for raw in (text or "").splitlines():
        raw = raw.strip()
        if not raw:
            continue
        for separator in (";", "\t", ","):
            if separator in raw:
                serial, asset_tag = (part.strip() for part in raw.split(separator, 1))
                break
        else:
            serial, asset_tag = raw, ""
        items.append({"serial_number": serial, "asset_tag": asset_tag})
    return items


def format_items(items):
    return "\n".join(
        f"{item['serial_number']};{item['asset_tag']}"
        if item.get("asset_tag")
        else item.get("serial_number", "")
        for item in items
    )


def _clean_items(items, *, label):
    cleaned = []
    for item in items or []:
        serial = str(item.get("serial_number") or "").strip()
        asset_tag = str(item.get("asset_tag") or "").strip()
        if not serial and not asset_tag:
            continue
        if len(serial) > MAX_ITEM_LENGTH or len(asset_tag) > MAX_ITEM_LENGTH:
            raise ValidationError(
                _("%(label)s : un numéro dépasse %(max)s caractères.")
                % {"label": label, "max": MAX_ITEM_LENGTH}
            )
        cleaned.append({"serial_number": serial, "asset_tag": asset_tag})
    return cleaned


def _match_organisation(kind, name, siret):
    """The donor organisation: found by SIRET (or its SIREN), else by name among organisations of
    that kind without SIRET, else created."""
    donor_kinds = DonorKind.organisation_kinds()
    if siret:
        found = (
            Organisation.objects.filter(kind__in=donor_kinds, siret=siret).first()
            or Organisation.objects.filter(kind__in=donor_kinds, siret=siret[:9]).first()
        )
        if found:
            return found
    else:
        found = Organisation.objects.filter(kind=kind, siret="", name__iexact=name.strip()).first()
        if found:
            return found
    organisation = Organisation(kind=kind, name=name.strip(), siret=siret)
    organisation.full_clean()
    organisation.save()
    return organisation


def validate_submission(
    *,
    donor_kind,
    organisation_name,
    siret,
    postal_code,
    commune,
    address,
    handover_mode,
    drop_off_site,
    availability,
    reuse_commitment,
    retired_stock_count,
    privacy_consent,
    lines,
    donor_organisation=None,
    rules=None,
):
    """Check a proposal as a whole and return the rules' assessment. Field errors come back as one
    ValidationError keyed by field name."""
    errors = {}
    if not privacy_consent:
        errors["privacy_consent"] = _(
            "Vous devez accepter la notice de confidentialité pour envoyer votre proposition."
        )
    if donor_kind not in DonorKind.values:
        errors["donor_kind"] = _("Indiquez qui donne.")
    if donor_kind in DonorKind.organisation_kinds() and donor_organisation is None:
        if not (organisation_name or "").strip():
            errors["organisation_name"] = _("Indiquez le nom de l'organisation.")
        if siret:
            try:
                validate_siret_or_siren(siret)
            except ValidationError as error:
                errors["siret"] = error.messages[0]
        elif donor_kind != DonorKind.ASSOCIATION:
            errors["siret"] = _("Indiquez le SIRET de l'organisation (14 chiffres).")
    if donor_kind == DonorKind.PUBLIC_BODY:
        if not reuse_commitment:
            errors["reuse_commitment"] = _(
                "Un organisme public doit prendre acte de l'engagement de réemploi (décret n° 2023-266)."
            )
        if retired_stock_count is None:
            errors["retired_stock_count"] = _(
                "Indiquez le nombre d'équipements réformés en stock au 1er janvier."
            )
    if (
        commune is None
        or not Commune.objects.with_postal_code(postal_code or "").filter(pk=commune.pk).exists()
    ):
        errors["commune"] = _("Choisissez la commune qui correspond au code postal.")
    if handover_mode == HandoverMode.PICKUP and not (address or "").strip():
        errors["address"] = _("Indiquez l'adresse où enlever le matériel.")
    if handover_mode == HandoverMode.DROP_OFF and (
        drop_off_site is None or not drop_off_sites().filter(pk=drop_off_site.pk).exists()
    ):
        errors["drop_off_site"] = _("Choisissez l'atelier où vous déposerez le matériel.")
    if handover_mode not in HandoverMode.values:
        errors["handover_mode"] = _("Choisissez un mode de remise.")
    valid_windows = {key for key, _label in AVAILABILITY_CHOICES}
    if any(window not in valid_windows for window in availability or []):
        errors["availability"] = _("Disponibilité inconnue.")
    if not lines:
        errors["lines"] = _("Ajoutez au moins un équipement.")
    elif len(lines) > MAX_LINES:
        errors["lines"] = _("%(max)s lignes au plus : regroupez les équipements identiques.") % {
            "max": MAX_LINES
        }
    assessment = None
    if lines and "lines" not in errors and donor_kind in DonorKind.values:
        assessment = (rules or Rules.load()).assess(donor_kind, [_line_input(line) for line in lines])
        if not assessment.any_collected:
            errors["lines"] = _(
                "Aucun des équipements proposés ne peut être collecté par le réseau (voir les motifs)."
            )
        elif assessment.drop_off_only and handover_mode == HandoverMode.PICKUP:
            errors["handover_mode"] = assessment.drop_off_reason
    if errors:
        raise ValidationError(errors)
    return assessment


def _line_input(line):
    return LineInput(
        category=line.get("category"),
        quantity=line.get("quantity"),
        age_years=line.get("age_years"),
        condition=line.get("condition"),
        has_charger=bool(line.get("has_charger")),
        holds_data=bool(line.get("holds_data")),
    )


def drop_off_sites():
    return (
        Site.objects.collection_points()
        .filter(organisation__kind=OrganisationKind.REFURBISHER, organisation__is_active=True)
        .select_related("commune", "organisation")
    )


@transaction.atomic
def donation_submit(
    *,
    donor_kind,
    contact_name,
    contact_email,
    postal_code,
    commune,
    handover_mode,
    lines,
    privacy_consent,
    contact_phone="",
    organisation_name="",
    siret="",
    address="",
    access_notes="",
    drop_off_site=None,
    availability=(),
    availability_note="",
    reuse_commitment=False,
    retired_stock_count=None,
    photos=(),
    channel=Channel.WEB,
    actor=None,
    donor_organisation=None,
    at=None,
):
    """Record a proposal: the rules are applied again, the donor gets a reference and a private
    tracking link by email, the coordination is told there is a donation to qualify.

    `lines` are dicts (category, quantity, age_years, condition, has_charger, holds_data,
    description, announced_items); `photos` are `photos.PreparedPhoto`."""
    now = _now(at)
    siret = normalise_siret(siret)
    if donor_organisation is not None:
        donor_kind = donor_organisation.kind
    lines = list(lines)
    for line in lines:
        line["announced_items"] = _clean_items(line.get("announced_items"), label=_("Inventaire"))
        if len(line["announced_items"]) > (line.get("quantity") or 0):
            raise ValidationError(
                {"lines": _("L'inventaire annonce plus d'équipements que la quantité de la ligne.")}
            )
    assessment = validate_submission(
        donor_kind=donor_kind,
        organisation_name=organisation_name,
        siret=siret,
        postal_code=postal_code,
        commune=commune,
        address=address,
        handover_mode=handover_mode,
        drop_off_site=drop_off_site,
        availability=availability,
        reuse_commitment=reuse_commitment,
        retired_stock_count=retired_stock_count,
        privacy_consent=privacy_consent,
        lines=lines,
        donor_organisation=donor_organisation,
    )
    if donor_kind in DonorKind.organisation_kinds() and donor_organisation is None:
        donor_organisation = _match_organisation(donor_kind, organisation_name, siret)
        if donor_organisation.kind != donor_kind:
            raise ValidationError(
                {
                    "donor_kind": _(
                        "Ce SIRET est celui de « %(name)s », enregistré comme « %(kind)s » : choisissez ce type de "
                        "donateur."
                    )
                    % {"name": donor_organisation.name, "kind": donor_organisation.get_kind_display()}
                }
            )
    is_public = donor_kind == DonorKind.PUBLIC_BODY
    donation = Donation(
        reference=next_reference(timezone.localtime(now).year),
        status=DonationStatus.SUBMITTED,
        status_changed_at=now,
        channel=channel,
        donor_kind=donor_kind,
        donor_organisation=donor_organisation,
        organisation_name=(
            organisation_name or (donor_organisation.name if donor_organisation else "")
        ).strip(),
        siret=siret or (donor_organisation.siret if donor_organisation else ""),
        contact_name=contact_name.strip(),
        contact_email=contact_email.strip().lower(),
        contact_phone=(contact_phone or "").strip(),
        # A drop-off needs no address: what was typed before switching modes is not kept.
        address=(address or "").strip() if handover_mode == HandoverMode.PICKUP else "",
        postal_code=postal_code.strip(),
        commune=commune,
        access_notes=(access_notes or "").strip() if handover_mode == HandoverMode.PICKUP else "",
        handover_mode=handover_mode,
        drop_off_site=drop_off_site if handover_mode == HandoverMode.DROP_OFF else None,
        availability=list(availability or []),
        availability_note=(availability_note or "").strip(),
        reuse_commitment_at=now if is_public else None,
        retired_stock_year=timezone.localtime(now).year if is_public else None,
        retired_stock_count=retired_stock_count if is_public else None,
        privacy_consent_at=now,
        created_by=actor,
        created_at=now,
    )
    donation.full_clean()
    donation.save()
    for position, (line, result) in enumerate(zip(lines, assessment.lines, strict=True), start=1):
        record = DonationLine(
            donation=donation,
            position=position,
            category=line["category"],
            quantity=line["quantity"],
            age_years=line.get("age_years"),
            condition=line.get("condition") or Condition.WORKS,
            has_charger=bool(line.get("has_charger")),
            holds_data=bool(line.get("holds_data")),
            description=(line.get("description") or "").strip(),
            announced_items=line["announced_items"],
            verdict=result.verdict,
            verdict_reason=result.reason,
        )
        record.full_clean()
        record.save()
    for photo in photos:
        DonationPhoto.objects.create(
            donation=donation,
            file=ContentFile(photo.content, name=f"photo.{photo.extension}"),
            content_type=photo.content_type,
            size=len(photo.content),
            width=photo.width,
            height=photo.height,
            created_at=now,
        )
    _event(
        donation,
        _("Proposition de don envoyée"),
        actor=actor,
        by_donor=True,
        at=now,
        to_status=DonationStatus.SUBMITTED,
        note=_("Référence %(reference)s.") % {"reference": donation.reference},
    )
    context = {
        "donation": donation,
        "lines": donation.lines.select_related("category"),
        "assessment": assessment,
    }
    notifications.send(
        "submitted", [donation.contact_email], {**context, "tracking_url": tracking_url(donation)}
    )
    notifications.send("to_qualify", notifications.coordination_emails(), context)
    return donation


# --- Qualification --------------------------------------------------------------------------------


@transaction.atomic
def donation_qualify(*, donation, actor, decisions, refurbisher=None, message="", at=None):
    """Accept or refuse each line (with a reason, adjusting quantities) and assign a refurbisher.
    `decisions`: one dict per line: {"line", "decision", "reason", "quantity"}. A donation whose
    lines are all refused is refused. Announced inventories become `expected` devices."""
    if not permissions.can_qualify(actor):
        raise PermissionDenied(_("Seule la coordination qualifie les dons."))
    _require(
        donation.status == DonationStatus.SUBMITTED,
        _("Ce don a déjà été qualifié (statut « %(status)s »).") % {"status": donation.get_status_display()},
    )
    lines = {line.pk: line for line in donation.lines.select_related("category")}
    by_line = {}
    errors = []
    for entry in decisions:
        line = entry["line"]
        if line.pk not in lines:
            raise ValidationError(_("Cette ligne n'appartient pas à ce don."))
        decision = entry.get("decision") or ""
        reason = (entry.get("reason") or "").strip()
        quantity = entry.get("quantity")
        if decision not in Verdict.values:
            errors.append(_("Ligne %(n)s : choisissez une décision.") % {"n": line.position})
            continue
        if decision == Verdict.REFUSED:
            quantity = 0
            reason = reason or (line.verdict_reason if line.verdict == Verdict.REFUSED else "")
            if not reason:
                errors.append(_("Ligne %(n)s : indiquez le motif du refus.") % {"n": line.position})
        else:
            quantity = line.quantity if quantity is None else quantity
            if quantity < 1:
                errors.append(
                    _("Ligne %(n)s : une ligne acceptée compte au moins un équipement.")
                    % {"n": line.position}
                )
            if decision == Verdict.DEEE and not reason:
                reason = line.verdict_reason
        by_line[line.pk] = (decision, reason, quantity)
    missing = [line.position for pk, line in lines.items() if pk not in by_line]
    if missing and not errors:
        errors.append(
            _("Décidez de chaque ligne (lignes %(lines)s sans décision).")
            % {"lines": ", ".join(str(n) for n in missing)}
        )
    collected = [pk for pk, (decision, _r, _q) in by_line.items() if decision in Verdict.collected()]
    if collected and not errors:
        if refurbisher is None:
            errors.append(_("Choisissez l'atelier qui recevra ce don."))
        elif refurbisher.kind != OrganisationKind.REFURBISHER or not refurbisher.is_active:
            errors.append(_("Le don doit être confié à un reconditionneur actif."))
    if errors:
        raise ValidationError(errors)
    now = _now(at)
    for pk, (decision, reason, quantity) in by_line.items():
        line = lines[pk]
        line.decision, line.decision_reason, line.accepted_quantity = decision, reason, quantity
        line.full_clean()
        line.save(update_fields=["decision", "decision_reason", "accepted_quantity"])
    if not collected:
        _move(donation, DonationStatus.REFUSED, title=_("Don refusé"), actor=actor, at=now)
        if message.strip():
            _message(donation, MessageSide.NETWORK, message, author=actor, at=now, notify=False)
        notifications.send(
            "refused",
            [donation.contact_email],
            {
                "donation": donation,
                "lines": lines.values(),
                "message": message,
                "tracking_url": tracking_url(donation),
            },
        )
        return donation
    _move(
        donation,
        DonationStatus.QUALIFIED,
        title=_("Don validé par la coordination"),
        actor=actor,
        at=now,
        note=_("Confié à %(refurbisher)s.") % {"refurbisher": refurbisher.name},
        refurbisher=refurbisher,
    )
    organisation = _acting_organisation(actor)
    for pk in collected:
        line = lines[pk]
        for item in line.announced_items[: line.accepted_quantity]:
            device_create(
                actor=actor,
                organisation=organisation,
                state=DeviceState.EXPECTED,
                holder=refurbisher,
                note=_("Annoncé par le donateur (don %(reference)s)") % {"reference": donation.reference},
                cause=donation,
                at=now,
                category=line.category,
                serial_number=item["serial_number"],
                asset_tag=item["asset_tag"],
                provenance=donation.provenance,
                donor_organisation=donation.donor_organisation,
                donation_line=line,
            )
    if message.strip():
        _message(donation, MessageSide.NETWORK, message, author=actor, at=now, notify=False)
    context = {"donation": donation, "lines": lines.values(), "message": message}
    notifications.send(
        "qualified", [donation.contact_email], {**context, "tracking_url": tracking_url(donation)}
    )
    notifications.send("assigned", notifications.organisation_emails(refurbisher), context)
    return donation


# --- Collection -----------------------------------------------------------------------------------


@transaction.atomic
def donation_schedule(
    *,
    donation,
    actor,
    planned_date,
    mode=None,
    slot_start=None,
    slot_end=None,
    carrier=None,
    carrier_name="",
    site=None,
    note="",
    at=None,
):
    """Plan (or re-plan) the pickup or the drop-off and ask the donor to confirm the slot."""
    if not permissions.can_schedule(actor, donation):
        raise PermissionDenied(_("Vous ne pouvez pas planifier la collecte de ce don."))
    _require(
        donation.status in (DonationStatus.QUALIFIED, DonationStatus.SCHEDULED),
        _("La collecte se planifie une fois le don validé et avant qu'il soit collecté."),
    )
    now = _now(at)
    mode = mode or donation.handover_mode
    errors = {}
    if planned_date < timezone.localtime(now).date():
        errors["planned_date"] = _("La date est déjà passée.")
    if mode == HandoverMode.PICKUP:
        if not donation.address:
            errors["mode"] = _(
                "Le donateur a choisi de déposer son matériel et n'a pas donné d'adresse d'enlèvement : "
                "demandez-la-lui par message avant de planifier un enlèvement."
            )
        if slot_start is None or slot_end is None:
            errors["slot_start"] = _("Indiquez le créneau d'enlèvement (heure de début et de fin).")
        elif slot_end <= slot_start:
            errors["slot_end"] = _("La fin du créneau doit suivre son début.")
        if carrier is None and not (carrier_name or "").strip():
            errors["carrier"] = _("Indiquez qui enlève le matériel.")
        site = None
    else:
        site = site or donation.drop_off_site
        if site is None or not drop_off_sites().filter(pk=site.pk).exists():
            errors["site"] = _("Choisissez l'atelier où le donateur déposera le matériel.")
        carrier, carrier_name = None, ""
    if errors:
        raise ValidationError(errors)
    rescheduling = hasattr(donation, "collection")
    collection = donation.collection if rescheduling else Collection(donation=donation)
    collection.mode = mode
    collection.planned_date = planned_date
    collection.slot_start, collection.slot_end = (
        (slot_start, slot_end) if mode == HandoverMode.PICKUP else (None, None)
    )
    collection.carrier, collection.carrier_name = carrier, (carrier_name or "").strip()
    collection.site = site
    collection.status = CollectionStatus.PROPOSED
    collection.donor_answered_at = None
    collection.donor_note = ""
    collection.note = (note or "").strip()
    collection.full_clean(exclude=["donation"])
    collection.save()
    _move(
        donation,
        DonationStatus.SCHEDULED,
        title=_("Collecte replanifiée") if rescheduling else _("Collecte planifiée"),
        actor=actor,
        at=now,
        note=collection_summary(collection),
    )
    context = {"donation": donation, "collection": collection}
    notifications.send(
        "scheduled", [donation.contact_email], {**context, "tracking_url": tracking_url(donation)}
    )
    network = notifications.organisation_emails(donation.refurbisher)
    if carrier is not None:
        network += notifications.organisation_emails(carrier)
    notifications.send("scheduled_network", network, context)
    return collection


def collection_summary(collection):
    day = collection.planned_date.strftime("%d/%m/%Y")
    if collection.mode == HandoverMode.PICKUP:
        return _("Enlèvement le %(day)s entre %(start)s et %(end)s par %(carrier)s.") % {
            "day": day,
            "start": collection.slot_start.strftime("%H:%M"),
            "end": collection.slot_end.strftime("%H:%M"),
            "carrier": collection.carrier_label,
        }
    return _("Dépôt le %(day)s à %(site)s.") % {"day": day, "site": collection.site.name}


@transaction.atomic
def collection_answer(*, donation, confirm, note="", actor=None, at=None):
    """The donor confirms the proposed slot, or asks for another one (saying why)."""
    donation = Donation.objects.select_for_update().get(pk=donation.pk)
    _require(
        donation.status == DonationStatus.SCHEDULED and hasattr(donation, "collection"),
        _("Il n'y a pas de créneau à confirmer pour ce don."),
    )
    collection = donation.collection
    note = (note or "").strip()
    if not confirm and not note:
        raise ValidationError({"note": _("Dites-nous quand vous êtes disponible.")})
    now = _now(at)
    collection.status = CollectionStatus.CONFIRMED if confirm else CollectionStatus.CHANGE_REQUESTED
    collection.donor_answered_at = now
    collection.donor_note = "" if confirm else note
    collection.save(update_fields=["status", "donor_answered_at", "donor_note"])
    title = _("Créneau confirmé par le donateur") if confirm else _("Le donateur demande un autre créneau")
    # The donor's words go to the message thread, which retention may erase; never to the history.
    _event(donation, title, actor=actor, by_donor=True, at=now)
    if not confirm:
        _message(donation, MessageSide.DONOR, note, author=actor, at=now, notify=False)
    recipients = notifications.coordination_emails() + notifications.organisation_emails(donation.refurbisher)
    notifications.send(
        "slot_answer",
        recipients,
        {"donation": donation, "collection": collection, "confirm": confirm, "note": note},
    )
    return collection


@transaction.atomic
def donation_collect(*, donation, actor, items_count, weight_kg, note="", at=None):
    """The carrier or the refurbisher has the equipment: how many items, how many kilograms."""
    if not permissions.can_mark_collected(actor, donation):
        raise PermissionDenied(_("Vous ne pouvez pas marquer ce don comme collecté."))
    _require(
        donation.status == DonationStatus.SCHEDULED,
        _("Seul un don dont la collecte est planifiée peut être collecté."),
    )
    errors = {}
    if items_count is None or items_count < 1:
        errors["items_count"] = _("Indiquez le nombre d'équipements collectés.")
    if weight_kg is None or weight_kg <= 0:
        errors["weight_kg"] = _("Indiquez le poids collecté en kilogrammes.")
    if errors:
        raise ValidationError(errors)
    now = _now(at)
    collection = Collection.objects.select_for_update().get(donation=donation)
    collection.status = CollectionStatus.DONE
    collection.collected_at = now
    collection.collected_by = actor
    collection.items_count = items_count
    collection.weight_kg = weight_kg
    collection.note = "\n".join(part for part in (collection.note, (note or "").strip()) if part)
    collection.full_clean(exclude=["donation"])
    collection.save()
    dropped = collection.mode == HandoverMode.DROP_OFF
    _move(
        donation,
        DonationStatus.COLLECTED,
        title=_("Matériel déposé à l'atelier") if dropped else _("Matériel collecté"),
        actor=actor,
        at=now,
        note=_("%(count)s équipement(s), %(weight)s kg.")
        % {"count": items_count, "weight": number_format(weight_kg, decimal_pos=2)},
    )
    organisation = _acting_organisation(actor, preferred=donation.refurbisher)
    for device in Device.objects.filter(donation_line__donation=donation, state=DeviceState.EXPECTED):
        device_transition(
            device=device,
            to_state=DeviceState.COLLECTED,
            actor=actor,
            organisation=organisation,
            note=_("Collecté (don %(reference)s)") % {"reference": donation.reference},
            cause=collection,
            check_permission=False,
            at=now,
        )
    notifications.send(
        "collected",
        [donation.contact_email],
        {"donation": donation, "collection": collection, "tracking_url": tracking_url(donation)},
    )
    return collection


# --- Reception ------------------------------------------------------------------------------------


def _key(value):
    return "".join((value or "").split()).upper()


@transaction.atomic
def donation_receive(*, donation, actor, site, lines, extra_lines=(), weight_kg=None, note="", at=None):
    """Count what arrived, line by line, with the serial numbers and asset tags typed or scanned.
    Announced devices move from `expected`/`collected` to `received`; the others are created
    `received`, with their provenance and donation line. Differences are recorded for the donor,
    and the reception sheet is issued.

    `lines`: dicts {"line", "received_quantity", "items": [{serial_number, asset_tag}], "note"};
    `extra_lines`: dicts {"category", "received_quantity", "items", "note"} for what was not announced."""
    if not permissions.can_receive(actor, donation):
        raise PermissionDenied(_("Seul l'atelier affecté (ou la coordination) réceptionne ce don."))
    _require(donation.status == DonationStatus.COLLECTED, _("Seul un don collecté peut être réceptionné."))
    refurbisher = donation.refurbisher
    errors = []
    if site is None or site.organisation_id != refurbisher.pk:
        errors.append(_("Choisissez un site de l'atelier %(name)s.") % {"name": refurbisher.name})
    if weight_kg is not None and weight_kg < 0:
        errors.append(_("Le poids ne peut pas être négatif."))
    donation_lines = {line.pk: line for line in donation.lines.select_related("category")}
    entries = {}
    for entry in lines:
        if entry["line"].pk not in donation_lines:
            raise ValidationError(_("Cette ligne n'appartient pas à ce don."))
        entries[entry["line"].pk] = entry
    seen = set()
    all_entries = [(donation_lines[pk], entry) for pk, entry in entries.items()] + [
        (None, entry) for entry in extra_lines
    ]
    for line, entry in all_entries:
        label = _("Ligne %(n)s") % {"n": line.position} if line else _("Équipement non annoncé")
        entry["items"] = _clean_items(entry.get("items"), label=label)
        count = entry.get("received_quantity")
        if count is None or count < 0:
            errors.append(_("%(label)s : indiquez combien d'équipements sont arrivés.") % {"label": label})
            continue
        if len(entry["items"]) > count:
            errors.append(
                _("%(label)s : %(items)s numéros saisis pour %(count)s équipement(s) reçu(s).")
                % {"label": label, "items": len(entry["items"]), "count": count}
            )
        for item in entry["items"]:
            for value in (item["serial_number"], item["asset_tag"]):
                if value and _key(value) in seen:
                    errors.append(_("Le numéro %(value)s est saisi deux fois.") % {"value": value})
                if value:
                    seen.add(_key(value))
    for entry in extra_lines:
        if entry.get("category") is None and entry.get("received_quantity"):
            errors.append(_("Équipement non annoncé : choisissez sa catégorie."))
    if errors:
        raise ValidationError(errors)

    now = _now(at)
    reception = Reception(
        donation=donation,
        refurbisher=refurbisher,
        site=site,
        received_at=now,
        received_by=actor,
        weight_kg=weight_kg,
        note=(note or "").strip(),
    )
    reception.full_clean(exclude=["donation"])
    reception.save()
    organisation = _acting_organisation(actor, preferred=refurbisher)
    rules = Rules.load()
    position = max((line.position for line in donation_lines.values()), default=0)
    for entry in extra_lines:
        if not entry.get("received_quantity"):
            continue
        position += 1
        verdict = rules.assess_line(
            LineInput(category=entry["category"], quantity=entry["received_quantity"])
        )
        extra = DonationLine.objects.create(
            donation=donation,
            position=position,
            category=entry["category"],
            quantity=entry["received_quantity"],
            verdict=verdict.verdict,
            verdict_reason=verdict.reason,
            decision=verdict.verdict,
            decision_reason=_("Non annoncé, constaté à la réception."),
            accepted_quantity=0,
            added_at_reception=True,
            description=(entry.get("note") or "").strip(),
        )
        entries[extra.pk] = entry
        donation_lines[extra.pk] = extra
    received_total = 0
    for pk, line in sorted(donation_lines.items(), key=lambda pair: pair[1].position):
        announced_devices = list(
            Device.objects.filter(
                donation_line=line, state__in=[DeviceState.EXPECTED, DeviceState.COLLECTED]
            ).select_related("holder", "category")
        )
        entry = entries.get(pk)
        expected = 0 if line.added_at_reception else line.expected_quantity
        if entry is None and not expected and not announced_devices:
            continue  # a refused line, nothing expected and nothing arrived
        entry = entry or {"received_quantity": 0, "items": [], "note": ""}
        by_serial = {_key(d.serial_number): d for d in announced_devices if d.serial_number}
        by_tag = {_key(d.asset_tag): d for d in announced_devices if d.asset_tag}
        matched, unexpected = set(), []
        for item in entry["items"]:
            # A value scanned alone may be either number: try it as both.
            serial, tag = _key(item["serial_number"]), _key(item["asset_tag"])
            device = (
                (serial and (by_serial.get(serial) or (not tag and by_tag.get(serial))))
                or (tag and (by_tag.get(tag) or by_serial.get(tag)))
                or None
            )
            if device is not None and device.pk not in matched:
                matched.add(device.pk)
                device_transition(
                    device=device,
                    to_state=DeviceState.RECEIVED,
                    actor=actor,
                    organisation=organisation,
                    holder=refurbisher,
                    note=_("Réception du don %(reference)s à %(site)s")
                    % {"reference": donation.reference, "site": site.name},
                    cause=reception,
                    check_permission=False,
                    at=now,
                )
                continue
            if announced_devices:
                unexpected.append(item)
            _receive_new_device(donation, line, refurbisher, actor, organisation, reception, now, **item)
        for _index in range(entry["received_quantity"] - len(entry["items"])):
            _receive_new_device(donation, line, refurbisher, actor, organisation, reception, now)
        missing = [
            {"serial_number": d.serial_number, "asset_tag": d.asset_tag, "public_id": d.public_id}
            for d in announced_devices
            if d.pk not in matched
        ]
        ReceptionLine.objects.create(
            reception=reception,
            line=line,
            announced_quantity=expected,
            received_quantity=entry["received_quantity"],
            missing_items=missing,
            unexpected_items=unexpected,
            note=(entry.get("note") or "").strip(),
        )
        received_total += entry["received_quantity"]
    _move(
        donation,
        DonationStatus.RECEIVED,
        title=_("Don réceptionné à l'atelier"),
        actor=actor,
        at=now,
        note=_("%(count)s équipement(s) reçu(s) à %(site)s.") % {"count": received_total, "site": site.name},
    )
    documents.document_request(
        kind="reception_sheet",
        subject=reception,
        title=_("Fiche de réception du don %(reference)s") % {"reference": donation.reference},
        owner=donation.donor_organisation,
        # The platform mails organisations a link to their space; individuals find the sheet on
        # their tracking page, linked from the reception email below.
        recipient_email="" if donation.is_individual or notifications.is_muted() else donation.contact_email,
        requested_by=actor,
        donation=donation,
    )
    notifications.send(
        "received",
        [donation.contact_email],
        {
            "donation": donation,
            "reception": reception,
            "reception_lines": reception.lines.select_related("line__category"),
            "tracking_url": tracking_url(donation),
        },
    )
    return reception


def _receive_new_device(
    donation, line, refurbisher, actor, organisation, reception, at, serial_number="", asset_tag=""
):
    return device_create(
        actor=actor,
        organisation=organisation,
        state=DeviceState.RECEIVED,
        holder=refurbisher,
        note=_("Réception du don %(reference)s") % {"reference": donation.reference},
        cause=reception,
        at=at,
        category=line.category,
        serial_number=serial_number,
        asset_tag=asset_tag,
        provenance=donation.provenance,
        donor_organisation=donation.donor_organisation,
        donation_line=line,
    )


@transaction.atomic
def reception_confirm(*, donation, note="", actor=None, at=None):
    """The donor confirms the count (the reconciliation). Announced devices that never arrived are
    recorded as lost, and the donation is closed."""
    _require(
        donation.status == DonationStatus.RECEIVED,
        _("Le rapprochement se confirme une fois le don réceptionné."),
    )
    now = _now(at)
    reception = Reception.objects.select_for_update().get(donation=donation)
    reception.donor_confirmed_at = now
    reception.donor_confirmed_by = actor
    reception.donor_confirmation_note = (note or "").strip()
    reception.save(update_fields=["donor_confirmed_at", "donor_confirmed_by", "donor_confirmation_note"])
    _lose_missing(donation, reception, actor, now)
    _move(
        donation,
        DonationStatus.CLOSED,
        title=_("Rapprochement confirmé par le donateur"),
        actor=actor,
        by_donor=True,
        at=now,
    )
    recipients = notifications.coordination_emails() + notifications.organisation_emails(donation.refurbisher)
    notifications.send("reconciled", recipients, {"donation": donation, "reception": reception})
    _reissue_reception_sheet(reception, actor)
    return reception


def _reissue_reception_sheet(reception, actor):
    """The sheet issued at reception says the reconciliation is pending: once the donor confirms it,
    a new version says so (the first one stays in the register, superseded). A sheet not generated
    yet needs nothing: it will read the confirmation when it is."""
    sheet = Document.objects.about(reception).filter(kind="reception_sheet").current().first()
    if sheet is not None:
        documents.document_reissue(document=sheet, requested_by=actor)


def _lose_missing(donation, reception, actor, now):
    for device in Device.objects.filter(
        donation_line__donation=donation, state__in=[DeviceState.EXPECTED, DeviceState.COLLECTED]
    ):
        device_transition(
            device=device,
            to_state=DeviceState.LOST,
            actor=actor,
            note=_("Annoncé mais non reçu : rapprochement clos (don %(reference)s).")
            % {"reference": donation.reference},
            cause=reception,
            check_permission=False,
            at=now,
        )


@transaction.atomic
def donation_cancel(*, donation, reason, actor=None, by_donor=False, at=None):
    """Cancel a donation before it is collected (the donor from the link, or the coordinator)."""
    if not by_donor and not permissions.can_cancel(actor, donation):
        raise PermissionDenied(_("Seule la coordination peut annuler un don."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Indiquez pourquoi le don est annulé.")})
    now = _now(at)
    _move(
        donation,
        DonationStatus.CANCELLED,
        title=_("Don annulé par le donateur") if by_donor else _("Don annulé par la coordination"),
        actor=actor,
        by_donor=by_donor,
        at=now,
        # The donor's own words go to the thread (which retention erases), not to the history.
        note="" if by_donor else reason,
    )
    if by_donor:
        _message(donation, MessageSide.DONOR, reason, author=actor, at=now, notify=False)
    for device in Device.objects.filter(donation_line__donation=donation, state=DeviceState.EXPECTED):
        device_transition(
            device=device,
            to_state=DeviceState.LOST,
            actor=actor,
            note=_("Don %(reference)s annulé avant la collecte.") % {"reference": donation.reference},
            cause=donation,
            check_permission=False,
            at=now,
        )
    if by_donor:
        recipients = notifications.coordination_emails() + notifications.organisation_emails(
            donation.refurbisher
        )
        notifications.send("cancelled_network", recipients, {"donation": donation, "reason": reason})
    else:
        notifications.send(
            "cancelled",
            [donation.contact_email],
            {"donation": donation, "reason": reason, "tracking_url": tracking_url(donation)},
        )
    return donation


# --- Tax receipt (companies, CGI art. 238 bis, form 2041-MEC-SD) ---------------------------------


class TaxReceiptRefused(PermissionDenied):
    """This donor may not ask for a tax receipt (an individual, a public body...). Its message is
    shown as is."""


TAX_RECEIPT_STATUSES = [DonationStatus.RECEIVED, DonationStatus.CLOSED]


def tax_receipt_ask(*, donation, declared_value, actor=None, at=None):
    """A company asks for the tax receipt of a received donation, with the value it declares for its
    gift in kind (net book value, in euros, more than zero). The coordination is told."""
    if donation.donor_kind != DonorKind.COMPANY:
        raise TaxReceiptRefused(
            _(
                "Seules les entreprises peuvent demander un reçu fiscal (article 238 bis du CGI) : "
                "les particuliers et les organismes publics ne peuvent pas en bénéficier pour ce don."
            )
        )
    if declared_value is None or declared_value <= 0:
        raise ValidationError(
            {"declared_value": _("Indiquez la valeur de votre don en euros, supérieure à zéro.")}
        )
    with transaction.atomic():
        locked = Donation.objects.select_for_update().get(pk=donation.pk)
        if locked.status not in TAX_RECEIPT_STATUSES:
            raise ValidationError(_("Le reçu fiscal se demande une fois le don réceptionné par l'atelier."))
        if locked.tax_receipt_requests.exclude(status=TaxReceiptStatus.REFUSED).exists():
            raise ValidationError(_("Un reçu fiscal a déjà été demandé pour ce don."))
        receipt = TaxReceiptRequest(
            donation=locked,
            declared_value=declared_value,
            requested_by=actor,
            requested_at=_now(at),
        )
        receipt.full_clean()
        receipt.save()
        _event(
            locked,
            _("Reçu fiscal demandé"),
            actor=actor,
            by_donor=True,
            note=_("Valeur déclarée : %(value)s €")
            % {"value": number_format(declared_value, 2, force_grouping=True)},
            at=at,
        )
        notifications.send(
            "tax_receipt_asked",
            notifications.coordination_emails(),
            {
                "donation": locked,
                "receipt": receipt,
                "detail_url": settings.SITE_URL + f"/dons/{locked.uuid}/",
            },
        )
    return receipt


def _decidable(receipt, actor):
    if not permissions.can_qualify(actor):
        raise PermissionDenied(_("Seule la coordination émet ou refuse les reçus fiscaux."))
    locked = TaxReceiptRequest.objects.select_for_update().select_related("donation").get(pk=receipt.pk)
    if locked.status != TaxReceiptStatus.REQUESTED:
        raise DonationTransitionError(_("Cette demande de reçu fiscal a déjà été traitée."))
    return locked


def tax_receipt_issue(*, receipt, actor, at=None):
    """The coordinator validates the request: the receipt is issued through the document register
    (its number is the receipt's sequential number) and mailed to the donor."""
    if not documents.network_siren():
        raise ValidationError(
            _(
                "Un reçu fiscal doit porter le SIREN du réseau : renseignez NETWORK_SIREN dans la "
                "configuration, ou le SIRET de l'organisation de coordination, avant d'en émettre."
            )
        )
    with transaction.atomic():
        locked = _decidable(receipt, actor)
        donation = locked.donation
        document = documents.document_request(
            kind="tax_receipt",
            subject=locked,
            title=_("Reçu fiscal – don %(reference)s") % {"reference": donation.reference},
            owner=donation.donor_organisation,
            recipient_email=donation.contact_email,
            requested_by=actor,
            donation=donation,
        )
        locked.status, locked.decided_by, locked.decided_at = TaxReceiptStatus.ISSUED, actor, _now(at)
        locked.document = document
        locked.save(update_fields=["status", "decided_by", "decided_at", "document"])
        _event(donation, _("Reçu fiscal validé par la coordination"), actor=actor, at=at)
    return locked


def tax_receipt_refuse(*, receipt, actor, reason, at=None):
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Indiquez le motif du refus, il est envoyé au donateur.")})
    with transaction.atomic():
        locked = _decidable(receipt, actor)
        locked.status, locked.decided_by, locked.decided_at = TaxReceiptStatus.REFUSED, actor, _now(at)
        locked.refusal_reason = reason
        locked.save(update_fields=["status", "decided_by", "decided_at", "refusal_reason"])
        donation = locked.donation
        _event(donation, _("Reçu fiscal refusé"), actor=actor, note=reason, at=at)
        notifications.send(
            "tax_receipt_refused",
            [donation.contact_email],
            {"donation": donation, "reason": reason, "tracking_url": tracking_url(donation)},
        )
    return locked


# --- Retention ------------------------------------------------------------------------------------


CLOSED_STATUSES = [DonationStatus.CLOSED, DonationStatus.REFUSED, DonationStatus.CANCELLED]
ANONYMOUS = "Donateur anonymisé"
ERASED = "(adresse effacée)"


def receptions_close_unanswered(*, now=None):
    """Close the received donations whose donor did not confirm the count within
    DONORS_RECONCILIATION_DAYS: the count stands as the workshop recorded it."""
    now = now or timezone.now()
    limit = now - timedelta(days=settings.DONORS_RECONCILIATION_DAYS)
    closed = 0
    for donation in Donation.objects.filter(status=DonationStatus.RECEIVED, status_changed_at__lt=limit):
        with transaction.atomic():
            reception = Reception.objects.select_for_update().get(donation=donation)
            _lose_missing(donation, reception, None, now)
            _move(
                donation,
                DonationStatus.CLOSED,
                title=_("Rapprochement clos sans réponse du donateur"),
                at=now,
                note=_("Le comptage de l'atelier fait foi après %(days)s jours.")
                % {"days": settings.DONORS_RECONCILIATION_DAYS},
            )
        closed += 1
    return closed


def donations_anonymise(*, now=None):
    """DONORS_RETENTION_YEARS after a donation is closed (or refused, or cancelled), erase what names a
    person: contact, address, access notes, availability, photos, messages. What indicators need stays:
    commune, categories, quantities, weights, dates, devices. Idempotent."""
    now = now or timezone.now()
    limit = now - timedelta(days=365 * settings.DONORS_RETENTION_YEARS)
    donations = Donation.objects.filter(status__in=CLOSED_STATUSES, status_changed_at__lt=limit).exclude(
        contact_name=ANONYMOUS
    )
    count = 0
    for donation in donations:
        with transaction.atomic():
            for photo in donation.photos.all():
                photo.file.delete(save=False)
                photo.delete()
            donation.messages.all().delete()
            Donation.objects.filter(pk=donation.pk).update(
                contact_name=ANONYMOUS,
                contact_email=f"anonyme-{donation.uuid.hex[:12]}@invalid.invalid",
                contact_phone="",
                address=ERASED if donation.address else "",
                access_notes="",
                availability=[],
                availability_note="",
            )
            Collection.objects.filter(donation=donation).update(donor_note="")
            Reception.objects.filter(donation=donation).update(donor_confirmation_note="")
            DonorAccessRequest.objects.filter(donation=donation).exclude(
                status=AccessRequestStatus.PENDING
            ).delete()
        count += 1
    return count


# --- Messages -------------------------------------------------------------------------------------


def _message(donation, side, body, *, author=None, author_name="", at=None, notify=True):
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Écrivez votre message.")})
    if side == MessageSide.DONOR:
        name = author_name or donation.contact_name
    else:
        name = author_name or _actor_label(author)
        organisation = _acting_organisation(author, preferred=donation.refurbisher) if author else None
        if organisation is not None:
            name = f"{name} ({organisation.name})"
    message = DonationMessage(
        donation=donation, side=side, author=author, author_name=name[:150], body=body, created_at=_now(at)
    )
    message.full_clean()
    message.save()
    if notify:
        if side == MessageSide.DONOR:
            recipients = notifications.coordination_emails() + notifications.organisation_emails(
                donation.refurbisher
            )
            notifications.send("message_to_network", recipients, {"donation": donation, "message": message})
        else:
            notifications.send(
                "message_to_donor",
                [donation.contact_email],
                {"donation": donation, "message": message, "tracking_url": tracking_url(donation)},
            )
    return message


@transaction.atomic
def message_post(*, donation, side, body, author=None, at=None):
    """A message in the donation's thread; the other side is told by email. The donor writes from the
    tracking page; the coordinator or the assigned refurbisher from the donation's page."""
    if side == MessageSide.NETWORK and not permissions.can_write_as_network(author, donation):
        raise PermissionDenied(_("Vous ne pouvez pas écrire au donateur de ce don."))
    return _message(donation, side, body, author=author, at=at)


# --- The donor's account --------------------------------------------------------------------------


@transaction.atomic
def donation_claim(*, donation, user):
    """Attach a donation's organisation to a person who holds its tracking link. The first person
    becomes the organisation's administrator; when it already has members, one of its
    administrators (or the coordinator) must accept the request. Returns "member", "already" or
    "requested"."""
    organisation = donation.donor_organisation
    if organisation is None:
        raise ValidationError(_("Un don de particulier se suit avec son lien, sans compte."))
    if Membership.objects.filter(organisation=organisation, user=user).exists():
        return "already"
    locked = Organisation.objects.select_for_update().get(pk=organisation.pk)
    if not Membership.objects.filter(organisation=locked).exists():
        Membership.objects.create(organisation=locked, user=user, role=Role.ADMIN)
        user._membership_cache = None
        _event(donation, _("Espace donateur créé"), actor=user, by_donor=True, is_public=False)
        return "member"
    access_request, created = DonorAccessRequest.objects.get_or_create(
        organisation=locked, user=user, status=AccessRequestStatus.PENDING, defaults={"donation": donation}
    )
    if created:
        admins = list(
            Membership.objects.filter(organisation=locked, role=Role.ADMIN)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
        notifications.send(
            "access_request",
            admins + notifications.coordination_emails(),
            {"access_request": access_request, "organisation": locked, "requester": user},
        )
    return "requested"


@transaction.atomic
def donor_account_create(*, donation, username, password, first_name="", last_name=""):
    """Create a person's account from the tracking link (their email is the donation's contact
    email) and attach the donation's organisation to it."""
    User = get_user_model()
    user = User(username=username, first_name=first_name, last_name=last_name, email=donation.contact_email)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    return user, donation_claim(donation=donation, user=user)


@transaction.atomic
def access_request_decide(*, access_request, actor, approve):
    if not permissions.can_decide_access(actor, access_request):
        raise PermissionDenied(_("Seul un administrateur de l'organisation ou la coordination décide."))
    locked = DonorAccessRequest.objects.select_for_update().get(pk=access_request.pk)
    if locked.status != AccessRequestStatus.PENDING:
        raise DonationTransitionError(_("Cette demande a déjà été traitée."))
    locked.status = AccessRequestStatus.APPROVED if approve else AccessRequestStatus.REFUSED
    locked.decided_by = actor
    locked.decided_at = timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at"])
    if approve:
        Membership.objects.get_or_create(
            organisation=locked.organisation, user=locked.user, defaults={"role": Role.STAFF}
        )
    notifications.send(
        "access_decided", [locked.user.email], {"access_request": locked, "organisation": locked.organisation}
    )
    return locked


# --- Acceptance rules -----------------------------------------------------------------------------


@transaction.atomic
def acceptance_rules_update(*, actor, policy, category_rules):
    """Save the network's acceptance rules: `policy` is a dict of AcceptancePolicy fields,
    `category_rules` a list of dicts {"category", "collected", "collect_broken", "max_age_years",
    "reason"}."""
    if not permissions.can_edit_rules(actor):
        raise PermissionDenied(_("Seule la coordination modifie les règles d'acceptation."))
    now = timezone.now()
    current = AcceptancePolicy.current()
    for name, value in policy.items():
        setattr(current, name, value)
    current.updated_at, current.updated_by = now, actor
    current.full_clean()
    current.save()
    for row in category_rules:
        rule = CategoryRule.objects.filter(category=row["category"]).first() or CategoryRule(
            category=row["category"]
        )
        for name in ("collected", "collect_broken", "max_age_years", "reason"):
            setattr(rule, name, row.get(name))
        rule.reason = rule.reason or ""
        rule.updated_at = now
        rule.full_clean()
        rule.save()
    return current
