"""People and associations a relais equips, with as little personal data as possible.

A relais LOOKS at a document to decide and keeps only the decision (criterion, type of document
seen, who checked, when, until when). Eligibility criteria are data per département with dates of
effect; quotas are data too. Households are records a relais links people to: the quota counts per
household without storing anyone's family details."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reemploi.models import new_public_id

from .enums import THRESHOLD_KINDS, BeneficiaryKind, CriterionKind, DocumentType


def _in_force(day):
    return Q(effective_from__lte=day) & (Q(effective_until__isnull=True) | Q(effective_until__gte=day))


# --- Eligibility rules ---------------------------------------------------------------------------


class EligibilityCriterionQuerySet(models.QuerySet):
    def in_force(self, day):
        return self.filter(_in_force(day))

    def for_departement(self, departement):
        return self.filter(departement=departement)


class EligibilityCriterion(models.Model):
    """One criterion of a département's list, in force between two dates. A threshold that changes is
    a new row from its date of effect, the old one ended the day before: history stays readable."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    departement = models.ForeignKey(
        "reemploi.Departement", on_delete=models.PROTECT, related_name="eligibility_criteria"
    )
    kind = models.CharField(_("critère"), max_length=20, choices=CriterionKind.choices)
    label = models.CharField(
        _("libellé"), max_length=200, blank=True, help_text=_("Précision affichée aux relais (facultatif).")
    )
    threshold_amount = models.DecimalField(
        _("plafond (€)"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_(
            "Pour le quotient familial : la personne est éligible si son quotient est inférieur ou égal."
        ),
    )
    effective_from = models.DateField(_("en vigueur à partir du"))
    effective_until = models.DateField(_("jusqu'au (inclus)"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = EligibilityCriterionQuerySet.as_manager()

    class Meta:
        ordering = ["departement", "kind", "-effective_from"]
        verbose_name = _("critère d'éligibilité")
        verbose_name_plural = _("critères d'éligibilité")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=CriterionKind.values), name="criterion_kind_valid"),
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True)
                | Q(effective_until__gte=models.F("effective_from")),
                name="criterion_dates_ordered",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=THRESHOLD_KINDS) | Q(threshold_amount__gt=0),
                name="criterion_threshold_when_needed",
            ),
        ]

    def __str__(self):
        text = self.label or self.get_kind_display()
        if self.threshold_amount is not None:
            text += " (≤ {} €)".format(f"{self.threshold_amount:.2f}".replace(".", ","))
        return text

    @property
    def needs_threshold(self):
        return self.kind in THRESHOLD_KINDS

    def in_force_on(self, day):
        return self.effective_from <= day and (self.effective_until is None or day <= self.effective_until)


# --- People --------------------------------------------------------------------------------------


def new_household_reference():
    return "F-" + new_public_id(6)


class Household(models.Model):
    """A household as the relais knows it: a reference people are linked to, and its size. Nothing
    else (no address, no composition): enough to apply « one device per household »."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(
        _("référence du foyer"), max_length=12, unique=True, default=new_household_reference, editable=False
    )
    relais = models.ForeignKey(
        "reemploi.Organisation", on_delete=models.PROTECT, related_name="households", verbose_name=_("relais")
    )
    size = models.PositiveSmallIntegerField(_("taille du foyer"), default=1)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("foyer")
        constraints = [
            models.CheckConstraint(condition=Q(size__gte=1) & Q(size__lte=30), name="household_size_range")
        ]

    def __str__(self):
        return self.reference


class BeneficiaryQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A relais sees its own beneficiaries; the coordinator all of them; nobody else any."""
        from reemploi.enums import OrganisationKind
        from reemploi.permissions import is_coordinator, organisation_ids

        if is_coordinator(user):
            return self
        return self.filter(relais_id__in=organisation_ids(user, kinds=[OrganisationKind.RELAIS]))

    def active(self):
        return self.filter(anonymised_at__isnull=True)

    def inactive_since(self, moment):
        return self.active().filter(last_contact_at__lt=moment)


