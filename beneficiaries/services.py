"""Writes for beneficiaries: criteria, people and households, eligibility decisions, vouchers,
quota exceptions, anonymisation. Each is atomic, validated, and keyword-only."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from reemploi.enums import OrganisationKind
from reemploi.permissions import can_write_for

from .dates import add_months
from .enums import BeneficiaryKind, CriterionKind
from .models import (
    Beneficiary,
    EligibilityCheck,
    EligibilityCriterion,
    Household,
    QuotaException,
    Voucher,
)
from .permissions import can_manage_rules
from .selectors import departement_ids


def euros(value):
    return f"{Decimal(value):.2f}".replace(".", ",") + " €"


# --- Criteria ------------------------------------------------------------------------------------


def criterion_create(
    *, actor, departement, kind, effective_from, threshold_amount=None, label="", effective_until=None
):
    if not can_manage_rules(actor):
        raise PermissionDenied(_("Seule la coordination du réseau fixe les critères d'éligibilité."))
    criterion = EligibilityCriterion(
        departement=departement,
        kind=kind,
        label=label,
        threshold_amount=threshold_amount,
        effective_from=effective_from,
        effective_until=effective_until,
        created_by=actor,
    )
    if criterion.needs_threshold and threshold_amount is None:
        raise ValidationError({"threshold_amount": _("Ce critère demande un plafond en euros.")})
    if not criterion.needs_threshold and threshold_amount is not None:
        raise ValidationError(
            {"threshold_amount": _("Ce critère n'a pas de plafond : laissez le champ vide.")}
        )
    criterion.full_clean()
    criterion.save()
    return criterion


def criterion_end(*, actor, criterion, effective_until):
    """Stop a criterion after `effective_until` (a new threshold is a new criterion from the next day)."""
    if not can_manage_rules(actor):
        raise PermissionDenied(_("Seule la coordination du réseau fixe les critères d'éligibilité."))
    with transaction.atomic():
        criterion = EligibilityCriterion.objects.select_for_update().get(pk=criterion.pk)
        if effective_until < criterion.effective_from:
            raise ValidationError(
                _("La fin ne peut pas précéder l'entrée en vigueur (%(date)s).")
                % {"date": criterion.effective_from.strftime("%d/%m/%Y")}
            )
        criterion.effective_until = effective_until
        criterion.full_clean()
        criterion.save(update_fields=["effective_until"])
    return criterion


# --- People --------------------------------------------------------------------------------------


def _require_relais_writer(actor, relais):
    if relais.kind != OrganisationKind.RELAIS:
        raise ValidationError(_("Seul un relais numérique accompagne des bénéficiaires."))
    if not can_write_for(actor, relais):
        raise PermissionDenied(_("Vous n'agissez pas pour ce relais."))


def beneficiary_create(
    *,
    actor,
    relais,
    commune,
    kind=BeneficiaryKind.PERSON,
    first_name="",
    last_name="",
    organisation_name="",
    household_size=1,
    household=None,
):
    """A person (linked to a new household of `household_size`, or to an existing one of the same
    relais) or an association. Only what the law and the quota need."""
    _require_relais_writer(actor, relais)
    with transaction.atomic():
        if kind == BeneficiaryKind.PERSON:
            if household is None:
                household = Household(relais=relais, size=household_size or 1)
                household.full_clean()
                household.save()
            elif household.relais_id != relais.pk:
                raise ValidationError(_("Ce foyer n'est pas suivi par votre relais."))
        else:
            household = None
        beneficiary = Beneficiary(
            relais=relais,
            kind=kind,
            first_name=first_name.strip() if kind == BeneficiaryKind.PERSON else "",
            last_name=last_name.strip() if kind == BeneficiaryKind.PERSON else "",
            organisation_name=organisation_name.strip() if kind == BeneficiaryKind.ASSOCIATION else "",
            commune=commune,
            household=household,
            created_by=actor,
        )
        if kind == BeneficiaryKind.PERSON and not beneficiary.last_name:
            raise ValidationError({"last_name": _("Indiquez au moins le nom de la personne.")})
        if kind == BeneficiaryKind.ASSOCIATION and not beneficiary.organisation_name:
            raise ValidationError({"organisation_name": _("Indiquez le nom de l'association.")})
        beneficiary.full_clean()
        beneficiary.save()
    return beneficiary


def beneficiary_touch(*, beneficiary, at=None):
    """Record a contact: the retention period starts again from here."""
    at = at or timezone.now()
    Beneficiary.objects.filter(pk=beneficiary.pk, last_contact_at__lt=at).update(last_contact_at=at)
    beneficiary.last_contact_at = max(beneficiary.last_contact_at, at)


# --- Eligibility decisions -----------------------------------------------------------------------


def default_check_validity(day):
    return add_months(day, settings.ELIGIBILITY_VALIDITY_MONTHS)


def eligibility_check_record(
    *, actor, beneficiary, criterion, document_type, declared_amount=None, valid_until=None, at=None
):
    """Record that `actor` saw a document of `document_type` proving `criterion`. The document is not
    kept; for a threshold criterion the amount read is compared and not stored either."""
    _require_relais_writer(actor, beneficiary.relais)
    if beneficiary.is_anonymised:
        raise ValidationError(_("Ce bénéficiaire a été anonymisé."))
    at = at or timezone.now()
    day = timezone.localdate(at)
    if criterion.departement_id not in departement_ids(beneficiary.relais):
        raise ValidationError(
            {"criterion": _("Ce critère ne s'applique pas dans le département de votre relais.")}
        )
    if not criterion.in_force_on(day):
        raise ValidationError(
            {
                "criterion": _("Ce critère n'est pas en vigueur le %(date)s.")
                % {"date": day.strftime("%d/%m/%Y")}
            }
        )
    if (criterion.kind == CriterionKind.ASSOCIATION) != (beneficiary.kind == BeneficiaryKind.ASSOCIATION):
        raise ValidationError(
            {
                "criterion": _(
                    "Ce critère ne convient pas à ce type de bénéficiaire (personne ou association)."
                )
            }
        )
    if criterion.needs_threshold:
        if declared_amount is None:
            raise ValidationError({"declared_amount": _("Indiquez le montant lu sur le justificatif.")})
        if Decimal(declared_amount) > criterion.threshold_amount:
            raise ValidationError(
                {
                    "declared_amount": _(
                        "%(amount)s dépasse le plafond de %(threshold)s en vigueur : la personne n'est pas "
                        "éligible à ce titre."
                    )
                    % {"amount": euros(declared_amount), "threshold": euros(criterion.threshold_amount)}
                }
            )
    longest = default_check_validity(day)
    valid_until = valid_until or longest
    if valid_until < day:
        raise ValidationError({"valid_until": _("La date de fin de validité est déjà passée.")})
    if valid_until > longest:
        raise ValidationError(
            {
                "valid_until": _("Une vérification vaut au plus %(months)s mois (jusqu'au %(date)s).")
                % {"months": settings.ELIGIBILITY_VALIDITY_MONTHS, "date": longest.strftime("%d/%m/%Y")}
            }
        )
    with transaction.atomic():
        check = EligibilityCheck(
            beneficiary=beneficiary,
            criterion=criterion,
            document_type=document_type,
            threshold_applied=criterion.threshold_amount,
            relais=beneficiary.relais,
            checked_by=actor,
            checked_at=at,
            valid_until=valid_until,
        )
        check.full_clean()
        check.save()
        beneficiary_touch(beneficiary=beneficiary, at=at)
    return check


# --- Vouchers ------------------------------------------------------------------------------------


def voucher_issue(
    *, actor, prescriber, last_name, commune, first_name="", household_size=1, category=None, expires_on=None
):
    if prescriber.kind != OrganisationKind.PRESCRIBER:
        raise ValidationError(_("Seule une structure prescriptrice émet des bons."))
    if not can_write_for(actor, prescriber):
        raise PermissionDenied(_("Vous n'agissez pas pour cette structure."))
    today = timezone.localdate()
    expires_on = expires_on or today + timedelta(days=settings.VOUCHER_VALIDITY_DAYS)
    if expires_on < today:
        raise ValidationError({"expires_on": _("La date de validité est déjà passée.")})
    if not last_name.strip():
        raise ValidationError({"last_name": _("Indiquez au moins le nom de la personne.")})
    voucher = Voucher(
        prescriber=prescriber,
        issued_by=actor,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        commune=commune,
        household_size=household_size,
        category=category,
        expires_on=expires_on,
    )
    voucher.full_clean()
    voucher.save()
    return voucher


def normalise_voucher_code(code):
    code = "".join(code.split()).upper()
    return code.removeprefix("BON-").removeprefix("BON")


def voucher_redeem(*, actor, relais, code, beneficiary=None, at=None):
    """A relais takes a voucher in: it becomes the person's proof of eligibility. Without a
    `beneficiary`, one is created from the voucher (with a new household of the voucher's size)."""
    _require_relais_writer(actor, relais)
    at = at or timezone.now()
    with transaction.atomic():
        voucher = Voucher.objects.select_for_update().filter(code=normalise_voucher_code(code)).first()
        if voucher is None:
            raise ValidationError({"code": _("Aucun bon ne porte ce code.")})
        if voucher.redeemed_at is not None:
            raise ValidationError(
                {
                    "code": _("Ce bon a déjà été utilisé le %(date)s.")
                    % {"date": timezone.localtime(voucher.redeemed_at).strftime("%d/%m/%Y")}
                }
            )
        if voucher.is_expired_on(timezone.localdate(at)):
            raise ValidationError(
                {
                    "code": _("Ce bon a expiré le %(date)s.")
                    % {"date": voucher.expires_on.strftime("%d/%m/%Y")}
                }
            )
        if beneficiary is None:
            beneficiary = beneficiary_create(
                actor=actor,
                relais=relais,
                commune=voucher.commune,
                first_name=voucher.first_name,
                last_name=voucher.last_name,
                household_size=voucher.household_size,
            )
        elif beneficiary.relais_id != relais.pk:
            raise ValidationError(_("Ce bénéficiaire n'est pas suivi par votre relais."))
        voucher.redeemed_at, voucher.redeemed_by, voucher.beneficiary = at, relais, beneficiary
        voucher.save(update_fields=["redeemed_at", "redeemed_by", "beneficiary"])
        beneficiary_touch(beneficiary=beneficiary, at=at)
    return voucher


# --- Quota exceptions ----------------------------------------------------------------------------


def quota_exception_grant(*, actor, household, category, reason, valid_until, extra_devices=1):
    if not can_manage_rules(actor):
        raise PermissionDenied(_("Seule la coordination du réseau accorde une exception de quota."))
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ValidationError({"reason": _("Écrivez la raison de cette exception (10 caractères au moins).")})
    if valid_until < timezone.localdate():
        raise ValidationError({"valid_until": _("La date de validité est déjà passée.")})
    exception = QuotaException(
        household=household,
        category=category,
        extra_devices=extra_devices,
        reason=reason,
        granted_by=actor,
        valid_until=valid_until,
    )
    exception.full_clean()
    exception.save()
    return exception


# --- Retention -----------------------------------------------------------------------------------


def retention_limit(now=None):
    """Contacts before this moment are too old: the person is anonymised."""
    now = timezone.localtime(now or timezone.now())
    day = add_months(now.date(), -settings.BENEFICIARY_RETENTION_MONTHS)
    return now.replace(year=day.year, month=day.month, day=day.day)


def beneficiary_anonymise(*, beneficiary, at=None):
    """Erase who the person is; keep what indicators need: commune, household size, the dates and
    categories of what they received (sales and loans point to the anonymous record)."""
    at = at or timezone.now()
    with transaction.atomic():
        Beneficiary.objects.filter(pk=beneficiary.pk, anonymised_at__isnull=True).update(
            first_name="", last_name="", organisation_name="", anonymised_at=at
        )
        Voucher.objects.filter(beneficiary=beneficiary, anonymised_at__isnull=True).update(
            first_name="", last_name="", anonymised_at=at
        )
    beneficiary.refresh_from_db()
    return beneficiary


def anonymise_inactive(*, now=None):
    """Anonymise every beneficiary whose last contact is older than the retention period, and the
    vouchers never redeemed that expired that long ago. Idempotent; returns how many people."""
    now = now or timezone.now()
    limit = retention_limit(now)
    count = 0
    for beneficiary in Beneficiary.objects.inactive_since(limit).only("pk", "last_contact_at"):
        beneficiary_anonymise(beneficiary=beneficiary, at=now)
        count += 1
    Voucher.objects.unredeemed().filter(
        anonymised_at__isnull=True, expires_on__lt=timezone.localdate(limit)
    ).update(first_name="", last_name="", anonymised_at=now)
    return count
