from django.db import models
from django.utils.translation import gettext_lazy as _


class TerritoryType(models.TextChoices):
    DEPARTEMENT = "departement", _("Département")
    RELAIS = "relais", _("Relais")
    COMMUNE = "commune", _("Commune")


class PeriodType(models.TextChoices):
    """Flows are counted per month, quarter, year and cumulated since the network's first record;
    states (places, distances) are measured on the day of the computation."""

    MONTH = "month", _("Mois")
    QUARTER = "quarter", _("Trimestre")
    YEAR = "year", _("Année")
    TOTAL = "total", _("Cumul")
    DAY = "day", _("À date")


class RunStatus(models.TextChoices):
    PENDING = "pending", _("En attente")
    RUNNING = "running", _("En cours")
    DONE = "done", _("Terminé")
    FAILED = "failed", _("Échec")
