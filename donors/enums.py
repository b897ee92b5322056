from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from reemploi.enums import OrganisationKind


class DonorKind(models.TextChoices):
    COMPANY = OrganisationKind.COMPANY.value, _("Entreprise")
    PUBLIC_BODY = (
        OrganisationKind.PUBLIC_BODY.value,
        _("Organisme public (collectivité, État, établissement)"),
    )
    ASSOCIATION = OrganisationKind.ASSOCIATION.value, _("Association")
    INDIVIDUAL = "individual", _("Particulier")

    @classmethod
    def organisation_kinds(cls):
        return [cls.COMPANY, cls.PUBLIC_BODY, cls.ASSOCIATION]


class Condition(models.TextChoices):
    WORKS = "works", _("Fonctionne")
    PARTLY = "partly", _("Fonctionne en partie")
    BROKEN = "broken", _("Hors service")


class Verdict(models.TextChoices):
    """What happens to a line: the acceptance rules propose it, the coordinator decides it."""

    ACCEPTED = "accepted", _("Accepté pour le réemploi")
    DEEE = "deee", _("Accepté pour le recyclage (DEEE)")
    REFUSED = "refused", _("Non collecté")

    @classmethod
    def collected(cls):
        return [cls.ACCEPTED, cls.DEEE]


class HandoverMode(models.TextChoices):
    PICKUP = "pickup", _("Enlèvement par le réseau")
    DROP_OFF = "drop_off", _("Dépôt dans un atelier du réseau")


class DonationStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Proposé")
    QUALIFIED = "qualified", _("Validé")
    REFUSED = "refused", _("Refusé")
    SCHEDULED = "scheduled", _("Collecte planifiée")
    COLLECTED = "collected", _("Collecté")
    RECEIVED = "received", _("Réceptionné")
    CLOSED = "closed", _("Clôturé")
    CANCELLED = "cancelled", _("Annulé")


class Channel(models.TextChoices):
    WEB = "web", _("Formulaire en ligne")
    API = "api", _("API")


class CollectionStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposé au donateur")
    CONFIRMED = "confirmed", _("Confirmé par le donateur")
    CHANGE_REQUESTED = "change_requested", _("Autre créneau demandé")
    DONE = "done", _("Effectué")


class MessageSide(models.TextChoices):
    DONOR = "donor", _("Donateur")
    NETWORK = "network", _("Réseau")


class AccessRequestStatus(models.TextChoices):
    PENDING = "pending", _("En attente")
    APPROVED = "approved", _("Acceptée")
    REFUSED = "refused", _("Refusée")


# Half-day availability windows on working days, as the donor ticks them.
WEEKDAYS = [
    ("mon", _("Lundi")),
    ("tue", _("Mardi")),
    ("wed", _("Mercredi")),
    ("thu", _("Jeudi")),
    ("fri", _("Vendredi")),
]
HALF_DAYS = [("am", _("matin")), ("pm", _("après-midi"))]
AVAILABILITY_CHOICES = [
    (f"{day}-{half}", format_lazy("{} {}", day_label, half_label))
    for day, day_label in WEEKDAYS
    for half, half_label in HALF_DAYS
]


class Outcome(models.TextChoices):
    """What became of a donated device, as documents tell the donor."""

    REUSED = "reused", _("Réemployé")
    RECYCLED = "recycled", _("Recyclé (traitement DEEE)")
    PARTS = "parts", _("Démantelé pour pièces")
    LOST = "lost", _("Perdu")
    IN_PROGRESS = "in_progress", _("En cours de traitement")


class TaxReceiptStatus(models.TextChoices):
    REQUESTED = "requested", _("Demandé")
    ISSUED = "issued", _("Émis")
    REFUSED = "refused", _("Refusé")