class Beneficiary(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relais = models.ForeignKey(
        "reemploi.Organisation",
        on_delete=models.PROTECT,
        related_name="beneficiaries",
        verbose_name=_("relais qui l'accompagne"),
    )
    kind = models.CharField(
        _("type"), max_length=20, choices=BeneficiaryKind.choices, default=BeneficiaryKind.PERSON
    )
    first_name = models.CharField(_("prénom"), max_length=100, blank=True)
    last_name = models.CharField(_("nom"), max_length=100, blank=True)
    organisation_name = models.CharField(_("nom de l'association"), max_length=200, blank=True)
    commune = models.ForeignKey(
        "reemploi.Commune", on_delete=models.PROTECT, related_name="+", verbose_name=_("commune de résidence")
    )
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("foyer"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_contact_at = models.DateTimeField(_("dernier contact"), default=timezone.now, db_index=True)
    anonymised_at = models.DateTimeField(_("anonymisé le"), null=True, blank=True)

    objects = BeneficiaryQuerySet.as_manager()

    class Meta:
        ordering = ["last_name", "first_name", "organisation_name", "id"]
        verbose_name = _("bénéficiaire")
        indexes = [models.Index(fields=["relais", "last_name"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=BeneficiaryKind.values), name="beneficiary_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind=BeneficiaryKind.PERSON, household__isnull=False)
                | Q(kind=BeneficiaryKind.ASSOCIATION, household__isnull=True),
                name="person_has_household_association_not",
            ),
            models.CheckConstraint(
                condition=Q(anonymised_at__isnull=False)
                | (Q(kind=BeneficiaryKind.PERSON) & ~Q(last_name=""))
                | (Q(kind=BeneficiaryKind.ASSOCIATION) & ~Q(organisation_name="")),
                name="beneficiary_named_until_anonymised",
            ),
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self):
        if self.anonymised_at:
            return str(_("Bénéficiaire anonymisé"))
        if self.kind == BeneficiaryKind.ASSOCIATION:
            return self.organisation_name
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def is_anonymised(self):
        return self.anonymised_at is not None


class EligibilityCheckQuerySet(models.QuerySet):
    def valid_on(self, day):
        return self.filter(checked_at__date__lte=day, valid_until__gte=day)


class EligibilityCheck(models.Model):
    """The decision, never the document: which criterion, which kind of document was seen, who
    checked, when, and until when the decision holds."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    beneficiary = models.ForeignKey(
        Beneficiary, on_delete=models.PROTECT, related_name="checks", verbose_name=_("bénéficiaire")
    )
    criterion = models.ForeignKey(
        EligibilityCriterion, on_delete=models.PROTECT, related_name="checks", verbose_name=_("critère")
    )
    document_type = models.CharField(_("justificatif vu"), max_length=20, choices=DocumentType.choices)
    threshold_applied = models.DecimalField(
        _("plafond appliqué (€)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    relais = models.ForeignKey("reemploi.Organisation", on_delete=models.PROTECT, related_name="+")
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("vérifié par")
    )
    checked_at = models.DateTimeField(_("vérifié le"), default=timezone.now)
    valid_until = models.DateField(_("valable jusqu'au"))

    objects = EligibilityCheckQuerySet.as_manager()

    class Meta:
        ordering = ["-checked_at", "-id"]
        verbose_name = _("vérification d'éligibilité")
        verbose_name_plural = _("vérifications d'éligibilité")
        constraints = [
            models.CheckConstraint(
                condition=Q(document_type__in=DocumentType.values), name="check_document_type_valid"
            ),
        ]

    def __str__(self):
        return f"{self.criterion} – {self.valid_until:%d/%m/%Y}"

    def is_valid_on(self, day):
        return timezone.localdate(self.checked_at) <= day <= self.valid_until


# --- Prescribers' vouchers -----------------------------------------------------------------------


def new_voucher_code():
    return new_public_id(8)


class VoucherQuerySet(models.QuerySet):
    def visible_to(self, user):
        from reemploi.enums import OrganisationKind
        from reemploi.permissions import is_coordinator, organisation_ids

        if is_coordinator(user):
            return self
        prescribers = organisation_ids(user, kinds=[OrganisationKind.PRESCRIBER])
        relais = organisation_ids(user, kinds=[OrganisationKind.RELAIS])
        return self.filter(Q(prescriber_id__in=prescribers) | Q(redeemed_by_id__in=relais))

    def unredeemed(self):
        return self.filter(redeemed_at__isnull=True)


class Voucher(models.Model):
    """A prescriber (a social worker's structure) orients a person: the voucher stands in for the
    eligibility check. It expires, and one relais redeems it once; a sale then uses it once."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    code = models.CharField(
        _("code du bon"), max_length=12, unique=True, default=new_voucher_code, editable=False
    )
    prescriber = models.ForeignKey(
        "reemploi.Organisation",
        on_delete=models.PROTECT,
        related_name="vouchers",
        verbose_name=_("structure prescriptrice"),
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("émis par")
    )
    first_name = models.CharField(_("prénom"), max_length=100, blank=True)
    last_name = models.CharField(_("nom"), max_length=100, blank=True)
    commune = models.ForeignKey(
        "reemploi.Commune",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("commune de résidence"),
    )
    household_size = models.PositiveSmallIntegerField(_("taille du foyer"), default=1)
    category = models.ForeignKey(
        "reemploi.EquipmentCategory",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("équipement conseillé"),
    )
    issued_at = models.DateTimeField(_("émis le"), default=timezone.now)
    expires_on = models.DateField(_("valable jusqu'au"))
    redeemed_at = models.DateTimeField(_("utilisé le"), null=True, blank=True)
    redeemed_by = models.ForeignKey(
        "reemploi.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="redeemed_vouchers",
        verbose_name=_("relais"),
    )
    beneficiary = models.ForeignKey(
        Beneficiary, on_delete=models.PROTECT, null=True, blank=True, related_name="vouchers"
    )
    anonymised_at = models.DateTimeField(null=True, blank=True)

    objects = VoucherQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_at", "-id"]
        verbose_name = _("bon de prescription")
        verbose_name_plural = _("bons de prescription")
        constraints = [
            models.CheckConstraint(
                condition=Q(redeemed_at__isnull=True, redeemed_by__isnull=True, beneficiary__isnull=True)
                | Q(redeemed_at__isnull=False, redeemed_by__isnull=False, beneficiary__isnull=False),
                name="voucher_redeemed_completely_or_not",
            ),
            models.CheckConstraint(
                condition=Q(household_size__gte=1) & Q(household_size__lte=30),
                name="voucher_household_size_range",
            ),
        ]

    def __str__(self):
        return self.display_code

    @property
    def display_code(self):
        return f"BON-{self.code}"

    @property
    def person_name(self):
        if self.anonymised_at:
            return str(_("Personne anonymisée"))
        return f"{self.first_name} {self.last_name}".strip()

    def is_expired_on(self, day):
        return day > self.expires_on


# --- Quotas --------------------------------------------------------------------------------------


class QuotaPolicyQuerySet(models.QuerySet):
    def in_force(self, day):
        return self.filter(_in_force(day))


class QuotaPolicy(models.Model):
    """How many devices of a category a household may receive over a rolling period. A row without a
    category is the default for every category that has no rule of its own."""

    category = models.ForeignKey(
        "reemploi.EquipmentCategory",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("catégorie"),
        help_text=_("Vide : règle par défaut pour toutes les catégories."),
    )
    max_devices = models.PositiveSmallIntegerField(_("appareils au plus"), default=1)
    period_months = models.PositiveSmallIntegerField(_("sur (mois)"), default=12)
    effective_from = models.DateField(_("en vigueur à partir du"))
    effective_until = models.DateField(_("jusqu'au (inclus)"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)

    objects = QuotaPolicyQuerySet.as_manager()

    class Meta:
        ordering = ["category", "-effective_from"]
        verbose_name = _("règle de quota")
        verbose_name_plural = _("règles de quota")
        constraints = [
            models.CheckConstraint(condition=Q(max_devices__gte=1), name="quota_max_positive"),
            models.CheckConstraint(condition=Q(period_months__gte=1), name="quota_period_positive"),
            models.CheckConstraint(
                condition=Q(effective_until__isnull=True)
                | Q(effective_until__gte=models.F("effective_from")),
                name="quota_dates_ordered",
            ),
        ]

    def __str__(self):
        scope = self.category or _("toute catégorie")
        return _("%(n)s par foyer et par %(months)s mois (%(scope)s)") % {
            "n": self.max_devices,
            "months": self.period_months,
            "scope": scope,
        }


class QuotaExceptionQuerySet(models.QuerySet):
    def valid_on(self, day):
        return self.filter(granted_at__date__lte=day, valid_until__gte=day)


class QuotaException(models.Model):
    """The coordinator lets a household go over its quota for a category, and writes why."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="quota_exceptions", verbose_name=_("foyer")
    )
    category = models.ForeignKey(
        "reemploi.EquipmentCategory", on_delete=models.PROTECT, related_name="+", verbose_name=_("catégorie")
    )
    extra_devices = models.PositiveSmallIntegerField(_("appareils supplémentaires"), default=1)
    reason = models.TextField(_("raison"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("accordée par")
    )
    granted_at = models.DateTimeField(_("accordée le"), default=timezone.now)
    valid_until = models.DateField(_("valable jusqu'au"))

    objects = QuotaExceptionQuerySet.as_manager()

    class Meta:
        ordering = ["-granted_at", "-id"]
        verbose_name = _("exception de quota")
        verbose_name_plural = _("exceptions de quota")
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="quota_exception_has_reason"),
            models.CheckConstraint(condition=Q(extra_devices__gte=1), name="quota_exception_extra_positive"),
        ]

    def __str__(self):
        return f"{self.household} – {self.category} (+{self.extra_devices})"
