from django.db import models
from django.utils.translation import gettext_lazy as _


class OrganisationKind(models.TextChoices):
    COORDINATOR = "coordinator", _("Coordination du réseau")
    COMPANY = "company", _("Entreprise")
    PUBLIC_BODY = "public_body", _("Organisme public")
    ASSOCIATION = "association", _("Association")
    REFURBISHER = "refurbisher", _("Reconditionneur solidaire")
    RELAIS = "relais", _("Relais numérique")
    PRESCRIBER = "prescriber", _("Structure prescriptrice")
    DEPARTEMENT = "departement", _("Département")

    @classmethod
    def donor_kinds(cls):
        return [cls.COMPANY, cls.PUBLIC_BODY, cls.ASSOCIATION]


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrateur")
    STAFF = "staff", _("Équipe")
    READ_ONLY = "read_only", _("Lecture seule")


class Provenance(models.TextChoices):
    """The kind of donor a device came from: the decree caps may depend on it."""

    PUBLIC = "public", _("Organisme public")
    COMPANY = "company", _("Entreprise")
    ASSOCIATION = "association", _("Association")
    CITIZEN = "citizen", _("Particulier")

    @classmethod
    def for_organisation_kind(cls, kind):
        return {
            OrganisationKind.PUBLIC_BODY: cls.PUBLIC,
            OrganisationKind.COMPANY: cls.COMPANY,
            OrganisationKind.ASSOCIATION: cls.ASSOCIATION,
        }.get(kind, cls.CITIZEN)


class DeeeCategory(models.TextChoices):
    """Code de l'environnement, art. R543-172."""

    SCREENS = "2", _("2° Écrans et équipements avec écran > 100 cm²")
    SMALL_IT = "6", _("6° Petits équipements informatiques et de télécommunication")
    NONE = "", _("Hors DEEE")


class DeviceState(models.TextChoices):
    EXPECTED = "expected", _("Annoncé")
    COLLECTED = "collected", _("Collecté")
    RECEIVED = "received", _("Réceptionné")
    AUDITED = "audited", _("Diagnostiqué")
    SANITISED = "sanitised", _("Données effacées")
    READY = "ready", _("Prêt")
    IN_TRANSIT = "in_transit", _("En route vers un relais")
    IN_STOCK = "in_stock", _("En stock au relais")
    SOLD = "sold", _("Vendu")
    LENT = "lent", _("Prêté")
    GIVEN = "given", _("Donné")
    RETURNED = "returned", _("Retourné sous garantie")
    PARTS = "parts", _("Démantelé pour pièces")
    DEEE = "deee", _("Envoyé en traitement DEEE")
    LOST = "lost", _("Perdu")


class DocumentStatus(models.TextChoices):
    PENDING = "pending", _("En cours de génération")
    ISSUED = "issued", _("Émis")
    FAILED = "failed", _("Échec de génération")
