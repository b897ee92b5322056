"""What a workshop records about the devices it holds: audits, storage media and the proof of their
sanitisation or destruction, repairs and the parts stock, the grading that makes a device ready (with a
price under the decree's cap), DEEE lots and shipments to relais. Raw report files are kept as
evidence that never changes; proof records are append-only (a correction is a new record)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from reemploi.enums import DeeeCategory
from reemploi.models import AppendOnlyQuerySet
from reemploi.validators import validate_siret

from .enums import (
    ISO_21964_LEVEL_CHOICES,
    CosmeticGrade,
    DestructionMethod,
    EcoOrganisme,
    FunctionalGrade,
    ImportKind,
    ImportStatus,
    MediaDestination,
    MediumInterface,
    MediumKind,
    PartKind,
    PartOrigin,
    PartStatus,
    RecordSource,
    SanitisationLevel,
    SanitisationOutcome,
    SanitisationStandard,
    SanitisationTechnique,
    ShipmentLineStatus,
    ShipmentStatus,
    TestResult,
    TreatmentCode,
    VerificationMethod,
    VerificationResult,
    WasteCode,
    WasteLotStatus,
)

USER = settings.AUTH_USER_MODEL


class ImmutableMixin:
    """A record of proof: written once, never updated or deleted through the application."""

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise PermissionError(_("Cet enregistrement de preuve ne peut pas être modifié."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError(_("Cet enregistrement de preuve ne peut pas être supprimé."))


# --- Evidence and imports ------------------------------------------------------------------------


def evidence_upload_to(instance, filename):
    return (
        f"evidence/{instance.organisation.uuid}/{instance.uploaded_at:%Y}/{instance.sha256[:16]}-{filename}"
    )


class Evidence(ImmutableMixin, models.Model):
    """A raw report file exactly as the audit or erasure tool wrote it, with its SHA-256."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "reemploi.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("atelier")
    )
    kind = models.CharField(_("type de rapport"), max_length=10, choices=ImportKind.choices)
    import_job = models.ForeignKey(
        "ImportJob", on_delete=models.PROTECT, null=True, blank=True, related_name="evidence"
    )
    file = models.FileField(_("fichier"), upload_to=evidence_upload_to, max_length=300)
    original_name = models.CharField(_("nom du fichier"), max_length=255)
    sha256 = models.CharField(_("empreinte SHA-256"), max_length=64, db_index=True)
    size = models.PositiveBigIntegerField(_("taille (octets)"))
    uploaded_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    uploaded_at = models.DateTimeField(_("déposé le"), default=timezone.now, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("pièce justificative")
        verbose_name_plural = _("pièces justificatives")
        constraints = [
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="evidence_sha256_hex"),
            models.CheckConstraint(condition=Q(kind__in=ImportKind.values), name="evidence_kind_valid"),
        ]

    def __str__(self):
        return f"{self.original_name} ({self.sha256[:12]}…)"


