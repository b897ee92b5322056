"""Writes at a relais: sales and free gifts, loans and their return, returns under guarantee, the
stock price, the directory profile. Every device move goes through the kernel's lifecycle service
with the record that caused it; receipts are issued through the kernel's document register."""

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from beneficiaries.dates import add_months
from beneficiaries.models import Household
from beneficiaries.services import beneficiary_touch
from reemploi.documents import document_request
from reemploi.enums import DeviceState, OrganisationKind
from reemploi.lifecycle import TransitionError, device_transition
from reemploi.models import Device
from reemploi.permissions import can_write_for, is_coordinator
from refurbishers import resets

from . import rules
from .enums import AfterReturn, PaymentMethod, SaleKind
from .models import GuaranteeReturn, Loan, RelaisProfile, Sale, SaleLine
from .opening_hours import validate_opening_hours

GUARANTEE_MONTHS = 24  # garantie légale de conformité (Code de la consommation, art. L217-3 et s.)
PRESUMPTION_MONTHS = 12  # biens d'occasion : défaut présumé antérieur pendant 12 mois (art. L217-7)


def _require_relais(actor, relais):
    if relais.kind != OrganisationKind.RELAIS:
        raise ValidationError(_("Seul un relais numérique vend, donne ou prête du matériel."))
    if not can_write_for(actor, relais):
        raise PermissionDenied(_("Vous n'agissez pas pour ce relais."))


def _lock_stock(devices, relais):
    """Lock the devices (in a fixed order, so two sales never deadlock) and check they are in stock here."""
    ids = sorted({d.pk for d in devices})
    locked = {
        d.pk: d
        for d in Device.objects.select_for_update()
        .select_related("category")
        .filter(pk__in=ids)
        .order_by("pk")
    }
    for device in locked.values():
        if device.holder_id != relais.pk:
            raise ValidationError(
                _("%(device)s n'est pas dans le stock de %(relais)s.")
                % {"device": device, "relais": relais.name}
            )
        if device.state != DeviceState.IN_STOCK:
            raise ValidationError(
                _("%(device)s n'est plus disponible au relais (état : %(state)s).")
                % {"device": device, "state": device.get_state_display().lower()}
            )
    return locked


# --- Sales ---------------------------------------------------------------------------------------


def sale_create(*, actor, relais, beneficiary, lines, payment_method, kind=SaleKind.SALE, sold_on=None):
    """Sell (or give) devices in stock at `relais` to an eligible beneficiary. `lines` are
    rules.LineRequest(device, price, bundle). Refused with a ValidationError (clear French message)
    when the buyer is not eligible on the day, the household's quota is reached without a coordinator's
    exception, or a price is above its legal cap; the database refuses such a price too."""
    _require_relais(actor, relais)
    if beneficiary.relais_id != relais.pk:
        raise ValidationError(_("Ce bénéficiaire n'est pas suivi par votre relais."))
    today = timezone.localdate()
    day = sold_on or today
    if day > today:
        raise ValidationError({"sold_on": _("La date de la vente ne peut pas être dans le futur.")})
    if not lines:
        raise ValidationError(_("Choisissez au moins un appareil."))
    if len({line.device.pk for line in lines}) != len(lines):
        raise ValidationError(_("Un même appareil figure deux fois dans la vente."))
    for line in lines:
        try:
            line.price = Decimal(line.price).quantize(Decimal("0.01"))
        except (InvalidOperation, TypeError, ValueError):
            line.price = None
        if line.price is None or not line.price.is_finite():
            raise ValidationError(_("Prix illisible pour %(device)s.") % {"device": line.device})
    if kind == SaleKind.GIFT:
        payment_method = PaymentMethod.FREE
        if any(line.price != 0 for line in lines):
            raise ValidationError(_("Un don est gratuit : mettez les prix à 0."))
    elif payment_method == PaymentMethod.FREE and any(line.price != 0 for line in lines):
        raise ValidationError({"payment_method": _("« Gratuit » ne convient qu'à un prix de 0 €.")})
    if payment_method not in PaymentMethod.values:
        raise ValidationError({"payment_method": _("Choisissez un moyen de paiement.")})

    with transaction.atomic():
        household = None
        if beneficiary.household_id:
            # One sale at a time per household: the quota cannot be passed by two desks at once.
            household = Household.objects.select_for_update().get(pk=beneficiary.household_id)
        locked = _lock_stock([line.device for line in lines], relais)
        for line in lines:
            line.device = locked[line.device.pk]
        problems = rules.date_problems(lines, day, today)
        if problems:
            raise ValidationError({"sold_on": problems})
        problem = rules.eligibility_problem(beneficiary, day)
        if problem:
            raise ValidationError(problem)
        problems = rules.price_problems(lines, day)
        if problems:
            raise ValidationError(problems)
        verdicts = rules.quota_verdicts(household, lines, day) if household else []
        problems = rules.quota_problems(verdicts)
        if problems:
            raise ValidationError(problems)
        check, voucher = rules.justification(beneficiary, day)
        sale = Sale(
            relais=relais,
            kind=kind,
            beneficiary=beneficiary,
            household=household,
            sold_on=day,
            payment_method=payment_method,
            total=sum(line.price for line in lines),
            eligibility_check=check,
            voucher=voucher,
            sold_by=actor,
        )
        sale.full_clean()
        try:
            with transaction.atomic():
                sale.save()
                for line in lines:
                    SaleLine.objects.create(
                        sale=sale,
                        device=line.device,
                        price=line.price,
                        bundle=line.bundle,
                        cap_amount=rules.line_cap(line, day),
                    )
        except IntegrityError as error:
            raise ValidationError(
                _("La vente a été refusée par la base de données : %(error)s") % {"error": error}
            ) from error
        used = [e for v in verdicts if v.already + v.asked > v.policy_max for e in v.exceptions]
        if used:
            sale.quota_exceptions.set(used)
        target = DeviceState.GIVEN if kind == SaleKind.GIFT else DeviceState.SOLD
        note = _("Don au relais") if kind == SaleKind.GIFT else _("Vente au relais")
        for line in lines:
            try:
                device_transition(
                    device=line.device,
                    to_state=target,
                    actor=actor,
                    organisation=relais,
                    cause=sale,
                    note=note,
                    sale=sale,
                )
            except TransitionError as error:
                raise ValidationError(error.message, code=error.code) from error
        beneficiary_touch(beneficiary=beneficiary)
        receipt_request(sale=sale, requested_by=actor)
    return sale


