"""The shared kernel: organisations and roles, sites, territories, equipment categories and their
legal caps, the traced device with its append-only history, and the register of issued documents."""

import secrets
import uuid
from datetime import date

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .enums import (
    DeeeCategory,
    DeviceState,
    DocumentStatus,
    OrganisationKind,
    Provenance,
    Role,
)
from .validators import validate_siret_or_siren

# Crockford's base 32 without I, L, O, U: easy to read aloud and to type from a label.
PUBLIC_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_public_id(length=8):
    return "".join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(length))


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError(_("Cet historique ne peut pas être modifié."))

    def delete(self):
        raise PermissionError(_("Cet historique ne peut pas être supprimé."))


class AppendOnlyModel(models.Model):
    """A record that is written once and never updated nor deleted, through the ORM (here) and in the
    database (a trigger per table, installed by the owning app's migrations)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError(_("Cet enregistrement est en ajout seul : il ne peut pas être modifié."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(_("Cet enregistrement est en ajout seul : il ne peut pas être supprimé."))


class DatedRule(AppendOnlyModel):
    """A rule read by date (a cap, a cap policy): append-only, and a new row takes effect today or
    later, so that it never changes what past sales were checked against. Who recorded it, and when."""

    effective_from = models.DateField(_("en vigueur à partir du"))
    recorded_at = models.DateTimeField(_("enregistré le"), default=timezone.now, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("enregistré par"),
    )

    class Meta:
        abstract = True

    def clean(self):
        if (
            self._state.adding
            and self.effective_from is not None
            and self.effective_from < timezone.localdate()
        ):
            raise ValidationError(
                {
                    "effective_from": _(
                        "Une règle prend effet aujourd'hui ou plus tard : elle ne peut pas réécrire ce qui "
                        "a été vérifié avant (les ventes passées gardent la règle alors en vigueur)."
                    )
                }
            )


# --- Territories ---------------------------------------------------------------------------------


class Departement(models.Model):
    code = models.CharField(_("code"), max_length=3, unique=True)
    name = models.CharField(_("nom"), max_length=80)
    region_code = models.CharField(_("code région"), max_length=3, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("département")

    def __str__(self):
        return f"{self.code} – {self.name}"


class CommuneQuerySet(models.QuerySet):
    def with_postal_code(self, postal_code):
        return self.filter(postal_codes__code=postal_code.strip()).distinct()

    def located(self):
        return self.filter(latitude__isnull=False, longitude__isnull=False)


class Commune(models.Model):
    insee_code = models.CharField(_("code INSEE"), max_length=5, unique=True)
    name = models.CharField(_("nom"), max_length=100)
    departement = models.ForeignKey(Departement, on_delete=models.PROTECT, related_name="communes")
    population = models.PositiveIntegerField(_("population"), default=0)
    latitude = models.FloatField(_("latitude du centre"), null=True, blank=True)
    longitude = models.FloatField(_("longitude du centre"), null=True, blank=True)

    objects = CommuneQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["departement", "name"])]

    def __str__(self):
        return f"{self.name} ({self.departement_id and self.departement.code})"

    @property
    def postal_code_list(self):
        return [p.code for p in self.postal_codes.all()]


class CommunePostalCode(models.Model):
    commune = models.ForeignKey(Commune, on_delete=models.CASCADE, related_name="postal_codes")
    code = models.CharField(_("code postal"), max_length=5, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["commune", "code"], name="unique_commune_postal_code")]

    def __str__(self):
        return self.code


# --- Organisations, people and places ------------------------------------------------------------


class OrganisationQuerySet(models.QuerySet):
    def of_kind(self, *kinds):
        return self.filter(kind__in=kinds)

    def visible_to(self, user):
        from .permissions import is_coordinator

        if is_coordinator(user):
            return self
        if not user.is_authenticated:
            return self.none()
        return self.filter(memberships__user=user).distinct()


class Organisation(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("nom"), max_length=200)
    kind = models.CharField(_("type"), max_length=20, choices=OrganisationKind.choices)
    siret = models.CharField(
        _("SIRET ou SIREN"),
        max_length=14,
        blank=True,
        validators=[validate_siret_or_siren],
        help_text=_("14 chiffres (SIRET) ou 9 (SIREN), sans espaces."),
    )
    legal_form = models.CharField(_("forme juridique"), max_length=80, blank=True)
    departement = models.ForeignKey(
        Departement, on_delete=models.PROTECT, null=True, blank=True, related_name="organisations"
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    address = models.CharField(_("adresse du siège"), max_length=255, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=OrganisationKind.values), name="organisation_kind_valid"
            ),
            models.CheckConstraint(
                condition=~Q(kind=OrganisationKind.DEPARTEMENT) | Q(departement__isnull=False),
                name="departement_organisation_has_departement",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def siren(self):
        return self.siret[:9] if self.siret else ""

    @property
    def provenance(self):
        return Provenance.for_organisation_kind(self.kind)


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("rôle"), max_length=20, choices=Role.choices, default=Role.STAFF)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("adhésion")
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="unique_membership"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self):
        return f"{self.user} – {self.organisation} ({self.get_role_display()})"

    @property
    def can_write(self):
        return self.role in (Role.ADMIN, Role.STAFF)


class SiteQuerySet(models.QuerySet):
    def public_places(self):
        """Places open to the public where people find equipment: the strategy's mesh."""
        return self.filter(is_active=True).filter(Q(is_relais_shop=True) | Q(is_public_place=True))

    def collection_points(self):
        return self.filter(is_active=True, is_collection_point=True)

    def located(self):
        return self.filter(latitude__isnull=False, longitude__isnull=False)


