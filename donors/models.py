"""Donations: what a donor proposes, what the network decides, how it is collected and received.

A donation moves through its own lifecycle (`services.TRANSITIONS`) and keeps an append-only
event log that the tracking page shows as a timeline. The acceptance rules are data the
coordinator edits (`AcceptancePolicy`, `CategoryRule`), read by `rules.py`."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reemploi.models import AppendOnlyQuerySet

from .enums import (
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

# --- Acceptance rules (data the coordinator edits) -----------------------------------------------


class AcceptancePolicy(models.Model):
    """The network's acceptance rules that are not tied to one category. A single row."""

    default_max_age_years = models.PositiveSmallIntegerField(
        _("âge maximal pour le réemploi (ans)"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text=_("Au-delà, l'équipement part en traitement DEEE et non en réemploi."),
    )
    too_old_reason = models.TextField(
        _("motif : trop ancien"),
        default=_(
            "Plus de {age} ans : trop ancien pour être réemployé, il sera recyclé dans la filière "
            "DEEE (traitement agréé)."
        ),
        help_text=_("« {age} » est remplacé par l'âge maximal."),
    )
    broken_reason = models.TextField(
        _("motif : hors service"),
        default=_(
            "Les équipements hors service ne sont pas collectés : déposez-les dans un point de collecte "
            "DEEE (déchetterie, magasin)."
        ),
    )
    not_collected_reason = models.TextField(
        _("motif : catégorie non collectée"),
        default=_("Cette catégorie d'équipement n'est pas collectée par le réseau."),
        help_text=_("Utilisé quand la règle de la catégorie ne donne pas de motif."),
    )
    citizen_notice = models.TextField(
        _("message aux particuliers"),
        default=_(
            "Les dons de particuliers sont souvent trop anciens pour être réemployés : en moyenne, 5 à 6 % "
            "seulement des appareils peuvent être remis en service (contre 60 à 70 % pour les entreprises). "
            "Les autres sont recyclés dans la filière DEEE."
        ),
    )
    citizen_pickup_min_quantity = models.PositiveSmallIntegerField(
        _("enlèvement des dons de particuliers à partir de (équipements)"),
        default=5,
        help_text=_("En dessous de cette quantité, un particulier se voit proposer le dépôt uniquement."),
    )
    citizen_drop_off_reason = models.TextField(
        _("motif : dépôt uniquement"),
        default=_(
            "Pour moins de {quantite} équipements, nous ne pouvons pas organiser d'enlèvement chez un "
            "particulier : merci de les déposer dans l'un de nos ateliers."
        ),
        help_text=_("« {quantite} » est remplacé par la quantité minimale."),
    )
    updated_at = models.DateTimeField(_("modifié le"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("règles d'acceptation")
        verbose_name_plural = _("règles d'acceptation")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="acceptance_policy_single_row")]

    def __str__(self):
        return str(_("Règles d'acceptation des dons"))

    @classmethod
    def current(cls):
        """The saved policy, or the default one when none was ever saved."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class CategoryRule(models.Model):
    """Whether a category of equipment is collected, and under which conditions."""

    category = models.OneToOneField(
        "reemploi.EquipmentCategory", on_delete=models.CASCADE, related_name="acceptance_rule"
    )
    collected = models.BooleanField(_("collecté"), default=True)
    collect_broken = models.BooleanField(
        _("collecté même hors service"),
        default=False,
        help_text=_("Par défaut, un équipement hors service n'est pas collecté."),
    )
    max_age_years = models.PositiveSmallIntegerField(
        _("âge maximal (ans)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text=_("Vide : l'âge maximal général s'applique."),
    )
    reason = models.TextField(_("motif affiché si non collecté"), blank=True)
    updated_at = models.DateTimeField(_("modifié le"), default=timezone.now)

    class Meta:
        ordering = ["category__sort_order", "category__name"]
        verbose_name = _("règle par catégorie")
        verbose_name_plural = _("règles par catégorie")

    def __str__(self):
        return f"{self.category} : {'collecté' if self.collected else 'non collecté'}"


# --- Donations -----------------------------------------------------------------------------------


class ReferenceCounter(models.Model):
    """The last donation number given in a year (locked while numbering)."""

    year = models.PositiveSmallIntegerField(unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self):
        return f"{self.year}: {self.last}"


class DonationQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The coordinator sees every donation; a refurbisher or a carrier the ones assigned to it;
        a donor organisation its own. Departmental staff see none (indicators only)."""
        from reemploi.enums import OrganisationKind
        from reemploi.permissions import is_coordinator, organisation_ids

        if is_coordinator(user):
            return self
        ids = organisation_ids(user, exclude_kinds=[OrganisationKind.DEPARTEMENT])
        if not ids:
            return self.none()
        return self.filter(
            Q(donor_organisation_id__in=ids) | Q(refurbisher_id__in=ids) | Q(collection__carrier_id__in=ids)
        ).distinct()

    def to_qualify(self):
        return self.filter(status=DonationStatus.SUBMITTED)

    def with_related(self):
        return self.select_related("donor_organisation", "commune", "refurbisher", "drop_off_site")


class Donation(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("référence"), max_length=20, unique=True)
    status = models.CharField(
        _("statut"), max_length=20, choices=DonationStatus.choices, default=DonationStatus.SUBMITTED
    )
    status_changed_at = models.DateTimeField(_("statut depuis le"), default=timezone.now)
    channel = models.CharField(_("canal"), max_length=10, choices=Channel.choices, default=Channel.WEB)

    # Who gives
    donor_kind = models.CharField(_("type de donateur"), max_length=20, choices=DonorKind.choices)
    donor_organisation = models.ForeignKey(
        "reemploi.Organisation", on_delete=models.PROTECT, null=True, blank=True, related_name="donations"
    )
    organisation_name = models.CharField(_("organisation (telle que saisie)"), max_length=200, blank=True)
    siret = models.CharField(_("SIRET (tel que saisi)"), max_length=14, blank=True)
    contact_name = models.CharField(_("nom du contact"), max_length=150)
    contact_email = models.EmailField(_("e-mail du contact"))
    contact_phone = models.CharField(_("téléphone du contact"), max_length=30, blank=True)

    # Where and how
    address = models.CharField(_("adresse d'enlèvement"), max_length=255, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=5)
    commune = models.ForeignKey("reemploi.Commune", on_delete=models.PROTECT, related_name="donations")
    access_notes = models.CharField(_("précisions d'accès"), max_length=500, blank=True)
    handover_mode = models.CharField(_("remise"), max_length=20, choices=HandoverMode.choices)
    drop_off_site = models.ForeignKey(
        "reemploi.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="drop_off_donations",
        verbose_name=_("atelier de dépôt"),
    )
    availability = models.JSONField(_("disponibilités"), default=list, blank=True)
    availability_note = models.CharField(_("précisions sur les disponibilités"), max_length=500, blank=True)

    # Public bodies (décret n° 2023-266): the taker's prior commitment to reuse, and the stock of
    # retired items on 1 January from which the body's yearly ratio is computed.
    reuse_commitment_at = models.DateTimeField(_("engagement de réemploi accepté le"), null=True, blank=True)
    retired_stock_year = models.PositiveSmallIntegerField(_("année du stock réformé"), null=True, blank=True)
    retired_stock_count = models.PositiveIntegerField(
        _("équipements réformés en stock au 1er janvier"), null=True, blank=True
    )

    privacy_consent_at = models.DateTimeField(_("consentement à la notice de confidentialité le"))
    refurbisher = models.ForeignKey(
        "reemploi.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_donations",
        verbose_name=_("atelier affecté"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = DonationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("don")
        indexes = [models.Index(fields=["status", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DonationStatus.values), name="donation_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(donor_kind__in=DonorKind.values), name="donation_donor_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(handover_mode__in=HandoverMode.values), name="donation_handover_mode_valid"
            ),
            models.CheckConstraint(
                condition=(Q(donor_kind=DonorKind.INDIVIDUAL) & Q(donor_organisation__isnull=True))
                | (~Q(donor_kind=DonorKind.INDIVIDUAL) & Q(donor_organisation__isnull=False)),
                name="donation_organisation_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(handover_mode=HandoverMode.PICKUP) | Q(drop_off_site__isnull=False),
                name="donation_drop_off_has_site",
            ),
            models.CheckConstraint(
                condition=Q(handover_mode=HandoverMode.DROP_OFF) | ~Q(address=""),
                name="donation_pickup_has_address",
            ),
            models.CheckConstraint(
                condition=~Q(donor_kind=DonorKind.PUBLIC_BODY)
                | (Q(reuse_commitment_at__isnull=False) & Q(retired_stock_count__isnull=False)),
                name="donation_public_body_commitment",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[DonationStatus.SUBMITTED, DonationStatus.REFUSED, DonationStatus.CANCELLED]
                )
                | Q(refurbisher__isnull=False),
                name="donation_qualified_has_refurbisher",
            ),
        ]

    def __str__(self):
        return self.reference

    @property
    def donor_name(self):
        if self.donor_organisation_id:
            return self.donor_organisation.name
        return self.contact_name

    @property
    def is_individual(self):
        return self.donor_kind == DonorKind.INDIVIDUAL

    @property
    def provenance(self):
        from reemploi.enums import Provenance

        return Provenance.for_organisation_kind(self.donor_kind)

    @property
    def availability_labels(self):
        from .enums import AVAILABILITY_CHOICES

        labels = dict(AVAILABILITY_CHOICES)
        return [labels[key] for key in self.availability if key in labels]


class DonationLine(models.Model):
    donation = models.ForeignKey(Donation, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(_("n°"), default=1)
    category = models.ForeignKey(
        "reemploi.EquipmentCategory", on_delete=models.PROTECT, related_name="+", verbose_name=_("catégorie")
    )
    quantity = models.PositiveIntegerField(_("quantité"))
    age_years = models.PositiveSmallIntegerField(
        _("âge approximatif (ans)"), null=True, blank=True, validators=[MaxValueValidator(60)]
    )
    condition = models.CharField(_("état"), max_length=10, choices=Condition.choices, default=Condition.WORKS)
    has_charger = models.BooleanField(_("chargeur fourni"), default=False)
    holds_data = models.BooleanField(_("contient des données"), default=False)
    description = models.CharField(_("marque, modèle, précisions"), max_length=255, blank=True)
    announced_items = models.JSONField(
        _("inventaire annoncé"),
        default=list,
        blank=True,
        help_text=_("Numéros de série et d'inventaire annoncés par le donateur."),
    )
    verdict = models.CharField(_("verdict des règles"), max_length=10, choices=Verdict.choices)
    verdict_reason = models.TextField(_("motif des règles"), blank=True)
    decision = models.CharField(_("décision"), max_length=10, choices=Verdict.choices, blank=True)
    decision_reason = models.TextField(_("motif de la décision"), blank=True)
    accepted_quantity = models.PositiveIntegerField(_("quantité retenue"), null=True, blank=True)
    added_at_reception = models.BooleanField(_("non annoncé, ajouté à la réception"), default=False)

    class Meta:
        ordering = ["donation", "position"]
        verbose_name = _("ligne de don")
        constraints = [
            models.UniqueConstraint(fields=["donation", "position"], name="unique_donation_line_position"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="donation_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(verdict__in=Verdict.values), name="donation_line_verdict_valid"
            ),
            models.CheckConstraint(
                condition=Q(decision="") | Q(decision__in=Verdict.values), name="donation_line_decision_valid"
            ),
            models.CheckConstraint(
                condition=Q(decision="") | Q(accepted_quantity__isnull=False),
                name="donation_line_decided_has_quantity",
            ),
            models.CheckConstraint(
                condition=~Q(decision=Verdict.REFUSED) | Q(accepted_quantity=0),
                name="donation_line_refused_has_no_quantity",
            ),
            models.CheckConstraint(
                condition=Q(condition__in=Condition.values), name="donation_line_condition_valid"
            ),
        ]

    def __str__(self):
        return f"{self.donation} – {self.quantity} × {self.category}"

    @property
    def outcome(self):
        """The decision once taken, the rules' verdict before."""
        return self.decision or self.verdict

    @property
    def outcome_reason(self):
        return self.decision_reason if self.decision else self.verdict_reason

    @property
    def expected_quantity(self):
        """How many items the network expects to receive for this line."""
        if self.decision:
            return self.accepted_quantity or 0
        return self.quantity if self.verdict in Verdict.collected() else 0


def photo_upload_to(photo, filename):
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"donations/{photo.donation.uuid}/{photo.uuid}.{extension}"


class DonationPhoto(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    donation = models.ForeignKey(Donation, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(_("photo"), upload_to=photo_upload_to)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(_("taille (octets)"))
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("photo de don")

    def __str__(self):
        return f"{self.donation} – {self.file.name}"


class DonationEvent(models.Model):
    """The donation's history: one row per step. Never updated, never deleted."""

    donation = models.ForeignKey(Donation, on_delete=models.PROTECT, related_name="events")
    at = models.DateTimeField(_("le"), default=timezone.now, db_index=True)
    from_status = models.CharField(_("de"), max_length=20, choices=DonationStatus.choices, blank=True)
    to_status = models.CharField(_("vers"), max_length=20, choices=DonationStatus.choices, blank=True)
    title = models.CharField(_("étape"), max_length=200)
    note = models.TextField(_("précisions"), blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    by_donor = models.BooleanField(_("par le donateur"), default=False)
    is_public = models.BooleanField(_("visible du donateur"), default=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("événement de don")

    def __str__(self):
        return f"{self.donation_id}: {self.title}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError(_("Un événement d'historique ne peut pas être modifié."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(_("Un événement d'historique ne peut pas être supprimé."))


class DonationMessage(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    donation = models.ForeignKey(Donation, on_delete=models.CASCADE, related_name="messages")
    side = models.CharField(_("de la part de"), max_length=10, choices=MessageSide.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_name = models.CharField(_("auteur"), max_length=150)
    body = models.TextField(_("message"), max_length=5000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("message")
        constraints = [
            models.CheckConstraint(condition=Q(side__in=MessageSide.values), name="message_side_valid")
        ]

    def __str__(self):
        return f"{self.donation} – {self.author_name}"


class Collection(models.Model):
    """The handover: a pickup at the donor's address or a drop-off at a refurbisher's site."""

    donation = models.OneToOneField(Donation, on_delete=models.PROTECT, related_name="collection")
    mode = models.CharField(_("remise"), max_length=20, choices=HandoverMode.choices)
    planned_date = models.DateField(_("date"))
    slot_start = models.TimeField(_("à partir de"), null=True, blank=True)
    slot_end = models.TimeField(_("jusqu'à"), null=True, blank=True)
    carrier = models.ForeignKey(
        "reemploi.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="carried_collections",
        verbose_name=_("transporteur"),
    )
    carrier_name = models.CharField(_("transporteur (autre)"), max_length=150, blank=True)
    site = models.ForeignKey(
        "reemploi.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lieu de dépôt"),
    )
    status = models.CharField(
        _("statut"), max_length=20, choices=CollectionStatus.choices, default=CollectionStatus.PROPOSED
    )
    donor_answered_at = models.DateTimeField(_("réponse du donateur le"), null=True, blank=True)
    donor_note = models.TextField(_("demande du donateur"), blank=True)
    collected_at = models.DateTimeField(_("collecté le"), null=True, blank=True)
    collected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    items_count = models.PositiveIntegerField(_("nombre d'équipements"), null=True, blank=True)
    weight_kg = models.DecimalField(_("poids (kg)"), max_digits=8, decimal_places=2, null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("collecte")
        constraints = [
            models.CheckConstraint(condition=Q(mode__in=HandoverMode.values), name="collection_mode_valid"),
            models.CheckConstraint(
                condition=Q(status__in=CollectionStatus.values), name="collection_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(mode=HandoverMode.DROP_OFF)
                | (Q(slot_start__isnull=False) & Q(slot_end__isnull=False)),
                name="collection_pickup_has_slot",
            ),
            models.CheckConstraint(
                condition=Q(slot_start__isnull=True)
                | Q(slot_end__isnull=True)
                | Q(slot_end__gt=F("slot_start")),
                name="collection_slot_ordered",
            ),
            models.CheckConstraint(
                condition=Q(mode=HandoverMode.PICKUP) | Q(site__isnull=False),
                name="collection_drop_off_has_site",
            ),
            models.CheckConstraint(
                condition=~Q(status=CollectionStatus.DONE)
                | (Q(items_count__isnull=False) & Q(weight_kg__isnull=False) & Q(collected_at__isnull=False)),
                name="collection_done_has_counts",
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True) | Q(weight_kg__gte=0), name="collection_weight_positive"
            ),
        ]

    def __str__(self):
        return f"{self.donation} – {self.planned_date:%d/%m/%Y}"

    @property
    def carrier_label(self):
        return self.carrier.name if self.carrier_id else self.carrier_name


class Reception(models.Model):
    """What arrived at the refurbisher, line by line, and the donor's confirmation of the count."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    donation = models.OneToOneField(Donation, on_delete=models.PROTECT, related_name="reception")
    refurbisher = models.ForeignKey("reemploi.Organisation", on_delete=models.PROTECT, related_name="+")
    site = models.ForeignKey(
        "reemploi.Site", on_delete=models.PROTECT, related_name="+", verbose_name=_("site")
    )
    received_at = models.DateTimeField(_("réceptionné le"), default=timezone.now)
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    weight_kg = models.DecimalField(
        _("poids reçu (kg)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    note = models.TextField(_("observations"), blank=True)
    donor_confirmed_at = models.DateTimeField(_("rapprochement confirmé le"), null=True, blank=True)
    donor_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    donor_confirmation_note = models.TextField(_("commentaire du donateur"), blank=True)

    class Meta:
        verbose_name = _("réception")
        constraints = [
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True) | Q(weight_kg__gte=0), name="reception_weight_positive"
            )
        ]

    def __str__(self):
        return f"{self.donation} – {self.received_at:%d/%m/%Y}"

    @property
    def has_differences(self):
        return any(line.has_difference for line in self.lines.all())


class ReceptionLine(models.Model):
    reception = models.ForeignKey(Reception, on_delete=models.PROTECT, related_name="lines")
    line = models.OneToOneField(DonationLine, on_delete=models.PROTECT, related_name="reception_line")
    announced_quantity = models.PositiveIntegerField(_("annoncé"))
    received_quantity = models.PositiveIntegerField(_("reçu"))
    missing_items = models.JSONField(_("annoncés, non reçus"), default=list, blank=True)
    unexpected_items = models.JSONField(_("reçus, non annoncés"), default=list, blank=True)
    note = models.TextField(_("observation"), blank=True)

    class Meta:
        ordering = ["line__position"]
        verbose_name = _("ligne de réception")

    def __str__(self):
        return f"{self.line}: {self.received_quantity}/{self.announced_quantity}"

    @property
    def difference(self):
        return self.received_quantity - self.announced_quantity

    @property
    def has_difference(self):
        return bool(self.difference or self.missing_items or self.unexpected_items)


class DonorAccessRequest(models.Model):
    """A person who asked, from a donation's tracking link, to join an organisation that already has
    members: an admin of that organisation, or the coordinator, decides."""

    organisation = models.ForeignKey("reemploi.Organisation", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    donation = models.ForeignKey(Donation, on_delete=models.CASCADE, related_name="access_requests")
    status = models.CharField(
        _("statut"), max_length=10, choices=AccessRequestStatus.choices, default=AccessRequestStatus.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("demande d'accès")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "user"],
                condition=Q(status=AccessRequestStatus.PENDING),
                name="unique_pending_access_request",
            )
        ]

    def __str__(self):
        return f"{self.user} → {self.organisation}"


class TaxReceiptRequest(models.Model):
    """A company donor asks for a tax receipt (CGI art. 238 bis, form 2041-MEC-SD) with the value it
    declares for its gift in kind; the coordinator issues it (the receipt's number is the document's
    sequential number) or refuses it with a reason."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    donation = models.ForeignKey(Donation, on_delete=models.PROTECT, related_name="tax_receipt_requests")
    declared_value = models.DecimalField(
        _("valeur déclarée par l'entreprise (€)"), max_digits=12, decimal_places=2
    )
    status = models.CharField(
        _("statut"), max_length=10, choices=TaxReceiptStatus.choices, default=TaxReceiptStatus.REQUESTED
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(_("demandé le"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("décidé le"), null=True, blank=True)
    refusal_reason = models.TextField(_("motif du refus"), blank=True)
    document = models.OneToOneField(
        "reemploi.Document", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("demande de reçu fiscal")
        verbose_name_plural = _("demandes de reçu fiscal")
        constraints = [
            models.CheckConstraint(condition=Q(declared_value__gt=0), name="tax_receipt_value_positive"),
            models.CheckConstraint(
                condition=Q(status__in=TaxReceiptStatus.values), name="tax_receipt_status_valid"
            ),
            models.CheckConstraint(
                condition=~Q(status=TaxReceiptStatus.REFUSED) | ~Q(refusal_reason=""),
                name="tax_receipt_refusal_has_reason",
            ),
            models.UniqueConstraint(
                fields=["donation"],
                condition=Q(status__in=[TaxReceiptStatus.REQUESTED, TaxReceiptStatus.ISSUED]),
                name="one_tax_receipt_per_donation",
            ),
        ]

    def __str__(self):
        return f"{self.donation} – {self.declared_value} €"