def receipt_request(*, sale, requested_by=None):
    # The document register numbers the receipt (VTE-…); the sale's internal key stays internal.
    title = (
        _("Attestation de don du %(date)s") if sale.kind == SaleKind.GIFT else _("Reçu de vente du %(date)s")
    ) % {"date": sale.sold_on.strftime("%d/%m/%Y")}
    return document_request(
        kind="sale_receipt", subject=sale, title=title, owner=sale.relais, requested_by=requested_by
    )


# --- Stock ---------------------------------------------------------------------------------------


def stock_set_price(*, actor, device, price):
    """The relais may change the workshop's proposed price, never above the cap in force today."""
    _require_relais(actor, device.holder)
    if device.state not in (DeviceState.IN_STOCK, DeviceState.LENT):
        raise ValidationError(_("Seul un appareil en stock au relais a un prix modifiable ici."))
    price = Decimal(price).quantize(Decimal("0.01"))
    if price < 0:
        raise ValidationError({"price": _("Le prix ne peut pas être négatif.")})
    cap = rules.cap_for(device, timezone.localdate())
    if cap is not None and price > cap:
        raise ValidationError(
            {"price": _("Le plafond légal pour cette catégorie est de %(cap)s.") % {"cap": rules.money(cap)}}
        )
    Device.objects.filter(pk=device.pk).update(price=price)
    device.price = price
    return device


# --- Loans ---------------------------------------------------------------------------------------


def loan_create(*, actor, relais, device, beneficiary, due_on=None):
    _require_relais(actor, relais)
    if beneficiary.relais_id != relais.pk:
        raise ValidationError(_("Ce bénéficiaire n'est pas suivi par votre relais."))
    if beneficiary.is_anonymised:
        raise ValidationError(_("Ce bénéficiaire a été anonymisé."))
    today = timezone.localdate()
    due_on = due_on or today + timedelta(days=settings.LOAN_DEFAULT_DAYS)
    if due_on < today:
        raise ValidationError({"due_on": _("La date de retour est déjà passée.")})
    with transaction.atomic():
        device = _lock_stock([device], relais)[device.pk]
        loan = Loan(
            relais=relais, device=device, beneficiary=beneficiary, lent_on=today, due_on=due_on, lent_by=actor
        )
        loan.full_clean()
        loan.save()
        try:
            device_transition(
                device=device,
                to_state=DeviceState.LENT,
                actor=actor,
                organisation=relais,
                cause=loan,
                note=_("Prêt jusqu'au %(date)s") % {"date": due_on.strftime("%d/%m/%Y")},
                loan=loan,
            )
        except TransitionError as error:
            raise ValidationError(error.message, code=error.code) from error
        beneficiary_touch(beneficiary=beneficiary)
    return loan