class Site(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="sites")
    name = models.CharField(_("nom du lieu"), max_length=200)
    address = models.CharField(_("adresse"), max_length=255, blank=True)
    postal_code = models.CharField(_("code postal"), max_length=5, blank=True)
    commune = models.ForeignKey(Commune, on_delete=models.PROTECT, related_name="sites")
    latitude = models.FloatField(
        _("latitude"), null=True, blank=True, validators=[MinValueValidator(-90), MaxValueValidator(90)]
    )
    longitude = models.FloatField(
        _("longitude"), null=True, blank=True, validators=[MinValueValidator(-180), MaxValueValidator(180)]
    )
    coordinates_approximate = models.BooleanField(
        _("coordonnées approximatives"),
        default=False,
        help_text=_("Coordonnées reprises du centre de la commune faute de coordonnées précises."),
    )
    is_workshop = models.BooleanField(_("atelier de reconditionnement"), default=False)
    is_collection_point = models.BooleanField(_("point de dépôt et de collecte DEEE"), default=False)
    is_relais_shop = models.BooleanField(_("boutique relais"), default=False)
    is_public_place = models.BooleanField(_("lieu ouvert au public avec équipement"), default=False)
    public_devices = models.PositiveIntegerField(_("équipements en accès libre"), default=0)
    is_active = models.BooleanField(_("actif"), default=True)

    objects = SiteQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("site")

    def __str__(self):
        return f"{self.name} ({self.commune.name})"

    def clean(self):
        if (self.latitude is None) != (self.longitude is None):
            raise ValidationError(_("Indiquez la latitude et la longitude, ou aucune des deux."))

    def fill_coordinates_from_commune(self):
        """Fallback to the commune's centre, flagged as approximate."""
        if self.latitude is None and self.commune_id and self.commune.latitude is not None:
            self.latitude, self.longitude = self.commune.latitude, self.commune.longitude
            self.coordinates_approximate = True

    @property
    def activities(self):
        labels = []
        for field in ("is_workshop", "is_collection_point", "is_relais_shop", "is_public_place"):
            if getattr(self, field):
                labels.append(self._meta.get_field(field).verbose_name)
        return labels


