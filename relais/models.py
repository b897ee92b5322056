"""What happens at a relais numérique: its profile in the directory, sales (and free gifts) under the
decree's caps, loans, and returns under the legal guarantee.

The cap is enforced three times: the form and the API refuse a price above it with a clear message,
the lifecycle guard on `sold` refuses it again, and the database refuses it whoever writes (triggers
on SQLite and PostgreSQL that look up the kernel's PriceCap in force on the sale date for the
device's category, see migration 0002)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reemploi.enums import Provenance
from reemploi.models import DatedRule

from .enums import SERVICE_SOLIDARITY_EQUIPMENT, PaymentMethod, ReturnRemedy, SaleKind

# --- Directory -----------------------------------------------------------------------------------


class RelaisProfile(models.Model):
    """A relais' public face, on the kernel's Site: when it opens (OpenStreetMap `opening_hours`),
    whether it moves (a bus), its national programmes and services. The devices accessible to the
    public on site are counted on `Site.public_devices`."""

    site = models.OneToOneField(
        "reemploi.Site", on_delete=models.PROTECT, related_name="relais_profile", verbose_name=_("lieu")
    )
    opening_hours = models.CharField(
        _("horaires (format OpenStreetMap)"),
        max_length=255,
        blank=True,
        help_text=_("Par exemple : Mo-Fr 09:00-12:00,14:00-17:30; Sa 09:00-12:00; PH off"),
    )
    is_itinerant = models.BooleanField(_("itinérant (bus, permanence mobile)"), default=False)
    sells_equipment = models.BooleanField(_("vend du matériel à prix solidaire"), default=True)
    lends_equipment = models.BooleanField(_("prête du matériel"), default=False)
    programmes = models.JSONField(_("dispositifs et programmes nationaux"), default=list, blank=True)
    services = models.JSONField(_("services"), default=list, blank=True)
    phone = models.CharField(_("téléphone"), max_length=20, blank=True, help_text=_("Format +33XXXXXXXXX"))
    email = models.EmailField(_("courriel"), blank=True)
    website = models.URLField(_("site web"), blank=True)
    summary = models.CharField(_("présentation (280 caractères)"), max_length=280, blank=True)
    pivot = models.CharField(
        _("SIRET, RNA ou RIDET du lieu"),
        max_length=14,
        blank=True,
        help_text=_(
            "Donnée pivot du schéma national ; vide : le SIRET de la structure. Sert aux lieux sans SIRET "
            "(numéro RNA d'une association, RIDET)."
        ),
    )
    external_id = models.CharField(
        _("identifiant dans le schéma de médiation numérique"),
        max_length=100,
        unique=True,
        null=True,
        blank=True,
    )
    updated_on = models.DateField(_("mis à jour le"), default=timezone.localdate)

    # What a relais edits on its profile (screen and API); the coordinates live on the Site.
    EDITABLE_FIELDS = (
        "opening_hours",
        "is_itinerant",
        "sells_equipment",
        "lends_equipment",
        "services",
        "programmes",
        "phone",
        "email",
        "website",
        "summary",
        "pivot",
    )

    class Meta:
        verbose_name = _("profil de relais")
        verbose_name_plural = _("profils de relais")

    def __str__(self):
        return str(self.site)

    @property
    def mednum_pivot(self):
        return self.site.organisation.siret or self.pivot

    @property
    def mednum_id(self):
        return self.external_id or f"reemploi-{self.site.uuid}"

    def mednum_services(self):
        """The profile's services, with the solidarity equipment service exactly when it sells."""
        services = [s for s in self.services if s != SERVICE_SOLIDARITY_EQUIPMENT]
        if self.sells_equipment:
            services.append(SERVICE_SOLIDARITY_EQUIPMENT)
        return services


# --- Cap policy ----------------------------------------------------------------------------------


class CapPolicy(DatedRule):
    """Which provenances the decree's caps bind, as the network decides. The law binds equipment given
    by public bodies; networks such as LaCollecte.tech cap everything, which is the default: with no
    row for a provenance, its devices are capped. Append-only: a change is a new row with its date of
    effect (today or later) and the decision behind it (`note`); rows are never updated nor deleted."""

    provenance = models.CharField(_("provenance"), max_length=20, choices=Provenance.choices)
    is_capped = models.BooleanField(_("plafonné"), default=True)
    note = models.CharField(_("décision et motif"), max_length=255, blank=True)

    class Meta:
        ordering = ["provenance", "-effective_from"]
        verbose_name = _("politique de plafonnement")
        verbose_name_plural = _("politique de plafonnement")
        constraints = [
            models.UniqueConstraint(
                fields=["provenance", "effective_from"], name="unique_cap_policy_per_date"
            ),
            models.CheckConstraint(
                condition=Q(provenance__in=Provenance.values), name="cap_policy_provenance_valid"
            ),
        ]

    def __str__(self):
        state = _("plafonné") if self.is_capped else _("non plafonné")
        return f"{self.get_provenance_display()} : {state} ({self.effective_from:%d/%m/%Y})"