def loan_return(*, actor, loan, note="", after=AfterReturn.LATER, reset=None, refurbisher=None):
    """The borrower brings the device back: the loan is closed and the device is in the relais' stock
    again, but it goes to nobody else before its data is erased (the kernel's custody rule). `after`
    says what is done now: a verified factory reset here (`reset`, a refurbishers.resets.FactoryReset,
    for encrypted smartphones and tablets), a return to the workshop `refurbisher`, or later."""
    _require_relais(actor, loan.relais)
    if after not in AfterReturn.values:
        raise ValidationError({"after": _("Choisissez ce que devient l'appareil après son retour.")})
    if after == AfterReturn.RESET and reset is None:
        raise ValidationError({"after": _("Indiquez comment la réinitialisation a été faite et vérifiée.")})
    if after == AfterReturn.WORKSHOP and refurbisher is None:
        raise ValidationError({"refurbisher": _("Choisissez l'atelier qui effacera l'appareil.")})
    with transaction.atomic():
        loan = Loan.objects.select_for_update().select_related("device").get(pk=loan.pk)
        if loan.returned_at is not None:
            raise ValidationError(_("Ce prêt est déjà clos."))
        loan.returned_at, loan.returned_to, loan.return_note = timezone.now(), actor, note.strip()
        loan.save(update_fields=["returned_at", "returned_to", "return_note"])
        try:
            device_transition(
                device=loan.device,
                to_state=DeviceState.IN_STOCK,
                actor=actor,
                organisation=loan.relais,
                cause=loan,
                note=_("Retour de prêt") + (f" : {loan.return_note}" if loan.return_note else ""),
                loan=loan,
            )
        except TransitionError as error:
            raise ValidationError(error.message, code=error.code) from error
        beneficiary_touch(beneficiary=loan.beneficiary)
        if after == AfterReturn.RESET:
            device_reset(actor=actor, device=loan.device, reset=reset)
        elif after == AfterReturn.WORKSHOP:
            device_send_to_workshop(
                actor=actor,
                device=loan.device,
                refurbisher=refurbisher,
                reason=_("Retour de prêt : effacement des données de l'emprunteur"),
            )
    return loan


# --- Devices back from a person: erasure before the next one ---------------------------------------


def device_reset(*, actor, device, reset):
    """Record a verified factory reset, at the relais, of an encrypted smartphone or tablet in its stock:
    a Purge of each medium (refurbishers.resets) after which it may go to another person."""
    _require_relais(actor, device.holder)
    with transaction.atomic():
        locked = Device.objects.select_for_update().select_related("category", "holder").get(pk=device.pk)
        if locked.state != DeviceState.IN_STOCK:
            raise ValidationError(_("Seul un appareil en stock au relais se réinitialise ici."))
        return resets.factory_reset_record(
            device=locked, actor=actor, organisation=locked.holder, reset=reset
        )


def device_send_to_workshop(*, actor, device, refurbisher, reason):
    """Send a device of the relais' stock back to a workshop (to erase a borrower's data, or for a
    defect): in stock → returned → received, held by the workshop, with the reason in its history."""
    relais = device.holder
    _require_relais(actor, relais)
    if refurbisher is None or refurbisher.kind != OrganisationKind.REFURBISHER:
        raise ValidationError({"refurbisher": _("Choisissez un atelier de reconditionnement.")})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Indiquez pourquoi l'appareil repart à l'atelier.")})
    with transaction.atomic():
        locked = Device.objects.select_for_update().get(pk=device.pk)
        if locked.state != DeviceState.IN_STOCK or locked.holder_id != relais.pk:
            raise ValidationError(_("Seul un appareil en stock au relais repart à l'atelier."))
        note = _("Renvoyé à %(workshop)s : %(reason)s") % {
            "workshop": refurbisher.name,
            "reason": reason[:200],
        }
        device_transition(
            device=locked,
            to_state=DeviceState.RETURNED,
            actor=actor,
            organisation=relais,
            note=note,
            sending_back=True,
        )
        # Relais staff may not move a device into a workshop state themselves: this service checked they
        # act for the relais holding it, and records the move with its reason.
        device_transition(
            device=locked,
            to_state=DeviceState.RECEIVED,
            actor=actor,
            organisation=relais,
            holder=refurbisher,
            note=note,
            check_permission=False,
        )
    device.refresh_from_db()
    return device


# --- Returns under the legal guarantee -----------------------------------------------------------