# --- Equipment categories and the decree's caps --------------------------------------------------


class EquipmentCategory(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("nom"), max_length=120)
    deee_category = models.CharField(
        _("catégorie DEEE"), max_length=2, choices=DeeeCategory.choices, blank=True
    )
    is_decree_category = models.BooleanField(
        _("catégorie du décret n° 2022-1413"),
        default=False,
        help_text=_("Les catégories plafonnées par le décret ; les autres sont collectées sans plafond."),
    )
    is_pc = models.BooleanField(_("ordinateur (portable ou fixe)"), default=False)
    typical_weight_kg = models.DecimalField(_("poids type (kg)"), max_digits=6, decimal_places=2, default=0)
    sort_order = models.PositiveSmallIntegerField(default=100)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = _("catégorie d'équipement")
        verbose_name_plural = _("catégories d'équipement")

    def __str__(self):
        return self.name

    def cap_on(self, day: date):
        """The cap in force on `day`, or None when the category is not capped then."""
        return self.caps.filter(effective_from__lte=day).order_by("-effective_from").first()


class PriceCap(DatedRule):
    """A solidarity price cap as the law sets it. Append-only: a change is a new row with its date of
    effect (today or later) and its source; rows are never updated nor deleted (ORM and triggers)."""

    category = models.ForeignKey(EquipmentCategory, on_delete=models.PROTECT, related_name="caps")
    amount = models.DecimalField(_("plafond TTC (€)"), max_digits=8, decimal_places=2)
    legal_reference = models.CharField(_("texte"), max_length=200)
    source_url = models.URLField(_("source"), blank=True)

    class Meta:
        ordering = ["category", "-effective_from"]
        verbose_name = _("plafond de prix solidaire")
        verbose_name_plural = _("plafonds de prix solidaire")
        constraints = [
            models.UniqueConstraint(fields=["category", "effective_from"], name="unique_cap_per_date"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="cap_amount_positive"),
        ]

    def __str__(self):
        return f"{self.category} : {self.amount} € ({self.legal_reference}, {self.effective_from:%d/%m/%Y})"


# --- The traced device ---------------------------------------------------------------------------


class DeviceQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Devices a user may see: held by one of their organisations, or given by it.
        The coordinator sees everything; departmental staff see no device (indicators only)."""
        from .permissions import is_coordinator, organisation_ids

        if is_coordinator(user):
            return self
        ids = organisation_ids(user, exclude_kinds=[OrganisationKind.DEPARTEMENT])
        return self.filter(Q(holder_id__in=ids) | Q(donor_organisation_id__in=ids))

    def with_related(self):
        return self.select_related("category", "holder", "donor_organisation")


class Device(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    public_id = models.CharField(
        _("identifiant public"),
        max_length=12,
        unique=True,
        default=new_public_id,
        editable=False,
        help_text=_("Court identifiant imprimé sur l'étiquette, facile à saisir."),
    )
    category = models.ForeignKey(EquipmentCategory, on_delete=models.PROTECT, related_name="devices")
    brand = models.CharField(_("marque"), max_length=100, blank=True)
    model = models.CharField(_("modèle"), max_length=150, blank=True)
    serial_number = models.CharField(_("numéro de série"), max_length=100, blank=True, db_index=True)
    asset_tag = models.CharField(_("numéro d'inventaire"), max_length=100, blank=True, db_index=True)
    provenance = models.CharField(_("provenance"), max_length=20, choices=Provenance.choices)
    donor_organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="donated_devices",
        verbose_name=_("organisation donatrice"),
    )
    donation_line = models.ForeignKey(
        "donors.DonationLine",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="devices",
        verbose_name=_("ligne de don"),
    )
    holder = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="held_devices", verbose_name=_("détenteur")
    )
    state = models.CharField(_("état"), max_length=20, choices=DeviceState.choices, db_index=True)
    weight_kg = models.DecimalField(_("poids (kg)"), max_digits=7, decimal_places=2, null=True, blank=True)
    price = models.DecimalField(
        _("prix solidaire (€ TTC)"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_(
            "Proposé par l'atelier quand l'appareil est prêt, jamais au-dessus du plafond de sa catégorie."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    state_changed_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = DeviceQuerySet.as_manager()

    class Meta:
        ordering = ["-state_changed_at", "-id"]
        verbose_name = _("appareil")
        indexes = [
            models.Index(fields=["holder", "state", "-state_changed_at"]),
            # A holder's devices, latest first, whatever their state (the workshop queue's « Tous »).
            models.Index(fields=["holder", "-state_changed_at", "-id"], name="device_holder_recent_idx"),
            models.Index(fields=["category", "state"]),
            # The default ordering: the device list reads its first page from it instead of sorting
            # every device (260 ms on a million).
            models.Index(fields=["-state_changed_at", "-id"], name="device_recent_first"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=DeviceState.values), name="device_state_valid"),
            models.CheckConstraint(
                condition=Q(provenance__in=Provenance.values), name="device_provenance_valid"
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True) | Q(weight_kg__gte=0), name="device_weight_positive"
            ),
            models.CheckConstraint(
                condition=Q(price__isnull=True) | Q(price__gte=0), name="device_price_positive"
            ),
        ]

    def __str__(self):
        label = " ".join(part for part in (self.brand, self.model) if part) or str(self.category)
        return f"{label} · {self.public_id}"

    @property
    def effective_weight_kg(self):
        return self.weight_kg if self.weight_kg is not None else self.category.typical_weight_kg


class DeviceEvent(models.Model):
    """One row per transition. Never updated, never deleted (and, on PostgreSQL, a trigger says so)."""

    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="events")
    from_state = models.CharField(_("de"), max_length=20, choices=DeviceState.choices, blank=True)
    to_state = models.CharField(_("vers"), max_length=20, choices=DeviceState.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("par"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pour le compte de"),
    )
    holder = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="+", verbose_name=_("détenteur après")
    )
    at = models.DateTimeField(_("le"), default=timezone.now, db_index=True)
    note = models.TextField(_("note"), blank=True)
    cause_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cause_id = models.PositiveBigIntegerField(null=True, blank=True)
    cause = GenericForeignKey("cause_type", "cause_id")

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("événement d'appareil")
        indexes = [models.Index(fields=["to_state", "at"]), models.Index(fields=["device", "at"])]

    def __str__(self):
        return f"{self.device_id}: {self.from_state or '∅'} → {self.to_state}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError(_("Un événement d'historique ne peut pas être modifié."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(_("Un événement d'historique ne peut pas être supprimé."))


# --- Documents -----------------------------------------------------------------------------------


def document_upload_to(instance, filename):
    return f"documents/{instance.kind}/{instance.year or 'x'}/{filename}"


def new_verification_code():
    return new_public_id(10)


class DocumentQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if self.filter(status=DocumentStatus.ISSUED).exists():
            raise PermissionError(_("Un document émis ne peut pas être modifié : rééditez-le."))
        return super().update(**kwargs)

    def delete(self):
        if self.filter(status=DocumentStatus.ISSUED).exists():
            raise PermissionError(_("Un document émis ne peut pas être supprimé."))
        return super().delete()

    def issued(self):
        return self.filter(status=DocumentStatus.ISSUED)

    def current(self):
        return self.issued().filter(superseded_by__isnull=True)

    def about(self, obj):
        return self.filter(subject_type=ContentType.objects.get_for_model(obj), subject_id=obj.pk)


class Document(models.Model):
    """The register of issued documents. A document's number, file and hash never change once
    issued: regenerating issues a new version that supersedes this one."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(_("type"), max_length=40, db_index=True)
    year = models.PositiveSmallIntegerField(_("année"), null=True, blank=True)
    sequence = models.PositiveIntegerField(_("rang"), null=True, blank=True)
    number = models.CharField(_("numéro"), max_length=40, unique=True, null=True, blank=True)
    verification_code = models.CharField(
        _("code de vérification"), max_length=12, unique=True, default=new_verification_code, editable=False
    )
    title = models.CharField(_("intitulé"), max_length=255)
    status = models.CharField(
        _("statut"), max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.PENDING
    )
    subject_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    subject_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    owner = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
        help_text=_("L'organisation destinataire, qui voit le document dans son espace."),
    )
    recipient_email = models.EmailField(_("envoyé à"), blank=True)
    donation = models.ForeignKey(
        "donors.Donation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="documents",
        verbose_name=_("don"),
        help_text=_("Le don dont parle le document : son donateur le retrouve sur sa page de suivi."),
    )
    params = models.JSONField(_("paramètres"), default=dict, blank=True)
    public_facts = models.JSONField(
        _("faits publics"),
        default=dict,
        blank=True,
        help_text=_("Ce que la page de vérification montre : jamais de donnée personnelle."),
    )
    file = models.FileField(_("fichier"), upload_to=document_upload_to, blank=True)
    sha256 = models.CharField(_("empreinte SHA-256"), max_length=64, blank=True)
    size = models.PositiveIntegerField(_("taille (octets)"), null=True, blank=True)
    supersedes = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="superseded_by",
        verbose_name=_("remplace"),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now, editable=False)
    issued_at = models.DateTimeField(_("émis le"), null=True, blank=True)
    error = models.TextField(blank=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("document")
        indexes = [models.Index(fields=["subject_type", "subject_id", "kind"])]
        constraints = [
            models.UniqueConstraint(fields=["kind", "year", "sequence"], name="unique_document_sequence"),
            models.CheckConstraint(
                condition=Q(status=DocumentStatus.PENDING)
                | Q(status=DocumentStatus.FAILED)
                | (Q(number__isnull=False) & ~Q(sha256="")),
                name="issued_document_has_number_and_hash",
            ),
        ]

    def __str__(self):
        return self.number or f"{self.title} ({self.get_status_display()})"

    def save(self, *args, **kwargs):
        if self.pk is not None and Document.objects.filter(pk=self.pk, status=DocumentStatus.ISSUED).exists():
            raise PermissionError(_("Un document émis ne peut pas être modifié : rééditez-le."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        if self.status == DocumentStatus.ISSUED:
            raise PermissionError(_("Un document émis ne peut pas être supprimé."))
        return super().delete(*args, **kwargs)

    @property
    def is_superseded(self):
        return hasattr(self, "superseded_by") and self._superseded_by_or_none() is not None

    def _superseded_by_or_none(self):
        try:
            return self.superseded_by
        except Document.DoesNotExist:
            return None


class DocumentCounter(models.Model):
    """The last sequence number given per document kind and year (locked while numbering)."""

    kind = models.CharField(max_length=40)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "year"], name="unique_document_counter")]

    def __str__(self):
        return f"{self.kind} {self.year}: {self.last}"


class StatusChange(AppendOnlyModel):
    """One row per status change of a record whose lifecycle has no history of its own (shipments,
    DEEE lots, collections, parts, access requests…): written by `reemploi.workflow`, never updated
    nor deleted (ORM and triggers)."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    lifecycle = models.CharField(_("cycle de vie"), max_length=40)
    from_status = models.CharField(_("de"), max_length=30, blank=True)
    to_status = models.CharField(_("vers"), max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("par"),
    )
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("pour le compte de"),
    )
    at = models.DateTimeField(_("le"), default=timezone.now)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("changement de statut")
        verbose_name_plural = _("changements de statut")
        indexes = [models.Index(fields=["content_type", "object_id", "at"], name="status_change_record_idx")]

    def __str__(self):
        return f"{self.lifecycle} {self.object_id}: {self.from_status or '∅'} → {self.to_status}"