# --- Sales ---------------------------------------------------------------------------------------


class SaleQuerySet(models.QuerySet):
    def visible_to(self, user):
        from reemploi.enums import OrganisationKind
        from reemploi.permissions import is_coordinator, organisation_ids

        if is_coordinator(user):
            return self
        return self.filter(relais_id__in=organisation_ids(user, kinds=[OrganisationKind.RELAIS]))


class Sale(models.Model):
    """One transaction at a relais: one or several devices to one beneficiary, at solidarity prices
    (or free), justified by a valid eligibility check or a prescriber's voucher."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relais = models.ForeignKey(
        "reemploi.Organisation", on_delete=models.PROTECT, related_name="sales", verbose_name=_("relais")
    )
    kind = models.CharField(_("type"), max_length=10, choices=SaleKind.choices, default=SaleKind.SALE)
    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.PROTECT,
        related_name="sales",
        verbose_name=_("bénéficiaire"),
    )
    household = models.ForeignKey(
        "beneficiaries.Household", on_delete=models.PROTECT, null=True, blank=True, related_name="sales"
    )
    sold_on = models.DateField(_("date de la vente"), default=timezone.localdate, db_index=True)
    sold_at = models.DateTimeField(_("enregistrée le"), default=timezone.now)
    payment_method = models.CharField(_("moyen de paiement"), max_length=20, choices=PaymentMethod.choices)
    total = models.DecimalField(_("total TTC (€)"), max_digits=8, decimal_places=2, default=0)
    eligibility_check = models.ForeignKey(
        "beneficiaries.EligibilityCheck",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sales",
        verbose_name=_("vérification d'éligibilité"),
    )
    voucher = models.OneToOneField(
        "beneficiaries.Voucher",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="sale",
        verbose_name=_("bon de prescription"),
    )
    quota_exceptions = models.ManyToManyField(
        "beneficiaries.QuotaException",
        blank=True,
        related_name="sales",
        verbose_name=_("exceptions de quota"),
    )
    sold_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("vendu par")
    )

    objects = SaleQuerySet.as_manager()

    class Meta:
        ordering = ["-sold_at", "-id"]
        verbose_name = _("vente")
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=SaleKind.values), name="sale_kind_valid"),
            models.CheckConstraint(
                condition=Q(payment_method__in=PaymentMethod.values), name="sale_payment_method_valid"
            ),
            models.CheckConstraint(
                condition=Q(eligibility_check__isnull=False) | Q(voucher__isnull=False),
                name="sale_is_justified",
            ),
            models.CheckConstraint(condition=Q(total__gte=0), name="sale_total_positive"),
            models.CheckConstraint(
                condition=~Q(kind=SaleKind.GIFT) | (Q(total=0) & Q(payment_method=PaymentMethod.FREE)),
                name="gift_is_free",
            ),
        ]

    def __str__(self):
        return _("%(kind)s du %(date)s") % {
            "kind": self.get_kind_display(),
            "date": self.sold_on.strftime("%d/%m/%Y"),
        }

    @property
    def receipt(self):
        from reemploi.models import Document

        return Document.objects.about(self).filter(kind="sale_receipt").order_by("-requested_at").first()


class SaleLine(models.Model):
    """A device in a sale. Lines sharing a `bundle` number form the decree's desktop set (unit, screen,
    keyboard, mouse sold together), capped as ONE at the desktop cap."""

    sale = models.ForeignKey(Sale, on_delete=models.PROTECT, related_name="lines")
    device = models.ForeignKey(
        "reemploi.Device", on_delete=models.PROTECT, related_name="sale_lines", verbose_name=_("appareil")
    )
    price = models.DecimalField(_("prix TTC (€)"), max_digits=8, decimal_places=2)
    cap_amount = models.DecimalField(
        _("plafond appliqué (€)"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Pour information ; la base de données vérifie le plafond en vigueur elle-même."),
    )
    bundle = models.PositiveSmallIntegerField(_("ensemble PC fixe n°"), null=True, blank=True)
    is_active = models.BooleanField(
        _("en cours"), default=True, help_text=_("Faux une fois l'appareil retourné.")
    )

    class Meta:
        ordering = ["sale", "bundle", "id"]
        verbose_name = _("ligne de vente")
        constraints = [
            models.UniqueConstraint(
                fields=["device"], condition=Q(is_active=True), name="device_sold_once_unless_returned"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="sale_line_price_positive"),
        ]

    def __str__(self):
        return f"{self.device} – {self.price} €"


# --- Loans ---------------------------------------------------------------------------------------


class LoanQuerySet(models.QuerySet):
    def visible_to(self, user):
        from reemploi.enums import OrganisationKind
        from reemploi.permissions import is_coordinator, organisation_ids

        if is_coordinator(user):
            return self
        return self.filter(relais_id__in=organisation_ids(user, kinds=[OrganisationKind.RELAIS]))

    def open(self):
        return self.filter(returned_at__isnull=True)

    def overdue(self, day=None):
        return self.open().filter(due_on__lt=day or timezone.localdate())


class Loan(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    relais = models.ForeignKey("reemploi.Organisation", on_delete=models.PROTECT, related_name="loans")
    device = models.ForeignKey(
        "reemploi.Device", on_delete=models.PROTECT, related_name="loans", verbose_name=_("appareil")
    )
    beneficiary = models.ForeignKey(
        "beneficiaries.Beneficiary",
        on_delete=models.PROTECT,
        related_name="loans",
        verbose_name=_("emprunteur"),
    )
    lent_on = models.DateField(_("prêté le"), default=timezone.localdate)
    due_on = models.DateField(_("à rendre le"))
    lent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    returned_at = models.DateTimeField(_("rendu le"), null=True, blank=True)
    returned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    return_note = models.CharField(_("état au retour"), max_length=255, blank=True)

    objects = LoanQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("prêt")
        constraints = [
            models.UniqueConstraint(
                fields=["device"], condition=Q(returned_at__isnull=True), name="device_lent_once"
            ),
            models.CheckConstraint(condition=Q(due_on__gte=models.F("lent_on")), name="loan_due_after_start"),
        ]

    def __str__(self):
        return f"{self.device} → {self.due_on:%d/%m/%Y}"

    @property
    def is_overdue(self):
        return self.returned_at is None and self.due_on < timezone.localdate()


# --- Returns under the legal guarantee -----------------------------------------------------------


class GuaranteeReturnQuerySet(models.QuerySet):
    def visible_to(self, user):
        from reemploi.enums import OrganisationKind
        from reemploi.permissions import is_coordinator, organisation_ids

        if is_coordinator(user):
            return self
        return self.filter(
            Q(relais_id__in=organisation_ids(user, kinds=[OrganisationKind.RELAIS]))
            | Q(refurbisher_id__in=organisation_ids(user, kinds=[OrganisationKind.REFURBISHER]))
        )


class GuaranteeReturn(models.Model):
    """A sold device that fails goes back: sold → returned at the relais, then → received at a
    refurbisher's workshop. The device's history keeps every step."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sale_line = models.OneToOneField(SaleLine, on_delete=models.PROTECT, related_name="guarantee_return")
    relais = models.ForeignKey("reemploi.Organisation", on_delete=models.PROTECT, related_name="+")
    defect = models.TextField(_("défaut constaté"))
    remedy = models.CharField(_("solution proposée"), max_length=20, choices=ReturnRemedy.choices)
    returned_at = models.DateTimeField(_("retourné le"), default=timezone.now)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    refurbisher = models.ForeignKey(
        "reemploi.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="guarantee_returns",
        verbose_name=_("renvoyé à l'atelier"),
    )
    sent_at = models.DateTimeField(_("renvoyé le"), null=True, blank=True)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    objects = GuaranteeReturnQuerySet.as_manager()

    class Meta:
        ordering = ["-returned_at", "-id"]
        verbose_name = _("retour sous garantie")
        verbose_name_plural = _("retours sous garantie")
        constraints = [
            models.CheckConstraint(condition=~Q(defect=""), name="return_has_defect"),
            models.CheckConstraint(
                condition=Q(sent_at__isnull=True, refurbisher__isnull=True)
                | Q(sent_at__isnull=False, refurbisher__isnull=False),
                name="return_sent_to_a_refurbisher",
            ),
        ]

    def __str__(self):
        return f"{self.sale_line.device} ({self.returned_at:%d/%m/%Y})"

    @property
    def device(self):
        return self.sale_line.device

    @property
    def days_after_sale(self):
        return (timezone.localdate(self.returned_at) - self.sale_line.sale.sold_on).days

    @property
    def defect_presumed(self):
        """For used goods the defect is presumed to exist at delivery during the first 12 months."""
        from beneficiaries.dates import add_months

        sold_on = self.sale_line.sale.sold_on
        return timezone.localdate(self.returned_at) <= add_months(sold_on, 12)
