from django.db import models
from django.utils.translation import gettext_lazy as _


class SaleKind(models.TextChoices):
    SALE = "sale", _("Vente")
    GIFT = "gift", _("Don gratuit")


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Espèces")
    CARD = "card", _("Carte bancaire")
    CHEQUE = "cheque", _("Chèque")
    TRANSFER = "transfer", _("Virement")
    SOLIDARITY = "solidarity", _("Aide financière d'un tiers (CCAS, association…)")
    FREE = "free", _("Gratuit")


class AfterReturn(models.TextChoices):
    """What happens to a device that comes back from a borrower: it may hold their data, so it goes to
    nobody else before an erasure recorded after its return (the kernel's custody rule)."""

    RESET = "reset", _("Réinitialisation d'usine vérifiée au relais (smartphone ou tablette chiffrés)")
    WORKSHOP = "workshop", _("Renvoi à un atelier, qui efface ou détruit chaque support")
    LATER = "later", _("Gardé au relais, bloqué jusqu'à son effacement")


class ReturnRemedy(models.TextChoices):
    """What the buyer gets under the legal guarantee of conformity (Code de la consommation)."""

    REPAIR = "repair", _("Réparation")
    REPLACEMENT = "replacement", _("Remplacement")
    REFUND = "refund", _("Remboursement")


# Schéma des lieux de médiation numérique v1.0.1 (schema.data.gouv.fr, LaMednum/standard-mediation-num).
MEDNUM_SERVICES = [
    "Aide aux démarches administratives",
    "Maîtrise des outils numériques du quotidien",
    "Insertion professionnelle via le numérique",
    "Utilisation sécurisée du numérique",
    "Parentalité et éducation avec le numérique",
    "Loisirs et créations numériques",
    "Compréhension du monde numérique",
    "Accès internet et matériel informatique",
    "Acquisition de matériel informatique à prix solidaire",
]
SERVICE_SOLIDARITY_EQUIPMENT = "Acquisition de matériel informatique à prix solidaire"
SERVICE_ACCESS = "Accès internet et matériel informatique"
MEDNUM_PROGRAMMES = [
    "Aidants Connect",
    "Bibliothèques numérique de référence",
    "Certification PIX",
    "Conseillers numériques",
    "Emmaüs Connect",
    "France Services",
    "Grande école du numérique",
    "La Croix Rouge",
    "Point d'accès numérique CAF",
    "Promeneurs du net",
    "Relais numérique (Emmaüs Connect)",
]
PROGRAMME_RELAIS_NUMERIQUE = "Relais numérique (Emmaüs Connect)"