class ImportJob(models.Model):
    """One import of machine-made reports: its progress and the reason each rejected row was refused."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "reemploi.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("atelier")
    )
    kind = models.CharField(_("format"), max_length=10, choices=ImportKind.choices)
    device = models.ForeignKey(
        "reemploi.Device",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("appareil visé"),
    )
    status = models.CharField(
        _("statut"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    options = models.JSONField(_("options"), default=dict, blank=True)
    total = models.PositiveIntegerField(_("lignes"), default=0)
    processed = models.PositiveIntegerField(_("lignes traitées"), default=0)
    saved = models.PositiveIntegerField(_("lignes enregistrées"), default=0)
    rejected = models.PositiveIntegerField(_("lignes refusées"), default=0)
    errors = models.JSONField(_("lignes refusées et motifs"), default=list, blank=True)
    notices = models.JSONField(_("remarques"), default=list, blank=True)
    failure = models.TextField(_("erreur"), blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ImportStatus.values), name="import_status_valid"),
            models.CheckConstraint(
                condition=Q(processed__lte=models.F("total")), name="import_progress_bounded"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} – {self.created_at:%d/%m/%Y %H:%M}"

    @property
    def is_running(self):
        return self.status in (ImportStatus.PENDING, ImportStatus.RUNNING)

    @property
    def percent(self):
        return int(100 * self.processed / self.total) if self.total else (100 if not self.is_running else 0)


# --- Audit ---------------------------------------------------------------------------------------


class Audit(models.Model):
    """A diagnostic of a device: specifications, tests, accessories, grades. A device may be audited
    again (after a repair, a return): the latest audit is the current one."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    device = models.ForeignKey("reemploi.Device", on_delete=models.PROTECT, related_name="audits")
    organisation = models.ForeignKey(
        "reemploi.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("atelier")
    )
    source = models.CharField(
        _("origine"), max_length=10, choices=RecordSource.choices, default=RecordSource.FORM
    )
    evidence = models.ForeignKey(
        Evidence, on_delete=models.PROTECT, null=True, blank=True, related_name="audits"
    )
    performed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("par")
    )
    performed_at = models.DateTimeField(_("le"), default=timezone.now)

    system_vendor = models.CharField(_("fabricant relevé"), max_length=100, blank=True)
    system_product = models.CharField(_("modèle relevé"), max_length=150, blank=True)
    system_serial = models.CharField(_("numéro de série relevé"), max_length=100, blank=True)
    cpu_model = models.CharField(_("processeur"), max_length=150, blank=True)
    cpu_cores = models.PositiveSmallIntegerField(_("cœurs"), null=True, blank=True)
    ram_gb = models.DecimalField(
        _("mémoire vive (Go)"), max_digits=6, decimal_places=1, null=True, blank=True
    )
    storage_summary = models.CharField(
        _("stockage"), max_length=200, blank=True, help_text=_("Par exemple « SSD 256 Go ».")
    )
    battery_health_pct = models.PositiveSmallIntegerField(
        _("santé de la batterie (%)"),
        null=True,
        blank=True,
        help_text=_("Capacité restante / capacité d'origine."),
    )
    screen_size_in = models.DecimalField(
        _("taille d'écran (pouces)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    screen_defects = models.CharField(_("défauts d'écran"), max_length=255, blank=True)
    keyboard_test = models.CharField(
        _("clavier"), max_length=4, choices=TestResult.choices, default=TestResult.NOT_TESTED
    )
    touchpad_test = models.CharField(
        _("pavé tactile"), max_length=4, choices=TestResult.choices, default=TestResult.NOT_TESTED
    )
    ports_test = models.CharField(
        _("ports"), max_length=4, choices=TestResult.choices, default=TestResult.NOT_TESTED
    )
    webcam_test = models.CharField(
        _("webcam"), max_length=4, choices=TestResult.choices, default=TestResult.NOT_TESTED
    )
    wifi_test = models.CharField(
        _("wifi"), max_length=4, choices=TestResult.choices, default=TestResult.NOT_TESTED
    )
    os_installed = models.CharField(_("système installé"), max_length=100, blank=True)
    charger_included = models.BooleanField(_("chargeur fourni"), null=True, blank=True)
    accessories = models.CharField(_("autres accessoires"), max_length=255, blank=True)
    cosmetic_grade = models.CharField(
        _("grade esthétique"), max_length=1, choices=CosmeticGrade.choices, blank=True
    )
    functional_grade = models.CharField(
        _("état fonctionnel"), max_length=10, choices=FunctionalGrade.choices, blank=True
    )
    notes = models.TextField(_("observations"), blank=True)

    # What a person (form) or an audit tool (API) records; the rest is set by the service.
    RECORDED_FIELDS = (
        "cpu_model",
        "cpu_cores",
        "ram_gb",
        "battery_health_pct",
        "screen_size_in",
        "screen_defects",
        "keyboard_test",
        "touchpad_test",
        "ports_test",
        "webcam_test",
        "wifi_test",
        "os_installed",
        "charger_included",
        "accessories",
        "cosmetic_grade",
        "functional_grade",
        "notes",
    )

    class Meta:
        ordering = ["-performed_at", "-id"]
        verbose_name = _("diagnostic")
        indexes = [models.Index(fields=["device", "-performed_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(battery_health_pct__isnull=True) | Q(battery_health_pct__lte=100),
                name="audit_battery_percent",
            ),
            models.CheckConstraint(
                condition=Q(cosmetic_grade="") | Q(cosmetic_grade__in=CosmeticGrade.values),
                name="audit_cosmetic_grade_valid",
            ),
            models.CheckConstraint(
                condition=Q(functional_grade="") | Q(functional_grade__in=FunctionalGrade.values),
                name="audit_functional_grade_valid",
            ),
            models.CheckConstraint(
                condition=Q(ram_gb__isnull=True) | Q(ram_gb__gte=0), name="audit_ram_positive"
            ),
        ]

    def __str__(self):
        return f"{_('Diagnostic')} {self.device_id} ({self.performed_at:%d/%m/%Y})"

    @property
    def is_complete(self):
        """A full diagnostic (with grades) moves a received device to « diagnostiqué »; an inventory
        alone (lshw) does not."""
        return bool(self.cosmetic_grade and self.functional_grade)

    @property
    def tests(self):
        return [
            (
                self._meta.get_field(name).verbose_name,
                getattr(self, name),
                getattr(self, f"get_{name}_display")(),
            )
            for name in ("keyboard_test", "touchpad_test", "ports_test", "webcam_test", "wifi_test")
        ]


# --- Storage media and their sanitisation --------------------------------------------------------


class StorageMediumQuerySet(models.QuerySet):
    def attached(self):
        return self.filter(detached_at__isnull=True)

    def with_status(self):
        return self.annotate(
            is_erased=models.Exists(
                Sanitisation.objects.filter(medium=models.OuterRef("pk"), outcome=SanitisationOutcome.ERASED)
            ),
            is_destroyed=models.Exists(Destruction.objects.filter(medium=models.OuterRef("pk"))),
        )


class StorageMedium(models.Model):
    """A storage medium as held by a device: one row per attachment. A disk moved to another device is
    a new row there, which needs its own sanitisation."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    device = models.ForeignKey("reemploi.Device", on_delete=models.PROTECT, related_name="storage_media")
    kind = models.CharField(_("type"), max_length=10, choices=MediumKind.choices)
    interface = models.CharField(
        _("interface"), max_length=10, choices=MediumInterface.choices, default=MediumInterface.SATA
    )
    vendor = models.CharField(_("fabricant"), max_length=100, blank=True)
    model = models.CharField(_("modèle"), max_length=150, blank=True)
    serial_number = models.CharField(_("numéro de série"), max_length=100, blank=True, db_index=True)
    property_number = models.CharField(
        _("n° d'inventaire du support"),
        max_length=100,
        blank=True,
        help_text=_("L'étiquette d'inventaire du donateur sur le disque lui-même, s'il en porte une."),
    )
    capacity_bytes = models.PositiveBigIntegerField(_("capacité (octets)"), null=True, blank=True)
    source = models.CharField(
        _("origine"), max_length=10, choices=RecordSource.choices, default=RecordSource.FORM
    )
    evidence = models.ForeignKey(
        Evidence, on_delete=models.PROTECT, null=True, blank=True, related_name="media"
    )
    part = models.ForeignKey(
        "Part",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="installed_as",
        verbose_name=_("pièce du stock installée"),
    )
    added_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    added_at = models.DateTimeField(_("enregistré le"), default=timezone.now)
    detached_at = models.DateTimeField(_("retiré le"), null=True, blank=True)
    detached_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    detach_reason = models.CharField(_("motif du retrait"), max_length=255, blank=True)

    objects = StorageMediumQuerySet.as_manager()

    class Meta:
        ordering = ["added_at", "id"]
        verbose_name = _("support de stockage")
        verbose_name_plural = _("supports de stockage")
        constraints = [
            models.UniqueConstraint(
                fields=["serial_number"],
                condition=Q(detached_at__isnull=True) & ~Q(serial_number=""),
                name="medium_serial_attached_once",
                violation_error_message=_(
                    "Ce numéro de série est déjà celui d'un support installé dans un appareil."
                ),
            ),
            models.CheckConstraint(condition=Q(kind__in=MediumKind.values), name="medium_kind_valid"),
            models.CheckConstraint(
                condition=Q(interface__in=MediumInterface.values), name="medium_interface_valid"
            ),
            models.CheckConstraint(
                condition=Q(detached_at__isnull=True) | ~Q(detach_reason=""), name="medium_detach_has_reason"
            ),
        ]

    def __str__(self):
        label = " ".join(part for part in (self.vendor, self.model) if part) or self.get_kind_display()
        return f"{label} · {self.serial_number or _('sans numéro')}"

    @property
    def capacity_gb(self):
        return round(self.capacity_bytes / 1e9) if self.capacity_bytes else None


class Sanitisation(ImmutableMixin, models.Model):
    """The proof that one storage medium was erased (NIST SP 800-88 Clear or Purge), or an attempt that
    failed. Never changed: a new attempt is a new record."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    medium = models.ForeignKey(StorageMedium, on_delete=models.PROTECT, related_name="sanitisations")
    organisation = models.ForeignKey(
        "reemploi.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    site = models.ForeignKey(
        "reemploi.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("site"),
    )
    level = models.CharField(_("niveau NIST"), max_length=10, choices=SanitisationLevel.choices)
    technique = models.CharField(_("technique"), max_length=30, choices=SanitisationTechnique.choices)
    standard = models.CharField(
        _("référentiel"),
        max_length=20,
        choices=SanitisationStandard.choices,
        default=SanitisationStandard.NIST_800_88_R2,
    )
    tool = models.CharField(_("outil"), max_length=100)
    tool_version = models.CharField(_("version de l'outil"), max_length=50, blank=True)
    method_detail = models.CharField(
        _("méthode détaillée"),
        max_length=150,
        blank=True,
        help_text=_("Par exemple « PRNG Stream, 1 passage »."),
    )
    verification_method = models.CharField(
        _("méthode de vérification"), max_length=20, choices=VerificationMethod.choices
    )
    verification_result = models.CharField(
        _("résultat de la vérification"), max_length=10, choices=VerificationResult.choices
    )
    started_at = models.DateTimeField(_("début"))
    ended_at = models.DateTimeField(_("fin"))
    operator_name = models.CharField(_("opérateur"), max_length=150)
    operator_title = models.CharField(_("fonction de l'opérateur"), max_length=100, blank=True)
    operator_phone = models.CharField(_("téléphone de l'opérateur"), max_length=30, blank=True)
    validator_name = models.CharField(
        _("validé par"), max_length=150, blank=True, help_text=_("La personne qui contrôle l'effacement.")
    )
    validator_title = models.CharField(_("fonction de la personne qui valide"), max_length=100, blank=True)
    data_backed_up = models.BooleanField(
        _("données sauvegardées avant effacement"),
        null=True,
        blank=True,
        help_text=_("À la demande du donateur seulement ; vide si la question n'a pas été posée."),
    )
    # What erasure tools such as nwipe print about the run.
    passes = models.PositiveSmallIntegerField(_("passages par tour"), null=True, blank=True)
    rounds = models.PositiveSmallIntegerField(_("tours effectués"), null=True, blank=True)
    blanking = models.BooleanField(_("passage final à zéro"), null=True, blank=True)
    error_count = models.PositiveIntegerField(_("erreurs signalées"), null=True, blank=True)
    bytes_erased = models.PositiveBigIntegerField(_("octets effacés"), null=True, blank=True)
    outcome = models.CharField(_("résultat"), max_length=10, choices=SanitisationOutcome.choices)
    destination = models.CharField(
        _("destination du support"),
        max_length=10,
        choices=MediaDestination.choices,
        default=MediaDestination.REUSE,
    )
    source = models.CharField(
        _("origine"), max_length=10, choices=RecordSource.choices, default=RecordSource.FORM
    )
    evidence = models.ForeignKey(
        Evidence, on_delete=models.PROTECT, null=True, blank=True, related_name="sanitisations"
    )
    notes = models.TextField(_("observations"), blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(_("enregistré le"), default=timezone.now, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["ended_at", "id"]
        verbose_name = _("effacement")
        constraints = [
            models.CheckConstraint(
                condition=Q(ended_at__gte=models.F("started_at")), name="sanitisation_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(level__in=SanitisationLevel.values), name="sanitisation_level_valid"
            ),
            models.CheckConstraint(
                condition=Q(technique__in=SanitisationTechnique.values), name="sanitisation_technique_valid"
            ),
            models.CheckConstraint(
                condition=Q(outcome__in=SanitisationOutcome.values), name="sanitisation_outcome_valid"
            ),
            models.CheckConstraint(
                condition=~Q(outcome=SanitisationOutcome.ERASED)
                | Q(verification_result=VerificationResult.PASSED),
                name="erased_medium_was_verified",
                violation_error_message=_(
                    "Un support n'est déclaré effacé qu'après une vérification réussie."
                ),
            ),
        ]

    def __str__(self):
        return f"{self.get_level_display()} – {self.get_outcome_display()} ({self.ended_at:%d/%m/%Y})"

    @property
    def succeeded(self):
        return self.outcome == SanitisationOutcome.ERASED


class Destruction(ImmutableMixin, models.Model):
    """A medium physically destroyed (NIST « Destroy »), at an ISO/IEC 21964 (DIN 66399) security level."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    medium = models.OneToOneField(StorageMedium, on_delete=models.PROTECT, related_name="destruction")
    organisation = models.ForeignKey(
        "reemploi.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("organisation")
    )
    iso_level = models.CharField(_("niveau ISO/IEC 21964"), max_length=4, choices=ISO_21964_LEVEL_CHOICES)
    method = models.CharField(_("procédé"), max_length=20, choices=DestructionMethod.choices)
    performed_at = models.DateTimeField(_("détruit le"))
    operator_name = models.CharField(_("opérateur"), max_length=150)
    provider_name = models.CharField(_("prestataire"), max_length=200, blank=True)
    provider_siret = models.CharField(
        _("SIRET du prestataire"), max_length=14, blank=True, validators=[validate_siret]
    )
    certificate_reference = models.CharField(_("n° du certificat du prestataire"), max_length=100, blank=True)
    evidence = models.ForeignKey(
        Evidence, on_delete=models.PROTECT, null=True, blank=True, related_name="destructions"
    )
    notes = models.TextField(_("observations"), blank=True)
    recorded_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(_("enregistré le"), default=timezone.now, editable=False)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        verbose_name = _("destruction")
        constraints = [
            models.CheckConstraint(
                condition=Q(iso_level__in=[code for code, _label in ISO_21964_LEVEL_CHOICES]),
                name="destruction_iso_level_valid",
            ),
            models.CheckConstraint(
                condition=Q(method__in=DestructionMethod.values), name="destruction_method_valid"
            ),
        ]

    def __str__(self):
        return f"{_('Destruction')} {self.iso_level} ({self.performed_at:%d/%m/%Y})"


class NoStorageDeclaration(ImmutableMixin, models.Model):
    """Someone declared, on their name, that the device holds no storage medium at all."""

    device = models.ForeignKey(
        "reemploi.Device", on_delete=models.PROTECT, related_name="no_storage_declarations"
    )
    organisation = models.ForeignKey("reemploi.Organisation", on_delete=models.PROTECT, related_name="+")
    declared_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name=_("déclaré par")
    )
    declared_at = models.DateTimeField(_("déclaré le"), default=timezone.now)
    reason = models.CharField(
        _("constat"),
        max_length=255,
        help_text=_("Par exemple « écran sans mémoire » ou « baie de disque vide, vérifiée »."),
    )

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-declared_at", "-id"]
        verbose_name = _("déclaration d'absence de support")

    def __str__(self):
        return f"{self.device_id}: {self.reason}"


# --- Repairs and the parts stock -----------------------------------------------------------------


class PartQuerySet(models.QuerySet):
    def in_stock(self):
        return self.filter(status=PartStatus.IN_STOCK)


class Part(models.Model):
    """A component in a workshop's stock, most often harvested from a device that could not be reused."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "reemploi.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("atelier")
    )
    kind = models.CharField(_("type"), max_length=20, choices=PartKind.choices)
    description = models.CharField(_("description"), max_length=200)
    serial_number = models.CharField(_("numéro de série"), max_length=100, blank=True)
    medium_kind = models.CharField(
        _("type de disque"),
        max_length=10,
        choices=MediumKind.choices,
        blank=True,
        help_text=_("Pour un disque : il deviendra un support à effacer dans l'appareil qui le reçoit."),
    )
    origin = models.CharField(
        _("provenance"), max_length=10, choices=PartOrigin.choices, default=PartOrigin.HARVESTED
    )
    source_device = models.ForeignKey(
        "reemploi.Device",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="harvested_parts",
        verbose_name=_("prélevée sur"),
    )
    source_medium = models.OneToOneField(
        StorageMedium, on_delete=models.PROTECT, null=True, blank=True, related_name="harvested_as"
    )
    status = models.CharField(
        _("statut"), max_length=10, choices=PartStatus.choices, default=PartStatus.IN_STOCK
    )
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("entrée en stock"), default=timezone.now)

    objects = PartQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "-created_at", "-id"]
        verbose_name = _("pièce détachée")
        verbose_name_plural = _("pièces détachées")
        indexes = [models.Index(fields=["organisation", "status", "kind"])]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=PartKind.values), name="part_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=PartStatus.values), name="part_status_valid"),
            models.CheckConstraint(
                condition=~Q(origin=PartOrigin.HARVESTED) | Q(source_device__isnull=False),
                name="harvested_part_has_source",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} – {self.description}"


class Repair(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    device = models.ForeignKey("reemploi.Device", on_delete=models.PROTECT, related_name="repairs")
    organisation = models.ForeignKey("reemploi.Organisation", on_delete=models.PROTECT, related_name="+")
    performed_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    performed_at = models.DateTimeField(_("le"), default=timezone.now)
    actions = models.TextField(_("actions réalisées"))
    duration_minutes = models.PositiveIntegerField(_("temps passé (minutes)"))
    other_cost = models.DecimalField(
        _("autres frais (€)"),
        max_digits=8,
        decimal_places=2,
        default=0,
        help_text=_("Consommables, sous-traitance… Les pièces achetées se saisissent ligne par ligne."),
    )
    notes = models.TextField(_("observations"), blank=True)

    class Meta:
        ordering = ["-performed_at", "-id"]
        verbose_name = _("réparation")
        constraints = [models.CheckConstraint(condition=Q(other_cost__gte=0), name="repair_cost_positive")]

    def __str__(self):
        return f"{_('Réparation')} {self.device_id} ({self.performed_at:%d/%m/%Y})"

    @property
    def total_cost(self):
        return self.other_cost + sum((line.line_cost for line in self.parts.all()), 0)


class RepairPart(models.Model):
    """A part used in a repair: taken from the stock (no cost) or bought (with its cost)."""

    repair = models.ForeignKey(Repair, on_delete=models.PROTECT, related_name="parts")
    part = models.OneToOneField(
        Part,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="use",
        verbose_name=_("pièce du stock"),
    )
    description = models.CharField(_("pièce"), max_length=200)
    quantity = models.PositiveSmallIntegerField(_("quantité"), default=1)
    unit_cost = models.DecimalField(_("prix unitaire (€)"), max_digits=8, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("pièce utilisée")
        constraints = [
            models.CheckConstraint(condition=Q(unit_cost__gte=0), name="repair_part_cost_positive"),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="repair_part_quantity_positive"),
            models.CheckConstraint(
                condition=Q(part__isnull=True) | Q(quantity=1), name="stock_part_used_once"
            ),
        ]

    def __str__(self):
        return self.description

    @property
    def line_cost(self):
        return self.quantity * self.unit_cost

    @property
    def from_stock(self):
        return self.part_id is not None


# --- Ready: grades and price under the cap -------------------------------------------------------


class Grading(models.Model):
    """The decision that a device is ready: its grades, accessories and solidarity price, with the cap
    in force that day (the database refuses a price above the recorded cap)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    device = models.ForeignKey("reemploi.Device", on_delete=models.PROTECT, related_name="gradings")
    organisation = models.ForeignKey("reemploi.Organisation", on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(
        "reemploi.EquipmentCategory", on_delete=models.PROTECT, related_name="+", verbose_name=_("catégorie")
    )
    cosmetic_grade = models.CharField(_("grade esthétique"), max_length=1, choices=CosmeticGrade.choices)
    functional_grade = models.CharField(_("état fonctionnel"), max_length=10, choices=FunctionalGrade.choices)
    battery_health_pct = models.PositiveSmallIntegerField(
        _("santé de la batterie (%)"), null=True, blank=True
    )
    has_charger = models.BooleanField(_("chargeur"))
    has_storage = models.BooleanField(_("disque"))
    has_os = models.BooleanField(_("système d'exploitation"))
    battery_ok = models.BooleanField(_("batterie en état"))
    os_name = models.CharField(_("système installé"), max_length=100, blank=True)
    price = models.DecimalField(_("prix solidaire (€ TTC)"), max_digits=8, decimal_places=2)
    cap = models.ForeignKey(
        "reemploi.PriceCap",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("plafond appliqué"),
    )
    cap_amount = models.DecimalField(
        _("plafond en vigueur (€)"), max_digits=8, decimal_places=2, null=True, blank=True
    )
    notes = models.TextField(_("observations"), blank=True)
    graded_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    graded_at = models.DateTimeField(_("le"), default=timezone.now)

    class Meta:
        ordering = ["-graded_at", "-id"]
        verbose_name = _("classement")
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="grading_price_positive"),
            models.CheckConstraint(
                condition=Q(cap_amount__isnull=True) | Q(price__lte=models.F("cap_amount")),
                name="grading_price_within_cap",
                violation_error_message=_("Le prix dépasse le plafond du décret en vigueur."),
            ),
            models.CheckConstraint(
                condition=Q(cosmetic_grade__in=CosmeticGrade.values), name="grading_cosmetic_valid"
            ),
            models.CheckConstraint(
                condition=Q(functional_grade__in=FunctionalGrade.values), name="grading_functional_valid"
            ),
            models.CheckConstraint(
                condition=Q(battery_health_pct__isnull=True) | Q(battery_health_pct__lte=100),
                name="grading_battery_percent",
            ),
        ]

    def __str__(self):
        return f"{self.device_id}: {self.cosmetic_grade}, {self.price} €"

    @property
    def missing_accessories(self):
        return [
            self._meta.get_field(name).verbose_name
            for name in ("has_charger", "has_storage", "has_os", "battery_ok")
            if not getattr(self, name)
        ]


# --- DEEE lots -----------------------------------------------------------------------------------


class WasteLot(models.Model):
    """Devices handed over together to DEEE treatment, with what the waste register needs."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("référence"), max_length=30, unique=True)
    organisation = models.ForeignKey(
        "reemploi.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("atelier")
    )
    status = models.CharField(
        _("statut"), max_length=12, choices=WasteLotStatus.choices, default=WasteLotStatus.OPEN
    )
    waste_code = models.CharField(_("code déchet"), max_length=10, choices=WasteCode.choices)
    eco_organisme = models.CharField(
        _("éco-organisme"), max_length=10, choices=EcoOrganisme.choices, blank=True
    )
    destination_name = models.CharField(_("opérateur de traitement"), max_length=200)
    destination_siret = models.CharField(
        _("SIRET de l'opérateur"), max_length=14, validators=[validate_siret]
    )
    treatment_code = models.CharField(_("code de traitement"), max_length=4, choices=TreatmentCode.choices)
    bsdd_number = models.CharField(
        _("n° de BSDD"),
        max_length=40,
        blank=True,
        help_text=_("Bordereau Trackdéchets, obligatoire pour un déchet dangereux."),
    )
    measured_weight_kg = models.DecimalField(
        _("poids pesé (kg)"),
        max_digits=9,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("À la remise ; sinon le poids est estimé appareil par appareil."),
    )
    handover_date = models.DateField(_("date de remise"), null=True, blank=True)
    notes = models.TextField(_("observations"), blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    handed_over_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    handed_over_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lot DEEE")
        verbose_name_plural = _("lots DEEE")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=WasteLotStatus.values), name="waste_lot_status_valid"
            ),
            models.CheckConstraint(condition=Q(waste_code__in=WasteCode.values), name="waste_lot_code_valid"),
            models.CheckConstraint(
                condition=Q(treatment_code__in=TreatmentCode.values),
                name="waste_lot_treatment_valid",
                violation_error_message=_(
                    "Code de traitement inconnu (R0, le réemploi, n'est pas un traitement DEEE)."
                ),
            ),
            models.CheckConstraint(
                condition=~Q(status=WasteLotStatus.HANDED_OVER) | Q(handover_date__isnull=False),
                name="handed_over_lot_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status=WasteLotStatus.HANDED_OVER)
                | ~Q(waste_code__endswith="*")
                | ~Q(bsdd_number=""),
                name="hazardous_lot_has_bsdd",
                violation_error_message=_("Un déchet dangereux voyage avec un BSDD : indiquez son numéro."),
            ),
            models.CheckConstraint(
                condition=Q(measured_weight_kg__isnull=True) | Q(measured_weight_kg__gt=0),
                name="waste_lot_weight_positive",
            ),
        ]

    def __str__(self):
        return self.reference

    @property
    def is_open(self):
        return self.status == WasteLotStatus.OPEN