def return_register(*, actor, sale_line, defect, remedy):
    """The buyer brings a failing device back: sold → returned, the sale line no longer holds it."""
    relais = sale_line.sale.relais
    _require_relais(actor, relais)
    defect = (defect or "").strip()
    if not defect:
        raise ValidationError({"defect": _("Décrivez le défaut constaté.")})
    with transaction.atomic():
        line = SaleLine.objects.select_for_update().select_related("device", "sale").get(pk=sale_line.pk)
        if not line.is_active:
            raise ValidationError(_("Cet appareil a déjà été retourné."))
        end = add_months(line.sale.sold_on, GUARANTEE_MONTHS)
        if timezone.localdate() > end:
            raise ValidationError(
                _("La garantie légale de conformité de 2 ans a pris fin le %(date)s.")
                % {"date": end.strftime("%d/%m/%Y")}
            )
        guarantee_return = GuaranteeReturn(
            sale_line=line, relais=relais, defect=defect, remedy=remedy, received_by=actor
        )
        guarantee_return.full_clean()
        guarantee_return.save()
        line.is_active = False
        line.save(update_fields=["is_active"])
        try:
            device_transition(
                device=line.device,
                to_state=DeviceState.RETURNED,
                actor=actor,
                organisation=relais,
                cause=guarantee_return,
                note=_("Retour sous garantie : %(defect)s") % {"defect": defect[:200]},
                guarantee_return=guarantee_return,
            )
        except TransitionError as error:
            raise ValidationError(error.message, code=error.code) from error
    return guarantee_return


def return_send(*, actor, guarantee_return, refurbisher):
    """Hand the returned device to a refurbisher's workshop: returned → received, held by the workshop."""
    _require_relais(actor, guarantee_return.relais)
    if refurbisher.kind != OrganisationKind.REFURBISHER:
        raise ValidationError({"refurbisher": _("Choisissez un atelier de reconditionnement.")})
    with transaction.atomic():
        locked = (
            GuaranteeReturn.objects.select_for_update()
            .select_related("sale_line__device")
            .get(pk=guarantee_return.pk)
        )
        if locked.sent_at is not None:
            raise ValidationError(_("Cet appareil a déjà été renvoyé à l'atelier."))
        locked.refurbisher, locked.sent_at, locked.sent_by = refurbisher, timezone.now(), actor
        locked.save(update_fields=["refurbisher", "sent_at", "sent_by"])
        # Relais staff may not move a device into a workshop state themselves: this service checked
        # they act for the relais holding it, and records the move with its cause.
        note = _("Renvoyé à %(workshop)s pour diagnostic sous garantie") % {"workshop": refurbisher.name}
        if is_coordinator(actor) and not can_write_for(actor, guarantee_return.relais):
            note += " (coordination)"
        device_transition(
            device=locked.sale_line.device,
            to_state=DeviceState.RECEIVED,
            actor=actor,
            organisation=locked.relais,
            holder=refurbisher,
            cause=locked,
            note=note,
            check_permission=False,
            guarantee_return=locked,
        )
    return locked


# --- Directory -----------------------------------------------------------------------------------


def relais_profile_save(*, actor, site, public_devices=None, latitude=None, longitude=None, **fields):
    """Create or update a relais' profile on its site. Coordinates typed, or the commune's centre
    flagged as approximate."""
    if site.organisation.kind != OrganisationKind.RELAIS:
        raise ValidationError(_("Ce lieu n'appartient pas à un relais numérique."))
    if not can_write_for(actor, site.organisation):
        raise PermissionDenied(_("Vous n'agissez pas pour ce relais."))
    if fields.get("opening_hours"):
        validate_opening_hours(fields["opening_hours"])
    with transaction.atomic():
        profile = RelaisProfile.objects.select_for_update().filter(site=site).first() or RelaisProfile(
            site=site
        )
        for name, value in fields.items():
            setattr(profile, name, value)
        profile.updated_on = timezone.localdate()
        profile.full_clean()
        profile.save()
        if public_devices is not None:
            site.public_devices = public_devices
        if (latitude is None) != (longitude is None):
            raise ValidationError(_("Indiquez la latitude et la longitude, ou aucune des deux."))
        if latitude is not None:
            site.latitude, site.longitude, site.coordinates_approximate = latitude, longitude, False
        else:
            site.latitude = site.longitude = None
            site.coordinates_approximate = False
            site.fill_coordinates_from_commune()
        site.is_relais_shop = True
        site.is_public_place = site.is_public_place or bool(site.public_devices)
        site.full_clean()
        site.save()
    return profile