class WasteLotLine(models.Model):
    lot = models.ForeignKey(WasteLot, on_delete=models.PROTECT, related_name="lines")
    device = models.OneToOneField("reemploi.Device", on_delete=models.PROTECT, related_name="waste_lot_line")
    deee_category = models.CharField(
        _("catégorie DEEE"), max_length=2, choices=DeeeCategory.choices, blank=True
    )
    weight_kg = models.DecimalField(_("poids (kg)"), max_digits=7, decimal_places=2)
    added_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    added_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["added_at", "id"]
        verbose_name = _("appareil du lot")
        constraints = [
            models.CheckConstraint(condition=Q(weight_kg__gte=0), name="waste_line_weight_positive")
        ]

    def __str__(self):
        return f"{self.lot} – {self.device_id}"


# --- Shipments to relais -------------------------------------------------------------------------


class ShipmentQuerySet(models.QuerySet):
    def visible_to(self, user):
        from reemploi.permissions import is_coordinator, organisation_ids

        if is_coordinator(user):
            return self
        ids = organisation_ids(user)
        return self.filter(Q(refurbisher_id__in=ids) | Q(relais_id__in=ids))


class Shipment(models.Model):
    """A batch of ready devices sent from a workshop to a relais, with its delivery note; the relais
    confirms what arrived."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(_("référence"), max_length=30, unique=True)
    refurbisher = models.ForeignKey(
        "reemploi.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name=_("atelier")
    )
    relais = models.ForeignKey(
        "reemploi.Organisation",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("relais destinataire"),
    )
    relais_site = models.ForeignKey(
        "reemploi.Site",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("lieu de livraison"),
    )
    status = models.CharField(
        _("statut"), max_length=12, choices=ShipmentStatus.choices, default=ShipmentStatus.DRAFT
    )
    carrier = models.CharField(
        _("transport"), max_length=150, blank=True, help_text=_("Navette de l'atelier, transporteur…")
    )
    notes = models.TextField(_("observations"), blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    dispatched_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    dispatched_at = models.DateTimeField(_("expédiée le"), null=True, blank=True)
    received_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    received_at = models.DateTimeField(_("réceptionnée le"), null=True, blank=True)
    receipt_note = models.TextField(_("remarques à la réception"), blank=True)

    objects = ShipmentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("expédition")
        indexes = [models.Index(fields=["relais", "status"]), models.Index(fields=["refurbisher", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ShipmentStatus.values), name="shipment_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=ShipmentStatus.DRAFT) | Q(dispatched_at__isnull=False),
                name="dispatched_shipment_has_date",
            ),
        ]

    def __str__(self):
        return self.reference

    @property
    def is_draft(self):
        return self.status == ShipmentStatus.DRAFT

    @property
    def awaits_receipt(self):
        return self.status == ShipmentStatus.DISPATCHED


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="lines")
    device = models.ForeignKey("reemploi.Device", on_delete=models.PROTECT, related_name="shipment_lines")
    status = models.CharField(
        _("statut"), max_length=10, choices=ShipmentLineStatus.choices, default=ShipmentLineStatus.PENDING
    )
    added_at = models.DateTimeField(default=timezone.now, editable=False)
    received_at = models.DateTimeField(_("reçu le"), null=True, blank=True)
    received_by = models.ForeignKey(USER, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    note = models.CharField(_("remarque"), max_length=255, blank=True)

    class Meta:
        ordering = ["added_at", "id"]
        verbose_name = _("appareil expédié")
        constraints = [
            models.UniqueConstraint(fields=["shipment", "device"], name="device_once_per_shipment"),
            models.UniqueConstraint(
                fields=["device"],
                condition=Q(status=ShipmentLineStatus.PENDING),
                name="device_in_one_open_shipment",
                violation_error_message=_("Cet appareil fait déjà partie d'une expédition en cours."),
            ),
            models.CheckConstraint(
                condition=Q(status__in=ShipmentLineStatus.values), name="shipment_line_status_valid"
            ),
        ]

    def __str__(self):
        return f"{self.shipment} – {self.device_id}"
